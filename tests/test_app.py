"""Step 5: the command-line program and the web page (Flask test client and a real headless Chromium)."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import PROJECT_ROOT, tiny_number_reader
from helpers import app

GOOD = PROJECT_ROOT / "images" / "01_enamel_sign.png"


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory) -> Path:
    """A tiny end-to-end reader saved like the notebook saves the real one."""
    folder = tmp_path_factory.mktemp("models")
    tiny_number_reader().save(folder)
    return folder


@pytest.fixture(scope="module")
def client(saved_models):
    from helpers import reader

    return app.create_app(reader.NumberReader.load(saved_models), max_upload=2 * 2**20).test_client()


def _bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.txt"
    text.write_text("this is not a photo")
    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(png, "PNG")
    truncated = folder / "truncated.png"
    truncated.write_bytes(png.getvalue()[:len(png.getvalue()) // 2])
    return {"text": text, "truncated": truncated, "missing": folder / "missing.jpg"}


def test_cli_reads_good_files_and_reports_bad_ones_without_stopping(tmp_path: Path, saved_models) -> None:
    bad = _bad_files(tmp_path / "in")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "helpers.app", str(bad["text"]), str(GOOD), str(bad["truncated"]),
               str(bad["missing"]), str(PROJECT_ROOT / "images" / "04_brass_door.jpg"),
               "--out", str(out), "--models", str(saved_models)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{GOOD}: ") and "box top=" in lines[0]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3
    assert any("notes.txt" in e and "not an image" in e for e in errors)
    assert any("truncated.png" in e and "truncated" in e for e in errors)
    assert any("missing.jpg" in e and "does not exist" in e for e in errors)
    written = sorted(p.name for p in out.iterdir())
    assert written == ["01_enamel_sign_read.png", "04_brass_door_read.png"]
    with Image.open(out / "04_brass_door_read.png") as annotated:
        assert annotated.size == (900, 1200)        # drawn on the upright photo (EXIF rotation applied)


def test_cli_json_and_missing_models(tmp_path: Path, saved_models, capsys) -> None:
    assert app.run_cli([str(GOOD), "--json", "--no-out", "--models", str(saved_models)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 1 and records[0]["file"] == str(GOOD) and len(records[0]["number"]) == 2
    assert records[0]["status"] in ("read", "unsure") and len(records[0]["box"]) == 4
    assert app.run_cli([str(GOOD), "--models", str(tmp_path)]) == 2
    assert "scripts/report.sh" in capsys.readouterr().err


def test_web_page_reads_an_upload_and_answers_bad_uploads_clearly(client) -> None:
    assert b"House number reader" in client.get("/").data
    answer = client.post("/read", data={"photo": (GOOD.open("rb"), GOOD.name)}).get_json()
    assert len(answer["number"]) == 2 and answer["annotated"].startswith("data:image/jpeg;base64,")
    cases = {"text": (io.BytesIO(b"hello"), "notes.txt"), "truncated": (io.BytesIO(GOOD.read_bytes()[:300]), "cut.png")}
    for name, upload in cases.items():
        response = client.post("/read", data={"photo": upload})
        assert response.status_code == 400 and "could not be read" in response.get_json()["error"], name
    huge = client.post("/read", data={"photo": (io.BytesIO(b"0" * (3 * 2**20)), "big.png")})
    assert huge.status_code == 413 and "larger than 2 MB" in huge.get_json()["error"]
    assert client.post("/read", data={}).status_code == 400
    again = client.post("/read", data={"photo": (GOOD.open("rb"), GOOD.name)})     # still serving
    assert again.status_code == 200 and again.get_json()["number"] == answer["number"]


def test_annotate_draws_the_box_and_a_label() -> None:
    from helpers import reader

    photo = np.full((200, 300, 3), 128, np.uint8)
    reading = reader.Reading("42", (0.9, 0.8), 0.72, 0.99, (50.0, 60.0, 150.0, 240.0), (200, 300), True)
    drawn = np.asarray(app.annotate(photo, reading))
    assert (drawn[100, 60] != 128).any() and (drawn[100, 150] == 128).all()   # box edge drawn, inside untouched
    empty = reader.Reading("", (), 0.0, 0.1, None, (200, 300), False)
    assert (np.asarray(app.annotate(photo, empty))[:40, :120] != 128).any()    # "no number" label


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="Debian's chromium + chromium-driver are not installed (scripts/test.sh installs them)")
def test_web_page_in_a_real_headless_browser(tmp_path: Path, saved_models) -> None:
    from helpers import reader

    number_reader = reader.NumberReader.load(saved_models)
    expected = number_reader.read(str(GOOD))[0].number
    bad = _bad_files(tmp_path / "bad")
    with app.BackgroundServer(number_reader) as server:
        browser = app.chromium()
        try:
            shown = app.upload_in_browser(browser, server.url, GOOD)
            assert shown["state"] == "done" and shown["number"] == expected and shown["message"] == ""
            browser.save_screenshot(str(tmp_path / "page.png"))
            shown = app.upload_in_browser(browser, server.url, bad["text"])
            assert shown["state"] == "error" and "could not be read" in shown["message"]
            shown = app.upload_in_browser(browser, server.url, GOOD)          # the server kept serving
            assert shown["state"] == "done" and shown["number"] == expected
        finally:
            browser.quit()
    with Image.open(tmp_path / "page.png") as screenshot:
        assert screenshot.size[0] >= 800


def test_a_screenshot_is_cropped_to_the_page_content(tmp_path) -> None:
    class Browser:
        def save_screenshot(self, path: str) -> None:
            page = Image.new("RGB", (400, 300), "white")
            page.paste(Image.new("RGB", (100, 50), "black"), (150, 20))
            page.save(path)

    shot = app.save_screenshot(Browser(), tmp_path / "page.png", pad=10)
    with Image.open(shot) as image:
        assert image.size == (120, 70)

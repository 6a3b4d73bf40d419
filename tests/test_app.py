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
from helpers.app import annotation, cli as app, browser as app_browser, server as app_server

GOOD = PROJECT_ROOT / "images" / "01_enamel_sign.png"


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory) -> Path:
    """A tiny end-to-end reader saved like the notebook saves the real one."""
    folder = tmp_path_factory.mktemp("models")
    tiny_number_reader().save(folder)
    return folder


@pytest.fixture(scope="module")
def client(saved_models):
    from helpers.app import reader

    return app_server.create_app(reader.NumberReader.load(saved_models), max_upload=2 * 2**20).test_client()


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
    command = [sys.executable, "-m", "helpers.app.cli", str(bad["text"]), str(GOOD), str(bad["truncated"]),
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
    messages = {}
    for name, upload in cases.items():
        response = client.post("/read", data={"photo": upload})
        assert response.status_code == 400, name
        messages[name] = response.get_json()["error"]
    # One plain sentence naming the file, never Python's internals (<_io.BytesIO object at 0x...>).
    assert messages["text"] == "notes.txt is not an image that can be read (PNG, JPEG, ...)."
    assert messages["truncated"] == "cut.png could not be decoded: the file may be truncated or corrupt."
    huge = client.post("/read", data={"photo": (io.BytesIO(b"0" * (3 * 2**20)), "big.png")})
    assert huge.status_code == 413 and "larger than 2 MB" in huge.get_json()["error"]
    assert client.post("/read", data={}).status_code == 400
    again = client.post("/read", data={"photo": (GOOD.open("rb"), GOOD.name)})     # still serving
    assert again.status_code == 200 and again.get_json()["number"] == answer["number"]


def test_annotate_draws_the_box_and_a_label() -> None:
    from helpers.app import reader

    photo = np.full((400, 640, 3), 128, np.uint8)
    reading = reader.Reading("42", (0.9, 0.8), 0.72, 0.99, (100.0, 120.0, 300.0, 480.0), (400, 640), True)
    drawn = np.asarray(annotation.annotate(photo, reading))
    assert drawn.shape == photo.shape                                          # large enough: not enlarged
    assert (drawn[200, 120] != 128).any() and (drawn[200, 300] == 128).all()   # box edge drawn, inside untouched
    empty = reader.Reading("", (), 0.0, 0.1, None, (400, 640), False)
    assert (np.asarray(annotation.annotate(photo, empty))[:40, :120] != 128).any()    # "no number" label
    # The box is given in the photo's own pixels; a shrunk copy of the photo gets it scaled down.
    shrunk = np.asarray(annotation.annotate(np.full((200, 320, 3), 128, np.uint8), reading))
    assert shrunk.shape[:2] == (400, 640) and (shrunk[200, 120] != 128).any()


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="Debian's chromium + chromium-driver are not installed (scripts/test.sh installs them)")
def test_web_page_in_a_real_headless_browser(tmp_path: Path, saved_models) -> None:
    from helpers.app import reader

    number_reader = reader.NumberReader.load(saved_models)
    expected = number_reader.read(str(GOOD))[0].number
    bad = _bad_files(tmp_path / "bad")
    with app_server.BackgroundServer(number_reader) as server:
        browser = app_browser.chromium()
        try:
            shown = app_browser.upload_in_browser(browser, server.url, GOOD)
            assert shown["state"] == "done" and shown["number"] == expected and shown["message"] == ""
            page_height = browser.execute_script("return document.documentElement.scrollHeight")
            app_browser.save_screenshot(browser, tmp_path / "page.png", pad=0)
            with Image.open(tmp_path / "page.png") as shot:   # the whole page, not the first 900 px of it
                bottom = browser.execute_script("return document.getElementById('result').getBoundingClientRect().bottom")
                assert shot.size[1] >= min(bottom, page_height) - 40
            shown = app_browser.upload_in_browser(browser, server.url, bad["text"])
            assert shown["state"] == "error" and shown["message"] == "notes.txt is not an image that can be read (PNG, JPEG, ...)."
            shown = app_browser.upload_in_browser(browser, server.url, GOOD)          # the server kept serving
            assert shown["state"] == "done" and shown["number"] == expected
        finally:
            browser.quit()
    with Image.open(tmp_path / "page.png") as screenshot:
        assert screenshot.size[0] >= 500


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="Debian's chromium + chromium-driver are not installed (scripts/test.sh installs them)")
def test_the_web_page_reads_a_picture_from_its_webcam(tmp_path: Path, saved_models) -> None:
    from helpers.app import reader

    video = app_browser.camera_video(GOOD, tmp_path / "camera.y4m", width=320, frames=3)
    header = video.read_bytes()[:60].split(b"\n")[0].decode()
    assert header.startswith("YUV4MPEG2 W320 H") and header.endswith("C420jpeg")
    height = int(header.split(" H")[1].split()[0])
    assert len(video.read_bytes()) == len(header) + 1 + 3 * (6 + 320 * height * 3 // 2)
    number_reader = reader.NumberReader.load(saved_models)
    shown = app_browser.page_screenshot(number_reader, GOOD, tmp_path / "webcam.png", webcam=True)
    assert shown["state"] == "done" and shown["message"] == "" and shown["status"]
    # The picture is the photo, not a blank frame: read directly, the video's frame gives the same answer.
    frame = app_browser.camera_video(GOOD, tmp_path / "again.y4m", width=640, frames=1).read_bytes()
    header, planes = frame.split(b"\nFRAME\n", 1)
    width, height = (int(part[1:]) for part in header.split()[1:3])
    luma = np.frombuffer(planes[:width * height], np.uint8).reshape(height, width)
    assert luma.std() > 10                       # a picture with detail, not a flat frame
    assert shown["number"] == (number_reader.read(str(GOOD))[0].number or "no number")
    with Image.open(tmp_path / "webcam.png") as screenshot:
        assert screenshot.size[0] >= 500


def test_a_screenshot_is_cropped_to_the_page_content(tmp_path) -> None:
    class Browser:
        def save_screenshot(self, path: str) -> None:
            page = Image.new("RGB", (400, 300), "white")
            page.paste(Image.new("RGB", (100, 50), "black"), (150, 20))
            page.save(path)

    shot = app_browser.save_screenshot(Browser(), tmp_path / "page.png", pad=10)
    with Image.open(shot) as image:
        assert image.size == (120, 70)


def test_annotated_copies_never_overwrite_each_other(tmp_path: Path, saved_models, capsys) -> None:
    sample = PROJECT_ROOT.parent / "shared" / "data" / "svhn-sample"
    photos = tmp_path / "in"
    for folder in ("train", "test", "extra"):
        (photos / folder).mkdir(parents=True)
        Image.new("RGB", (60, 40), (90, 90, 90)).save(photos / folder / "1.png")
    Image.new("RGB", (60, 40), (90, 90, 90)).save(photos / "photo.png")
    Image.new("RGB", (60, 40), (90, 90, 90)).save(photos / "photo.jpg")
    files = [str(photos / f"{folder}/1.png") for folder in ("train", "test", "extra")] + \
        [str(photos / "photo.png"), str(photos / "photo.jpg"), str(photos / "photo.jpg")]
    assert app.run_cli([*files, "--out", str(tmp_path / "out"), "--models", str(saved_models)]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(written) == len(files), written            # one copy per photo asked for, none overwritten
    assert {"train_1_read.png", "test_1_read.png", "extra_1_read.png", "photo_png_read.png"} <= set(written)
    assert "sample" in str(sample)    # names only: the photos themselves are made here
    assert app.annotated_names(["a/1.png", "b/2.png"]) == ["1_read.png", "2_read.png"]   # short when they differ


def test_boxes_are_in_the_photos_own_pixels_above_2048(tmp_path: Path, saved_models) -> None:
    from helpers.app import reader

    number_reader = reader.NumberReader.load(saved_models)      # a fixed box: the middle half of the letterbox
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (1512, 2016, 3), dtype=np.uint8)
    large = np.asarray(Image.fromarray(small).resize((4032, 3024), Image.NEAREST))      # a phone photo's size
    (small_reading,), (large_reading,) = number_reader.read(small), number_reader.read(large)
    assert large_reading.image_size == (3024, 4032)
    np.testing.assert_allclose(large_reading.box, np.multiply(small_reading.box, 2), atol=4)
    Image.fromarray(large).save(tmp_path / "phone.jpg", quality=80)
    assert app.run_cli([str(tmp_path / "phone.jpg"), "--out", str(tmp_path / "out"), "--models", str(saved_models)]) == 0
    with Image.open(tmp_path / "out" / "phone_read.png") as annotated:
        assert annotated.size == (4032, 3024)                # drawn on the photo at its own size


def test_bad_paths_are_answered_before_tensorflow_starts(tmp_path: Path, saved_models) -> None:
    script = ("import sys; from helpers.app import cli; "
              f"code = cli.run_cli([{str(tmp_path / 'missing.png')!r}, {str(GOOD.parent)!r}, '--models', "
              f"{str(saved_models)!r}]); print(code, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["1", "False"], done.stderr
    errors = done.stderr.strip().splitlines()
    assert errors == [f"error: {tmp_path / 'missing.png'} does not exist.",
                      f"error: {GOOD.parent} is a folder, not an image file."]   # the path said once
    no_models = script.replace(repr(str(saved_models)), repr(str(tmp_path)))
    done = subprocess.run([sys.executable, "-c", no_models], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "False"] and "not found in" in done.stderr


def test_cli_writes_nothing_unless_asked(tmp_path: Path, saved_models, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert app.run_cli([str(GOOD), "--models", str(saved_models)]) == 0
    assert list(tmp_path.iterdir()) == [] and "->" not in capsys.readouterr().out


def test_the_label_fits_a_small_photo_and_the_copy_is_enlarged() -> None:
    from helpers.app import reader

    photo = np.full((48, 182, 3), 128, np.uint8)            # an SVHN-sized photo
    reading = reader.Reading("210", (0.99, 0.98, 0.99), 0.97, 0.99, (8.0, 40.0, 40.0, 140.0), (48, 182), False)
    drawn = np.asarray(annotation.annotate(photo, reading))
    assert drawn.shape[1] >= annotation.MIN_SHOWN_SIDES[0] and drawn.shape[0] >= annotation.MIN_SHOWN_SIDES[1]
    label = np.argwhere((drawn == 0).all(-1))               # the label's black backing
    assert label.size and label[:, 1].max() < drawn.shape[1] - 1 and label[:, 0].max() < drawn.shape[0] - 1
    assert label[:, 1].min() > 0 and label[:, 0].min() >= 0

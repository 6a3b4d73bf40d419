"""Step 5: read the number in photos and draw its box, from the command line or a local web page.

    python -m helpers.app photo.jpg door.png --out annotated/ [--json]   # prints, writes annotated copies
    python -m helpers.app --serve [--port 8000]                          # web page on http://127.0.0.1:8000

Both use the released models in models/ (`reader.NumberReader.load`; `--models DIR` or $DIGITS_MODELS_DIR
for others, `--runtime tflite-float32` for the TensorFlow Lite exports). A bad file never
stops a batch: it gets a clear message on stderr and the exit status says something failed.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MAX_UPLOAD_BYTES = 20 * 2**20      # a phone photo is 2-10 MB; larger uploads are refused with a message
STATUS_COLOURS = {"read": (40, 220, 60), "unsure": (255, 190, 0), "no number": (255, 60, 60)}


def annotate(photo: np.ndarray, reading) -> Image.Image:
    """The photo with the number's box and a label ("316 (0.97)", "unsure", "no number") drawn on it."""
    image = Image.fromarray(photo).convert("RGB")
    draw = ImageDraw.Draw(image)
    side = max(image.size)
    line = max(2, side // 250)
    font = ImageFont.load_default(size=max(14, side // 25))
    colour = STATUS_COLOURS[reading.status]
    label = "no number" if not reading.number else f"{reading.number} ({reading.confidence:.2f})"
    if reading.status == "unsure":
        label += " unsure"
    if reading.box is not None:
        top, left, bottom, right = reading.box
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        anchor = (left, max(0, top - font.size - 2 * line)) if top > font.size + 2 * line else (left, bottom + line)
    else:
        anchor = (line, line)
    text_box = draw.textbbox(anchor, label, font=font)
    draw.rectangle((text_box[0] - line, text_box[1] - line, text_box[2] + line, text_box[3] + line), fill=(0, 0, 0))
    draw.text(anchor, label, font=font, fill=colour)
    return image


def describe(name: str, reading) -> str:
    """One line for the terminal."""
    if not reading.number:
        return f"{name}: no number found"
    top, left, bottom, right = (round(v) for v in reading.box)
    digits = " ".join(f"{c:.2f}" for c in reading.digit_confidences)
    return (f"{name}: {reading.number} (confidence {reading.confidence:.2f}, digits {digits}, {reading.status}) "
            f"box top={top} left={left} bottom={bottom} right={right}")


def read_files(number_reader, files: list[str], out: Path | None) -> tuple[list[tuple[dict, str]], list[str]]:
    """Read each file on its own (a bad one cannot spoil the others): ((record, line) pairs, error messages)."""
    from helpers import images

    found, errors = [], []
    for name in files:
        try:
            photo = images.load_image(name)
        except (FileNotFoundError, ValueError) as error:
            errors.append(f"{name}: {error}")
            continue
        reading = number_reader.read(photo)[0]
        record = {"file": name, **reading.to_dict()}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            target = out / f"{Path(name).stem}_read.png"
            annotate(photo, reading).save(target)
            record["annotated"] = str(target)
        found.append((record, describe(name, reading) + (f" -> {record['annotated']}" if out is not None else "")))
    return found, errors


def run_cli(argv: list[str] | None = None) -> int:
    """The command-line program; returns the exit status (0 all read, 1 some files failed, 2 no models)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.app", description="Read the house number in photos.")
    parser.add_argument("photos", nargs="*", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--out", type=Path, default=Path("annotated"), help="folder for annotated copies")
    parser.add_argument("--no-out", action="store_true", help="do not write annotated copies")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of text lines")
    parser.add_argument("--models", type=Path, default=None,
                        help="folder with the saved models (default: models/, or $DIGITS_MODELS_DIR)")
    parser.add_argument("--runtime", default="keras", help="keras (default), tflite-float32, tflite-float16 or tflite-int8")
    parser.add_argument("--serve", action="store_true", help="start the web page instead")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not args.photos and not args.serve:
        parser.error("give at least one photo, or --serve for the web page")
    import helpers

    helpers.import_tensorflow_quietly()
    from helpers import reader

    try:
        number_reader = reader.NumberReader.load(args.models, runtime=args.runtime)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.serve:
        serve(number_reader, args.host, args.port)
        return 0
    found, errors = read_files(number_reader, args.photos, None if args.no_out else args.out)
    if args.json:
        print(json.dumps([record for record, _ in found], indent=1))
    else:
        for _, line in found:
            print(line)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    return 1 if errors else 0


def create_app(number_reader, max_upload: int = MAX_UPLOAD_BYTES):
    """The web page: GET / shows it, POST /read takes a photo and answers JSON (errors included)."""
    from flask import Flask, jsonify, request
    from werkzeug.exceptions import RequestEntityTooLarge

    from helpers import images

    app = Flask("number_reader")
    app.config["MAX_CONTENT_LENGTH"] = max_upload
    lock = threading.Lock()            # one model call at a time: the CPU has no spare cores anyway

    @app.get("/")
    def page():
        return PAGE.replace("{max_mb}", f"{max_upload / 2**20:.0f}")

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.post("/read")
    def read():
        upload = request.files.get("photo")
        if upload is None or not upload.filename:
            return jsonify(error="No photo received: choose an image file (PNG, JPEG, ...)."), 400
        try:
            photo = images.load_image(upload.read())
        except ValueError as error:
            return jsonify(error=f"{upload.filename} could not be read as an image: {error}"), 400
        with lock:
            reading = number_reader.read(photo)[0]
        shown = annotate(photo, reading)
        shown.thumbnail((1024, 1024))
        buffer = io.BytesIO()
        shown.save(buffer, "JPEG", quality=90)
        return jsonify(file=upload.filename, **reading.to_dict(),
                       annotated="data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode())

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        return jsonify(error=f"The file is larger than {max_upload / 2**20:.0f} MB; please send a smaller photo."), 413

    return app


def serve(number_reader, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the page until Ctrl+C (threaded: a slow upload does not block the page)."""
    from werkzeug.serving import make_server

    server = make_server(host, port, create_app(number_reader), threaded=True)
    print(f"number reader on http://{host}:{server.server_port}  (Ctrl+C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


class BackgroundServer:
    """The web page served from a thread on a free port (for tests and the notebook's screenshot)."""

    def __init__(self, number_reader, host: str = "127.0.0.1", port: int = 0) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args) -> None:   # no request log lines in test or notebook output
                pass

        self.server = make_server(host, port, create_app(number_reader), threaded=True, request_handler=Quiet)
        self.url = f"http://{host}:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "BackgroundServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def chromium(width: int = 1100, height: int = 900):
    """A headless Chromium driven by Selenium (Debian's chromium + chromium-driver, no downloads)."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise FileNotFoundError("Chromium and its driver are needed (Debian: apt-get install chromium chromium-driver).")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def save_screenshot(browser, path: Path, pad: int = 12) -> Path:
    """Save what the browser shows as a PNG, cropped to the page's content (its white margins dropped)."""
    from PIL import ImageChops

    path = Path(path)
    browser.save_screenshot(str(path))
    with Image.open(path) as shot:
        page = shot.convert("RGB")
    content = ImageChops.difference(page, Image.new("RGB", page.size, (255, 255, 255))).getbbox()
    if content:
        left, top, right, bottom = content
        page = page.crop((max(left - pad, 0), max(top - pad, 0), min(right + pad, page.width),
                          min(bottom + pad, page.height)))
    page.save(path)
    return path


def upload_in_browser(browser, url: str, photo: Path, timeout: float = 30.0) -> dict[str, str]:
    """Open the page, choose `photo` in its file field, wait for the answer; returns what the page shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    browser.find_element(By.ID, "photo").send_keys(str(Path(photo).resolve()))
    text = lambda name: browser.find_element(By.ID, name).get_attribute("textContent")   # hidden ones too
    WebDriverWait(browser, timeout).until(lambda _: text("state") in ("done", "error"))
    return {name: text(name) for name in ("state", "number", "status", "message")}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>House number reader</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 980px; margin: 1.5em auto; color: #222; }
 #drop { border: 2px dashed #888; border-radius: 10px; padding: 1.2em; text-align: center; background: #fafafa; }
 #drop.over { background: #e8f4ff; }
 #result { max-width: 100%; max-height: 560px; margin-top: 1em; display: none; }
 #number { font-size: 2.4em; font-weight: bold; }
 #message { color: #b00020; font-weight: bold; }
 table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 8px; }
 #state { display: none; }
</style></head>
<body>
<h1>House number reader</h1>
<p>Choose or drop a photo (PNG, JPEG, ... up to {max_mb} MB). The localizer finds the number, the
reader reads it; the box and the number are drawn on the photo.</p>
<div id="drop"><input type="file" id="photo" accept="image/*"><br>or drop a photo here
 &middot; <button id="camera" type="button">use the webcam</button> <button id="snap" type="button" disabled>take the picture</button></div>
<video id="video" width="320" autoplay playsinline style="display:none"></video>
<p><span id="number"></span> <span id="status"></span></p>
<p id="message"></p><p id="state"></p>
<table id="digits"></table>
<img id="result" alt="the photo with the number's box">
<script>
const $ = (id) => document.getElementById(id);
async function send(file, name) {
  $("state").textContent = "busy"; $("message").textContent = ""; $("number").textContent = "reading...";
  $("status").textContent = ""; $("digits").innerHTML = "";
  const form = new FormData(); form.append("photo", file, name || file.name || "photo.png");
  try {
    const response = await fetch("/read", { method: "POST", body: form });
    const answer = await response.json();
    if (!response.ok || answer.error) { throw new Error(answer.error || response.statusText); }
    $("number").textContent = answer.number || "no number";
    $("status").textContent = answer.status + (answer.number ? " (confidence " + answer.confidence.toFixed(2) + ")" : "");
    $("digits").innerHTML = answer.digit_confidences.length ? "<tr><th>digit</th>" + [...answer.number].map(d => "<td>" + d + "</td>").join("") +
      "</tr><tr><th>confidence</th>" + answer.digit_confidences.map(c => "<td>" + c.toFixed(2) + "</td>").join("") + "</tr>" : "";
    $("result").src = answer.annotated; $("result").style.display = "block";
    $("state").textContent = "done";
  } catch (error) {
    $("number").textContent = ""; $("result").style.display = "none";
    $("message").textContent = error.message.startsWith("Unexpected") ? "The server could not answer; try another photo." : error.message;
    $("state").textContent = "error";
  }
}
$("photo").addEventListener("change", () => { if ($("photo").files.length) send($("photo").files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files.length) send(e.dataTransfer.files[0]); });
$("camera").addEventListener("click", async () => {
  try { $("video").srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
        $("video").style.display = "block"; $("snap").disabled = false; }
  catch (error) { $("message").textContent = "No webcam available: " + error.message; }
});
$("snap").addEventListener("click", () => {
  const video = $("video"), canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => send(blob, "webcam.png"), "image/png");
});
</script></body></html>
"""


if __name__ == "__main__":
    sys.exit(run_cli())

"""Step 5: read the number in photos and draw its box, from the command line or a local web page.

    python -m helpers.app photo.jpg door.png [--out annotated/] [--json]   # prints; --out writes annotated copies
    python -m helpers.app --serve [--port 8000]                            # web page on http://127.0.0.1:8000

Both use the released models in models/ (`reader.NumberReader.load`; `--models DIR` or $DIGITS_MODELS_DIR
for others, `--runtime tflite-float32` for the TensorFlow Lite exports). A bad file never
stops a batch: it gets a clear message on stderr and the exit status says something failed.
Paths and models are checked before TensorFlow starts (seconds), so a typo is answered at once.
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
PAGE_FILE = Path(__file__).with_name("app_page.html")
MIN_SHOWN_SIDES = (640, 160)       # annotated copies are enlarged to at least this long and short side


def label_text(reading) -> str:
    """What the annotated photo says: "316 (0.97)", "316 (0.41) unsure" or "no number"."""
    if not reading.number:
        return "no number"
    return f"{reading.number} ({reading.confidence:.2f})" + (" unsure" if reading.status == "unsure" else "")


def annotate(photo: np.ndarray, reading) -> Image.Image:
    """The photo with the number's box and a label drawn on it, the label always inside the picture.

    `reading.box` is in the pixels of the photo itself (`reading.image_size`); `photo` may be that
    photo or a shrunk copy of it. Small photos are enlarged first, so that the label can be read.
    """
    image = Image.fromarray(photo).convert("RGB")
    height, width = reading.image_size
    to_image = (image.height / height, image.width / width)       # photo pixels -> pixels of `photo`
    zoom = max(1.0, MIN_SHOWN_SIDES[0] / max(image.size), MIN_SHOWN_SIDES[1] / min(image.size))
    zoom = min(zoom, 4096 / max(image.size))                      # a long thin strip stays a sane size
    if zoom > 1:
        image = image.resize((round(image.width * zoom), round(image.height * zoom)), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    line = max(2, max(image.size) // 250)
    colour = STATUS_COLOURS[reading.status]
    label = label_text(reading)
    size = max(14, max(image.size) // 25)
    font = ImageFont.load_default(size=size)
    while size > 8 and draw.textlength(label, font=font) + 4 * line > image.width:   # shrink until it fits
        size -= 1
        font = ImageFont.load_default(size=size)
    text_height = size + 2 * line
    if reading.box is not None:
        top, left, bottom, right = (value * to_image[k % 2] * zoom for k, value in enumerate(reading.box))
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        # Above the box if there is room, else below it, else inside its top edge.
        y = top - text_height if top >= text_height else bottom + line if bottom + text_height <= image.height \
            else max(line, top + line)
        x = min(max(line, left), max(line, image.width - draw.textlength(label, font=font) - 2 * line))
    else:
        x, y = line, line
    text_box = draw.textbbox((x, y), label, font=font)
    draw.rectangle((text_box[0] - line, text_box[1] - line, text_box[2] + line, text_box[3] + line), fill=(0, 0, 0))
    draw.text((x, y), label, font=font, fill=colour)
    return image


def describe(name: str, reading) -> str:
    """One line for the terminal."""
    if not reading.number:
        return f"{name}: no number found"
    top, left, bottom, right = (round(v) for v in reading.box)
    digits = " ".join(f"{c:.2f}" for c in reading.digit_confidences)
    return (f"{name}: {reading.number} (confidence {reading.confidence:.2f}, digits {digits}, {reading.status}) "
            f"box top={top} left={left} bottom={bottom} right={right}")


def annotated_names(files: list[str]) -> list[str]:
    """A distinct file name for each photo's annotated copy: `<name>_read.png`, with as much of the photo's
    folder and suffix as it takes to tell photos apart (train/1.png and test/1.png, photo.png and photo.jpg)."""

    def candidates(name: str) -> list[str]:
        """Ever longer names: 1, train_1, 1_png, train_1_png, svhn_train_1_png, ..."""
        path = Path(name)
        folders = [part for part in path.parent.parts if part not in ("/", ".", "..")]
        suffix = path.suffix.lstrip(".").lower()
        names = [path.stem, "_".join([*folders[-1:], path.stem])]
        for depth in range(len(folders) + 1):
            names.append("_".join([*folders[len(folders) - depth:], path.stem, *([suffix] if suffix else [])]))
        return names

    distinct = [candidates(name) for name in dict.fromkeys(files)]     # a file given twice counts once here
    chosen: list[str] = []
    for own in (candidates(name) for name in files):
        for level, candidate in enumerate(own):
            # Unique at this level across the batch, so that no other photo can come to the same name.
            if sum(other[min(level, len(other) - 1)] == candidate for other in distinct) == 1:
                break
        name, counter = candidate, 2
        while name in chosen:            # the same file given twice: numbered copies
            name, counter = f"{candidate}_{counter}", counter + 1
        chosen.append(name)
    return [f"{name}_read.png" for name in chosen]


def read_files(number_reader, files: list[str], out: Path | None) -> tuple[list[tuple[dict, str]], list[str]]:
    """Read each file on its own (a bad one cannot spoil the others): ((record, line) pairs, error messages)."""
    from helpers import images

    found, errors = [], []
    targets = annotated_names(files) if out is not None else [None] * len(files)
    for name, target_name in zip(files, targets):
        try:
            photo = images.open_photo(name)
        except (FileNotFoundError, ValueError) as error:
            errors.append(str(error))        # the message names the file already
            continue
        reading = number_reader.read(photo)[0]
        record = {"file": name, **reading.to_dict()}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            target = out / target_name
            # Drawn on the photo at its own size, as the box is given (it was read shrunk if over 2048 px).
            full = photo.pixels if photo.pixels.shape[:2] == photo.size else \
                images.load_image(name, max_side=max(photo.size))
            annotate(full, reading).save(target)
            record["annotated"] = str(target)
        found.append((record, describe(name, reading) + (f" -> {record['annotated']}" if out is not None else "")))
    return found, errors


def run_cli(argv: list[str] | None = None) -> int:
    """The command-line program; returns the exit status (0 all read, 1 some files failed, 2 no models)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.app", description="Read the house number in photos.")
    parser.add_argument("photos", nargs="*", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write an annotated copy of each photo into this folder (default: none written)")
    parser.add_argument("--no-out", action="store_true", help=argparse.SUPPRESS)   # the default now; kept for old calls
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
    from helpers import images, model_files, paths

    # Everything that needs no model is checked before TensorFlow's start-up of several seconds.
    try:
        model_files.check_models(args.models or paths.models_dir(), args.runtime)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    photos, errors = [], []
    for name in args.photos:
        try:
            images.check_image(name)
            photos.append(name)
        except (FileNotFoundError, ValueError) as error:
            errors.append(str(error))
    found = []
    if photos or args.serve:
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
        found, late_errors = read_files(number_reader, photos, None if args.no_out else args.out)
        errors += late_errors
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

    template = PAGE_FILE.read_text()

    @app.get("/")
    def page():
        return template.replace("{max_mb}", f"{max_upload / 2**20:.0f}")

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.post("/read")
    def read():
        upload = request.files.get("photo")
        if upload is None or not upload.filename:
            return jsonify(error="No photo received: choose an image file (PNG, JPEG, ...)."), 400
        try:
            photo = images.open_photo(upload.read(), name=Path(upload.filename).name)
        except ValueError as error:          # one plain sentence that names the file
            return jsonify(error=str(error)), 400
        with lock:
            reading = number_reader.read(photo)[0]
        shown = annotate(photo.pixels, reading)
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
    """Save the whole page as a PNG (the window grown to its height), cropped to its content (white margins dropped)."""
    from PIL import ImageChops

    path = Path(path)
    # A headless window shows only its own height: grow it to the whole page first, or the shot is cut.
    if hasattr(browser, "execute_script"):
        page, view = browser.execute_script(
            "return [Math.ceil(document.documentElement.scrollHeight), window.innerHeight]")
        if page > view:       # the window is taller than its viewport by its frame: grow it by the difference
            size = browser.get_window_size()
            browser.set_window_size(size["width"], size["height"] + page - view + 16)
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




if __name__ == "__main__":
    sys.exit(run_cli())

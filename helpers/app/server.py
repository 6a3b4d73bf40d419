"""Step 5's web page: a Flask app that reads an uploaded photo, served from the command line or a thread."""
from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

from helpers.app.annotation import annotate

MAX_UPLOAD_BYTES = 20 * 2**20      # a phone photo is 2-10 MB; larger uploads are refused with a message
PAGE_FILE = Path(__file__).with_name("page.html")


def create_app(number_reader, max_upload: int = MAX_UPLOAD_BYTES):
    """The web page: GET / shows it, POST /read takes a photo and answers JSON (errors included)."""
    from flask import Flask, jsonify, request
    from werkzeug.exceptions import RequestEntityTooLarge

    from helpers.core import images

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
        with lock:   # the likeliest number first, then every other one found
            found = (number_reader.read_all(photo)[0] if number_reader.detector is not None
                     else number_reader.read(photo))
        reading = found[0]
        shown = annotate(photo.pixels, reading, found[1:])
        shown.thumbnail((1024, 1024))
        buffer = io.BytesIO()
        shown.save(buffer, "JPEG", quality=90)
        return jsonify(file=upload.filename, **reading.to_dict(), others=[other.to_dict() for other in found[1:]],
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
    """The web page served from a thread on a free port (for tests and the report's screenshot)."""

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

"""The web page driven in a headless Chromium (Selenium): upload a photo or take one with the webcam, read
the answer, take a screenshot. The webcam is Chromium's fake camera playing a short video made from a photo.

For the browser tests and the report's picture of the page; the application itself does not need it.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from PIL import Image

from helpers.app import server as app_server
from helpers.core import images


def chromium(width: int = 1100, height: int = 900, camera: Path | None = None):
    """A headless Chromium driven by Selenium (Debian's chromium + chromium-driver, no downloads); with
    `camera`, a Y4M video (`camera_video`) is its webcam, allowed without asking."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise FileNotFoundError("Chromium and its driver are needed (Debian: apt-get install chromium chromium-driver).")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    flags = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"]
    if camera is not None:
        flags += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={Path(camera).resolve()}"]
    for flag in flags:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def camera_video(photo: Path, path: Path, *, width: int = 640, frames: int = 20, fps: int = 10) -> Path:
    """A short still video of `photo` (upright, `width` px wide) in Y4M 4:2:0, the format Chromium's fake camera plays."""
    image = Image.fromarray(images.load_image(photo))
    height = max(2, round(image.height * width / image.width / 2) * 2)     # 4:2:0 needs even sides
    frame = image.resize((width, height), Image.LANCZOS).convert("YCbCr")
    luma, blue, red = frame.split()
    half = (width // 2, height // 2)
    planes = luma.tobytes() + blue.resize(half, Image.BILINEAR).tobytes() + red.resize(half, Image.BILINEAR).tobytes()
    path = Path(path)
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode() + (b"FRAME\n" + planes) * frames)
    return path


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


def webcam_in_browser(browser, url: str, timeout: float = 30.0) -> dict[str, str]:
    """Open the page, start its webcam, take a picture once the video plays, wait for the answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    browser.find_element(By.ID, "camera").click()
    # readyState 2: a frame is decoded (videoWidth alone is known from the metadata, before any picture).
    WebDriverWait(browser, timeout).until(lambda b: b.execute_script("return document.getElementById('video').readyState >= 2"))
    browser.find_element(By.ID, "snap").click()
    text = lambda name: browser.find_element(By.ID, name).get_attribute("textContent")
    WebDriverWait(browser, timeout).until(lambda _: text("state") in ("done", "error"))
    return {name: text(name) for name in ("state", "number", "status", "message")}


def page_screenshot(number_reader, photo: Path, screenshot: Path, *, webcam: bool = False) -> dict:
    """Serve the page from a thread, upload `photo` in Chromium (or, with `webcam`, show it to the page's webcam
    and take a picture), save the page as `screenshot`: what it showed, the seconds from the upload or the
    picture to the answer and the screenshot's width. FileNotFoundError without Chromium."""
    with app_server.BackgroundServer(number_reader) as server, tempfile.TemporaryDirectory() as folder:
        browser = chromium(camera=camera_video(photo, Path(folder) / "camera.y4m") if webcam else None)
        try:
            start = time.perf_counter()
            shown = webcam_in_browser(browser, server.url) if webcam else upload_in_browser(browser, server.url, photo)
            seconds = time.perf_counter() - start
            save_screenshot(browser, screenshot)   # cropped to the page's content
        finally:
            browser.quit()
    with Image.open(screenshot) as shot:
        width = shot.width
    return {**shown, "seconds": seconds, "width": width}

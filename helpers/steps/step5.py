"""Step 5: the application shown at work, the command line on the real photographs of `images/` and the web page
fed a real photograph through Chromium's fake webcam, with what their answers are worth."""
from __future__ import annotations

import os
from pathlib import Path

from helpers.app import browser, cli, reader
from helpers.datasets import new_images


def command_line(models: Path, folder: new_images.NewImages) -> int:
    """Run the command-line program on the real photographs, as a user would (it prints); its exit status."""
    real = [path for path, kind in zip(folder.paths, folder.kinds()) if kind == new_images.REAL]
    return cli.run_cli(["--models", os.path.relpath(models), *(os.path.relpath(path) for path in real)])


def command_line_comment(folder: new_images.NewImages, found: list[list[reader.Reading]]) -> str:
    """What the command line's answers are worth: its first answers against the labels, and its other numbers."""
    first = [numbers[0] for numbers in found]
    real_at = [i for i, kind in enumerate(folder.kinds()) if kind == new_images.REAL]
    missed = [f"{folder.paths[i].name} (read '{first[i].number}', true {folder.labels[i]['number']})" for i in real_at
              if not new_images.is_right(folder.labels[i], first[i].number)]
    others, labelled = new_images.other_numbers(folder, found)   # listed after the first answers; labelled ones
    listed = f" ({', '.join(labelled)})" if labelled else ""
    return (f"These are the released reader's first answers, as in Q11: right on {len(real_at) - len(missed)} of the "
            f"{len(real_at)} real photographs" + (f"; wrong on {'; '.join(missed)}" if missed else "") +
            f". After its first answers it lists {others} other numbers; {len(labelled)} of them "
            f"{'is' if len(labelled) == 1 else 'are'} a labelled number of the photo{listed}, the rest are other marks "
            "the detector took for numbers (letters, a sticker, bolts, texture). A user should check any answer not "
            "marked sure, and take the other numbers as places to look, not as readings.")


def web_page(number_reader: reader.NumberReader, folder: new_images.NewImages, first: list[reader.Reading],
             screenshot: Path) -> tuple[dict, Path]:
    """The page in a headless Chromium, its webcam playing the first real photograph the reader reads right (else the
    first image): what it showed (`browser.page_screenshot`) and the photo. FileNotFoundError without Chromium."""
    right = [path for path, r, label, kind in zip(folder.paths, first, folder.labels, folder.kinds())
             if kind == new_images.REAL and new_images.is_right(label, r.number)]
    photo = (right or folder.paths)[0]
    return browser.page_screenshot(number_reader, photo, screenshot, webcam=True), photo

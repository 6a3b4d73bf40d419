"""Typefaces for the rendered house numbers: the system's font families plus a few from PyPI.

The setup script installs about 50 of Debian's `fonts-*` packages (well over 100 families); any
installed family that draws ten distinct digits joins the training pool, except the families in
`HELD_OUT_FAMILIES`, which are kept for Step 3's new images. Without them (a machine where the
setup script could not use apt) the pool falls back to the fonts that pip installs.
"""
from __future__ import annotations

import hashlib
import importlib
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# Whole families kept out of training: seven-segment faces look like Step 3's display image.
HELD_OUT_FAMILIES = ("DSEG",)
# Families that hold symbols, not digits (their digit slots may still be filled).
NOT_TEXT = ("symbol", "dingbat", "math", "awesome", "weather", "emoji", "icon", "d050000l", "music", "z003", "keyboard")


def _package_fonts(module: str) -> list[Path]:
    """The .ttf files that a `font-*` package (or matplotlib) ships."""
    root = Path(importlib.import_module(module).__file__).parent
    return sorted(root.rglob("*.ttf"))


def draws_digits(path: Path, size: int = 28) -> bool:
    """Whether a font file draws all ten digits, each one different (not ten empty or missing glyphs)."""
    try:
        font = ImageFont.truetype(str(path), size)
        masks = [font.getmask(digit) for digit in "0123456789"]
    except (OSError, ValueError):
        return False
    if any(mask.size[0] * mask.size[1] == 0 for mask in masks):
        return False
    return len({(mask.size, bytes(mask)) for mask in masks}) == 10


def family_name(path: Path) -> str:
    """The family a font file belongs to, as the file itself names it."""
    return ImageFont.truetype(str(path), 12).getname()[0] or path.stem


@lru_cache(maxsize=1)
def system_families() -> dict[str, tuple[Path, ...]]:
    """Installed font families that draw digits: {family: its .ttf/.otf files}."""
    families: dict[str, list[Path]] = {}
    for folder in SYSTEM_FONT_DIRS:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.suffix.lower() not in (".ttf", ".otf") or not draws_digits(path):
                continue
            family = family_name(path)
            if not any(word in family.lower() for word in NOT_TEXT):
                families.setdefault(family, []).append(path)
    return {family: tuple(files) for family, files in sorted(families.items())}


@lru_cache(maxsize=1)
def pip_families() -> tuple[dict[str, tuple[Path, ...]], tuple[Path, ...]]:
    """(training families, held-out files) from matplotlib and the `font-*` packages on PyPI."""
    matplotlib_fonts = {p.name: p for p in _package_fonts("matplotlib") if "mpl-data" in p.parts}
    train_names = [n for n in matplotlib_fonts if n.startswith(("DejaVuSans", "DejaVuSerif", "STIXGeneral"))
                   and "Display" not in n and n != "DejaVuSerif-BoldItalic.ttf"]
    train = [matplotlib_fonts[n] for n in sorted(train_names + ["cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf"])]
    train += [p for p in _package_fonts("font_roboto") if "Thin" not in p.name]
    train += _package_fonts("font_source_sans_pro")
    held_out = _package_fonts("font_fredoka_one") + _package_fonts("font_amatic_sc")
    held_out += [matplotlib_fonts["cmti10.ttf"], matplotlib_fonts["DejaVuSerif-BoldItalic.ttf"]]
    families: dict[str, list[Path]] = {}
    for path in train:
        families.setdefault(family_name(path), []).append(path)
    return {family: tuple(files) for family, files in families.items()}, tuple(held_out)


def training_families(font_set: str = "many") -> dict[str, tuple[Path, ...]]:
    """Families the training renders draw from: "few" (pip's fonts only) or "many" (plus the system's)."""
    if font_set not in ("few", "many"):
        raise ValueError(f"font_set is 'few' or 'many', got {font_set!r}.")
    families, held_out = pip_families()
    if font_set == "few":
        return families
    held_out_names = {family_name(path) for path in held_out}
    merged = dict(families)
    for family, files in system_families().items():
        if family.startswith(HELD_OUT_FAMILIES) or family in held_out_names:
            continue
        merged.setdefault(family, files)     # a family pip also ships keeps pip's files (same fonts)
    return dict(sorted(merged.items()))


def held_out_fonts() -> list[Path]:
    """Files never used in training: pip's held-out fonts and the held-out system families."""
    files = list(pip_families()[1])
    for family, paths in system_families().items():
        if family.startswith(HELD_OUT_FAMILIES):
            files += paths
    return files


def fingerprint(families: dict[str, tuple[Path, ...]]) -> str:
    """A short digest of a font pool (file names), so a cached render follows the fonts it used."""
    names = sorted(f"{family}/{path.name}" for family, files in families.items() for path in files)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:10]

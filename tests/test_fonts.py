"""Typefaces for the stand-in: which files draw digits, the training pool, and the held-out families."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from helpers.synth import fonts

DEJAVU = Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"


def test_a_text_font_draws_digits_and_other_files_do_not(tmp_path: Path) -> None:
    assert fonts.draws_digits(DEJAVU)
    not_a_font = tmp_path / "fake.ttf"
    not_a_font.write_bytes(b"not a font")
    assert not fonts.draws_digits(not_a_font)
    assert fonts.family_name(DEJAVU) == "DejaVu Sans"


def test_held_out_fonts_never_enter_training() -> None:
    held_out = set(fonts.held_out_fonts())
    for font_set in ("few", "many"):
        families = fonts.training_families(font_set)
        assert not held_out & {path for files in families.values() for path in files}
        assert not any(name.startswith(fonts.HELD_OUT_FAMILIES) for name in families)
    assert len(fonts.training_families("few")) >= 8
    with pytest.raises(ValueError, match="font_set"):
        fonts.training_families("some")


@pytest.mark.skipif(len(fonts.system_families()) < 50, reason="Debian's fonts-* packages are not installed")
def test_the_system_fonts_give_over_100_families() -> None:
    families = fonts.training_families("many")
    assert len(families) >= 100
    assert fonts.fingerprint(families) != fonts.fingerprint(fonts.training_families("few"))

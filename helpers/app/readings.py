"""What the reader says about one photo: `Reading`, the record the command line, the web page and the report share."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Reading:
    """What the reader says about one photo."""

    number: str                              # the digits read, "" when it sees no number
    digit_confidences: tuple[float, ...]     # probability of each digit read, left to right
    confidence: float                        # probability of the whole answer (length and all digits)
    has_number: float                        # how sure the finder is of a number there: the localizer's probability
                                             # or the detector's mean digit-centre score (0: the whole photo read)
    box: tuple[float, float, float, float] | None   # (top, left, bottom, right) in the photo's own pixels
    image_size: tuple[int, int]              # (height, width) of the photo itself (upright), whatever its size
    confident: bool                          # False: the answer should be checked by a person
    agreement: float = 1.0                   # share of the candidate boxes whose reading is this same number

    @property
    def status(self) -> str:
        """"read", "unsure" (a number, but a doubtful reading) or "no number"."""
        return "no number" if not self.number else "read" if self.confident else "unsure"

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary (for the app's --json output and the web page)."""
        return {**asdict(self), "status": self.status}

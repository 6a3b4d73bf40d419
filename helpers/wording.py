"""Phrases the report's answers repeat, in one place, so the answer cells read as plain text."""
from __future__ import annotations


def gap(first: float, second: float, unit: str = "points") -> str:
    """How a share compares with another: "about the same as", "2.3 points above" or "... below"."""
    difference = 100 * (first - second)
    if abs(difference) < 1:
        return "about the same as"
    return f"{abs(difference):.1f} {unit} {'above' if difference > 0 else 'below'}"


def paired_gap(difference: float, margin: float) -> str:
    """A difference of two accuracies with its 95% margin: "34.9 ± 1.7 points above", "level with"."""
    size, spread = 100 * abs(difference), 100 * margin
    if round(size, 1) == 0:
        return f"level (± {spread:.1f} points) with"
    return f"{size:.1f} ± {spread:.1f} points {'above' if difference > 0 else 'below'}"


def answer(number: str, confidence: float, status: str) -> str:
    """What the reader said: "read '27' (confidence 0.93)", "no number found", with an unsure flag."""
    if not number:
        return "found no number"
    flag = ", flagged unsure" if status == "unsure" else ""
    return f"read “{number}” (confidence {confidence:.2f}{flag})"


def verdict(truth: str | None, number: str) -> str:
    """Right or wrong against the true number ("" for none: the photo holds no number)."""
    if truth is None:
        return "no known answer"
    if truth == "":
        return "right: there is no number" if not number else "wrong: there is no number"
    return "right" if number == truth else f"wrong (it is {truth})"


def image_lines(entries: list[dict]) -> str:
    """One Markdown bullet per image: its name, what makes it hard, what was read and whether it was right.

    Each entry holds name, how (may be ""), truth (None: unknown, "": no number), number,
    confidence, status and optionally iou (None: no box to compare).
    """
    lines = []
    for entry in entries:
        how = f" ({entry['how']})" if entry.get("how") else ""
        box = "" if entry.get("iou") is None else f", box IoU {entry['iou']:.2f}"
        lines.append(f"* **{entry['name']}**{how}: {answer(entry['number'], entry['confidence'], entry['status'])}"
                     f"{box}; {verdict(entry['truth'], entry['number'])}.")
    return "\n".join(lines)


def verdicts(changes: dict[str, tuple[float, float]]) -> str:
    """Which changes read more or fewer numbers beyond their paired 95% margin, in words."""
    helped = [name for name, (difference, margin) in changes.items() if difference > margin]
    hurt = [name for name, (difference, margin) in changes.items() if -difference > margin]
    parts = ([f"{' and '.join(helped)} read more beyond the noise"] if helped else []) + \
        ([f"{' and '.join(hurt)} read fewer: the options that made the results worse"] if hurt else [])
    return "; ".join(parts) if parts else "no change moved the result beyond the noise"

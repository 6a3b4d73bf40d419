"""Phrases the report's answers repeat, in one place, so the answer cells read as plain text."""
from __future__ import annotations

import math

from helpers.core.labels import confidence_text  # shared with the app and the figures


def gap(first: float, second: float, unit: str = "points") -> str:
    """How a share compares with another: "about the same as", "2.3 points above" or "... below"."""
    difference = 100 * (first - second)
    if abs(difference) < 1:
        return "about the same as"
    return f"{abs(difference):.1f} {unit} {'above' if difference > 0 else 'below'}"


def paired_gap(difference: float, margin: float) -> str:
    """A difference of two accuracies with its 95% margin: "34.9 ± 1.7 points above", or "within the noise
    (+3.1 ± 5.7 points) of" where the margin holds zero ("(0.0 ± 8.4 points)" for none)."""
    size, spread = 100 * abs(difference), 100 * margin
    if round(size, 1) == 0:
        return f"within the noise (0.0 ± {spread:.1f} points) of"
    if abs(difference) <= margin:   # inside its margin the sign is not known: say so rather than "above"
        return f"within the noise ({'+' if difference > 0 else '-'}{size:.1f} ± {spread:.1f} points) of"
    return f"{size:.1f} ± {spread:.1f} points {'above' if difference > 0 else 'below'}"


def signed_gap(difference: float, margin: float, decimals: int = 1, tag: bool = True) -> str:
    """A difference with its 95% margin, signed, for lists: "+5.1 ± 3.9 points", "+2.9 ± 4.5 points (within the
    noise)"; `decimals=2` for small gains ("+0.33 ± 0.18 points"); `tag=False` leaves the verdict to the sentence."""
    noise = " (within the noise)" if tag and abs(difference) <= margin else ""
    return f"{100 * difference:+.{decimals}f} ± {100 * margin:.{decimals}f} points{noise}"


def answer(number: str, confidence: float, status: str) -> str:
    """What the reader said: "read '27' (confidence 0.93)", "no number found", with an unsure flag."""
    if not number:
        return "found no number"
    flag = ", flagged unsure" if status == "unsure" else ""
    return f"read “{number}” (confidence {confidence_text(confidence)}{flag})"


def verdict(truth: str | None, number: str) -> str:
    """Right or wrong against the true number ("" for none: the photo holds no number)."""
    if truth is None:
        return "no known answer"
    if truth == "":
        return "right: there is no number" if not number else "wrong: there is no number"
    return "right" if number == truth else f"wrong (it is {truth})"


def iou_text(iou: float) -> str:
    """A box's IoU to two decimals, rounded down, so that a box under the 0.5 that counts as found never reads "0.50"."""
    return f"{math.floor(100 * iou + 1e-9) / 100:.2f}"


def image_lines(entries: list[dict]) -> str:
    """One Markdown bullet per image: its name, what makes it hard, what was read and whether it was right.

    Each entry holds name, how (may be ""), truth (None: unknown, "": no number), number,
    confidence, status and optionally iou (None: no box to compare).
    """
    lines = []
    for entry in entries:
        how = f" ({entry['how']})" if entry.get("how") else ""
        box = "" if entry.get("iou") is None else f", box IoU {iou_text(entry['iou'])}"
        lines.append(f"* **{entry['name']}**{how}: {answer(entry['number'], entry['confidence'], entry['status'])}"
                     f"{box}; {verdict(entry['truth'], entry['number'])}.")
    return "\n".join(lines)


def listing(names: list[str]) -> str:
    """Names in a sentence: "a", "a and b", "a; b; and c" (semicolons, as the names may hold commas or "and")."""
    if len(names) < 3:
        return " and ".join(names)
    return "; ".join(names[:-1]) + "; and " + names[-1]


def _gaps_of(names: list[str]) -> tuple[str, str, str]:
    """The subject, possessive and pronoun of a sentence about these changes' gaps: ("gap of a is", "its", "it") or
    ("gaps of a and b are", "their", "they")."""
    if len(names) > 1:
        return f"gaps of {listing(names)} are", "their", "they"
    return f"gap of {listing(names)} is", "its", "it"


def beyond(changes: dict[str, tuple[float, float]], spread: float = 0.0, sign: int = 1) -> list[str]:
    """The changes whose gap (sign 1: a gain, -1: a loss) exceeds its paired 95% margin plus `spread`, what the same
    code moved the figure on another processor: the report's rule for a single run's "better" or "worse"."""
    return [name for name, (difference, margin) in changes.items() if sign * difference > margin + spread]


def rerun_close(changes: dict[str, tuple[float, float]], spread: float) -> list[str]:
    """The changes beyond their paired margin but not beyond it plus `spread`, what a second run of the same setting
    (another seed or processor) moved its figure: a gap that one run cannot settle."""
    return [name for name, (difference, margin) in changes.items() if margin < abs(difference) <= margin + spread]


def rerun_spread(seed_difference: float, machine_move: float) -> float:
    """What a second run moved a setting: the larger of another seed's and another processor's move."""
    return max(abs(seed_difference), machine_move)


def run_caveat(changes: dict[str, tuple[float, float]], spread: float) -> str:
    """A sentence naming the changes `rerun_close` finds, or "" where there is none."""
    close = rerun_close(changes, spread)
    if not close:
        return ""
    subject, its, it = _gaps_of(close)
    margin = "margin" if len(close) == 1 else "margins"
    return (f" The {subject} beyond {its} paired {margin} but not by {its} {margin} plus {100 * spread:.1f} points, so "
            f"{it} may change in another run.")


def rerun_verdicts(changes: dict[str, tuple[float, float]], seed_move: tuple[float, float], machine_move: float) -> str:
    """The report's rule for settings each trained once, then `verdicts` by it: a gap counts beyond its paired margin plus
    the larger of what another seed (`seed_move`: difference, margin) and another processor moved the same setting."""
    spread = rerun_spread(seed_move[0], machine_move)
    return (f"Trained again from another seed, the chosen setting read {signed_gap(*seed_move)} against its first run, and "
            f"a cold run on another machine moved the stand-in figures by {100 * machine_move:.1f} points: a gap between two single runs "
            f"counts only beyond its paired margin plus {100 * spread:.1f} points. By that rule "
            f"{verdicts(changes, spread)}.{run_caveat(changes, spread)}")


def counted(names: list[str], verb: str) -> str:
    """How many changes did something, naming them: "one change helped (a)", "2 changes hurt (a; b)", "none hurt"."""
    if not names:
        return f"none {verb}"
    return f"{'one change' if len(names) == 1 else f'{len(names)} changes'} {verb} ({'; '.join(names)})"


def share_words(count: int, total: int, things: str) -> str:
    """"All 4 settings", "None of the 4 settings", "3 of the 4 settings": a count at the start of a sentence."""
    return f"All {total} {things}" if count == total else f"None of the {total} {things}" if count == 0 \
        else f"{count} of the {total} {things}"


def sure_right(sure: int, right: int) -> str:
    """How many answers marked sure were right, in words: "none was marked sure", "of the 3 marked sure, 2 were right"."""
    if sure == 0:
        return "and none was marked sure"
    if sure == 1:
        return f"and the one marked sure was {'right' if right else 'wrong'}"
    return f"and of the {sure} marked sure, {right} {'was' if right == 1 else 'were'} right"


def verdicts(changes: dict[str, tuple[float, float]], spread: float = 0.0) -> str:
    """Which changes read more or fewer numbers beyond their paired 95% margin plus `spread` (`beyond`), in words."""
    helped, hurt = beyond(changes, spread), beyond(changes, spread, sign=-1)
    parts = ([f"{listing(helped)} read more numbers, beyond the noise"] if helped else []) + \
        ([f"{listing(hurt)} read fewer, beyond the noise: {'the options' if len(hurt) > 1 else 'the option'} that "
          f"made the results worse"] if hurt else [])
    return "; ".join(parts) if parts else "no change moved the result beyond the noise"


def iou_split(ious: list[float]) -> str:
    """Where a mean IoU mixes boxes on something else with good ones, the two apart (a clause, "" if not mixed)."""
    off, on = [v for v in ious if v < 0.1], [v for v in ious if v >= 0.5]
    if not off or not on:
        return ""
    return (f": {len(off)} of those boxes lie on something else (IoU under 0.1), and the {len(on)} at IoU 0.5 or more "
            f"average {sum(on) / len(on):.2f}")


def miss_lines(misses: list[dict], route: float) -> str:
    """One Markdown bullet per real photo whose first box missed its number (`new_images.misses`): what the
    first box held instead, and whether the detector found the number at all."""
    lines = []
    for miss in misses:
        number = f"the number, {miss['true_height']:.0f} px tall ({miss['true_height'] / miss['photo_height']:.0%} of the photo's height),"
        found = "was among the detector's later finds" if miss["found_later"] else "was not among the detector's finds"
        if miss["from_localizer"]:
            what = (f"the first answer is the localizer's: a box {miss['first_height']:.0f} px tall on something else, "
                    f"read “{miss['number']}”; {number} {found}")
        else:
            what = (f"the detector's first find is a shape {miss['first_height']:.0f} px tall elsewhere in the photo, read "
                    f"“{miss['number']}” (confidence {confidence_text(miss['confidence'])}); {number} {found}")
            if miss["first_height"] <= route * miss["photo_height"] and miss["localizer_number"]:
                what += (f", and that find, small, went ahead of the localizer's box (IoU {iou_text(miss['localizer_iou'])}, "
                         f"read “{miss['localizer_number']}”)")
        lines.append(f"* **{miss['name']}**: {what}.")
    return "Where the first box missed a real photograph's number:\n\n" + "\n".join(lines) if lines else ""


def peer_in_box(score: dict | None, who: str = "RapidOCR's recognizer (PP-OCRv4), a general OCR,") -> str:
    """Another reader beside the Step 2 reader in the same true boxes (`step2.Step2Test.peer_in_box`), in a sentence
    with the paired gap; "" where it was not run."""
    if not score:
        return ""
    paired = score["against_reader"]
    return (f" {who} reads {100 * score['accuracy']:.1f}% of the same photos in the same boxes, "
            f"{paired_gap(paired['difference'], paired['margin'])} the Step 2 reader, paired on the same photos.")


def peer_sentences(peers: dict, svhn_test: dict, chars74k: dict | None) -> str:
    """RapidOCR beside this reader in words: in the true box of the real SVHN test photos, on Chars74K's digits
    and on the whole photo ("" where RapidOCR was not run). `peers` is the report's PEERS record."""
    def peer(part: str, how: str) -> dict:
        return (peers.get(part, {}).get("rapidocr") or {}).get(how) or {}

    def against(score: dict, mine: float) -> str:   # paired with this reader where the run recorded it
        paired = score.get("against_reader")
        return paired_gap(paired["difference"], paired["margin"]) if paired else gap(score["accuracy"], mine)

    in_box, whole, digits = peer("svhn_test", "true_box"), peer("svhn_test", "whole_photo"), peer("chars74k", "true_box")
    if not in_box:
        return ""
    text = (f" RapidOCR's recognizer (PP-OCRv4), a general OCR, reads {100 * in_box['accuracy']:.1f}% of the same test "
            f"photos in their true boxes, {against(in_box, svhn_test['true_box_accuracy'])} the released reader there")
    if digits and chars74k is not None:
        text += f", and {100 * digits['accuracy']:.1f}% of Chars74K's digits, {against(digits, chars74k['accuracy'])} it"
    if whole:
        text += (f". On the whole photo, where it must find the text itself, it reads {100 * whole['accuracy']:.1f}%, "
                 f"{against(whole, svhn_test['end_to_end_accuracy'])} the released reader end to end")
    return text + " (paired 95% margins)." if in_box.get("against_reader") else text + "."

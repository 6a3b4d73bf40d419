"""The answers' repeated phrases."""
from __future__ import annotations

from helpers.report import wording


def test_gap_says_which_way_and_rounds_small_differences_away() -> None:
    assert wording.gap(0.905, 0.9) == "about the same as"
    assert wording.gap(0.95, 0.9) == "5.0 points above"
    assert wording.gap(0.8, 0.9) == "10.0 points below"


def test_answer_and_verdict_cover_misses_unsure_answers_and_empty_photos() -> None:
    assert wording.answer("27", 0.934, "read") == "read “27” (confidence 0.93)"
    assert wording.answer("27", 0.5, "unsure") == "read “27” (confidence 0.50, flagged unsure)"
    # An unsure 0.996 never shows as "1.00" beside "flagged unsure".
    assert wording.answer("58", 0.9962, "unsure") == "read “58” (confidence 0.996, flagged unsure)"
    assert wording.confidence_text(0.99996) == "1.0000" and wording.confidence_text(1.0) == "1.00"
    assert wording.answer("", 0.0, "no number") == "found no number"
    assert wording.verdict("27", "27") == "right"
    assert wording.verdict("27", "21") == "wrong (it is 27)"
    assert wording.verdict("", "") == "right: there is no number"
    assert wording.verdict("", "77") == "wrong: there is no number"
    assert wording.verdict(None, "5") == "no known answer"


def test_image_lines_one_bullet_per_image_with_its_box() -> None:
    text = wording.image_lines([
        {"name": "a.png", "how": "brass digits", "truth": "316", "number": "316", "confidence": 0.9,
         "status": "read", "iou": 0.81},
        {"name": "b.png", "how": "", "truth": "", "number": "77", "confidence": 0.87, "status": "read"}])
    assert text.splitlines() == [
        "* **a.png** (brass digits): read “316” (confidence 0.90), box IoU 0.81; right.",
        "* **b.png**: read “77” (confidence 0.87); wrong: there is no number."]


def test_paired_gap_gives_the_difference_its_margin_and_direction() -> None:
    assert wording.paired_gap(0.349, 0.017) == "34.9 ± 1.7 points above"
    assert wording.paired_gap(-0.027, 0.012) == "2.7 ± 1.2 points below"
    assert wording.paired_gap(0.0, 0.0) == "within the noise (0.0 ± 0.0 points) of"
    # inside its margin the direction is not known: no "above"
    assert wording.paired_gap(0.031, 0.057) == "within the noise (+3.1 ± 5.7 points) of"
    assert wording.paired_gap(-0.003, 0.044) == "within the noise (-0.3 ± 4.4 points) of"


def test_signed_gap_marks_noise() -> None:
    assert wording.signed_gap(0.051, 0.039) == "+5.1 ± 3.9 points"
    assert wording.signed_gap(-0.003, 0.044) == "-0.3 ± 4.4 points (within the noise)"
    assert wording.signed_gap(0.0033, 0.0018, decimals=2) == "+0.33 ± 0.18 points"
    assert wording.signed_gap(-0.003, 0.044, tag=False) == "-0.3 ± 4.4 points"   # the sentence gives the verdict


def test_iou_split_parts_boxes_on_something_else_from_good_ones() -> None:
    assert wording.iou_split([0.0, 0.0, 0.8, 0.6, 0.3]) == (
        ": 2 of those boxes lie on something else (IoU under 0.1), and the 2 at IoU 0.5 or more average 0.70")
    assert wording.iou_split([0.8, 0.6]) == "" and wording.iou_split([0.0]) == ""


def test_verdicts_name_only_the_changes_beyond_their_margin() -> None:
    changes = {"deeper": (0.03, 0.01), "centred windows": (-0.02, 0.01), "faster rate": (0.005, 0.01)}
    text = wording.verdicts(changes)
    assert text.startswith("deeper read more numbers, beyond the noise") and "faster" not in text
    assert text.endswith("centred windows read fewer, beyond the noise: the option that made the results worse")
    assert wording.verdicts({"faster rate": (0.005, 0.01)}) == "no change moved the result beyond the noise"
    # Another processor's spread is noise too: 2 points beyond a 1-point margin is not beyond 1 + 1.5.
    assert wording.verdicts(changes, spread=0.015) == "deeper read more numbers, beyond the noise"
    assert wording.beyond(changes, 0.015) == ["deeper"] and wording.beyond(changes, 0.015, sign=-1) == []


def test_miss_lines_say_what_the_first_box_held() -> None:
    misses = [{"name": "plate.jpg", "number": "6", "confidence": 0.96, "first_height": 24.0, "true_height": 143,
               "photo_height": 300, "found_later": False, "localizer_iou": 0.42, "localizer_number": "4110",
               "from_localizer": False},
              {"name": "label.jpg", "number": "8", "confidence": 0.63, "first_height": 259.0, "true_height": 37,
               "photo_height": 868, "found_later": True, "localizer_iou": 0.0, "localizer_number": "8",
               "from_localizer": True}]
    lead, _, plate, label = wording.miss_lines(misses, route=0.15).split("\n")
    assert lead.startswith("Where the first box missed") and wording.miss_lines([], route=0.15) == ""
    assert plate == ("* **plate.jpg**: the detector's first find is a shape 24 px tall elsewhere in the photo, read “6” "
                     "(confidence 0.96); the number, 143 px tall (48% of the photo's height), was not among the "
                     "detector's finds, and that find, small, went ahead of the localizer's box (IoU 0.42, read “4110”).")
    assert label.startswith("* **label.jpg**: the first answer is the localizer's: a box 259 px tall") and \
        label.endswith("was among the detector's later finds.")


def test_peer_sentences_compare_rapidocr_where_it_ran() -> None:
    peers = {"svhn_test": {"rapidocr": {"true_box": {"accuracy": 0.797}, "whole_photo": {"accuracy": 0.375}}},
             "chars74k": {"rapidocr": {"true_box": {"accuracy": 0.912}}}}
    text = wording.peer_sentences(peers, {"true_box_accuracy": 0.758, "end_to_end_accuracy": 0.609}, {"accuracy": 0.83})
    assert text == (" RapidOCR's recognizer (PP-OCRv4), a general OCR, reads 79.7% of the same test photos in their true "
                    "boxes, 3.9 points above the released reader there, and 91.2% of Chars74K's digits, 8.2 points above "
                    "it. On the whole photo, where it must find the text itself, it reads 37.5%, 23.4 points below the "
                    "released reader end to end.")
    assert wording.peer_sentences({}, {}, None) == ""
    pair = {"against_reader": {"difference": 0.039, "margin": 0.065}}   # recorded by the run: paired on the same photos
    peers["svhn_test"]["rapidocr"]["true_box"].update(pair)
    assert wording.peer_sentences(peers, {"true_box_accuracy": 0.758, "end_to_end_accuracy": 0.609}, {"accuracy": 0.83}) == (
        " RapidOCR's recognizer (PP-OCRv4), a general OCR, reads 79.7% of the same test photos in their true boxes, "
        "within the noise (+3.9 ± 6.5 points) of the released reader there, and 91.2% of Chars74K's digits, 8.2 "
        "points above it. On the whole photo, where it must find the text itself, it reads 37.5%, 23.4 points below "
        "the released reader end to end (paired 95% margins).")


def test_peer_in_box_says_the_paired_gap_or_nothing() -> None:
    score = {"accuracy": 0.797, "against_reader": {"difference": 0.031, "margin": 0.088}}
    text = wording.peer_in_box(score)
    assert "79.7% of the same photos" in text and "within the noise (+3.1 ± 8.8 points) of the Step 2 reader, paired" in text
    assert wording.peer_in_box(None) == ""


def test_counts_and_caveats_read_as_sentences() -> None:
    assert wording.share_words(4, 4, "settings") == "All 4 settings"
    assert wording.share_words(0, 4, "settings") == "None of the 4 settings"
    assert wording.share_words(3, 4, "settings") == "3 of the 4 settings"
    assert wording.sure_right(0, 0) == "and none was marked sure"
    assert wording.sure_right(1, 0) == "and the one marked sure was wrong"
    assert wording.sure_right(3, 1) == "and of the 3 marked sure, 1 was right"
    changes = {"centred windows": (0.012, 0.010), "deeper": (0.05, 0.01), "faster": (0.001, 0.01)}
    assert wording.run_caveat(changes, 0.001) == ""                      # every gain beyond its margin clears 0.1
    assert wording.run_caveat(changes, 0.02) == (" The gap of centred windows is beyond its paired margin but not by its "
                                                 "margin plus 2.0 points, so it may change in another run.")
    assert wording.run_caveat(changes, 0.06).startswith(" The gaps of centred windows and deeper are beyond their paired margins but "
                                                           "not by their margins plus 6.0 points")
    assert wording.rerun_close(changes, 0.02) == ["centred windows"] and wording.rerun_spread(-0.015, 0.008) == 0.015
    text = wording.rerun_verdicts(changes, (-0.015, 0.005), 0.008)   # the seed's 1.5 points is the larger move
    assert text.startswith("Trained again from another seed, the chosen setting read -1.5 ± 0.5 points against its first run")
    assert "plus 1.5 points. By that rule deeper read more numbers, beyond the noise. The gap of centred windows" in text
    assert wording.counted([], "hurt") == "none hurt" and wording.counted(["a"], "helped") == "one change helped (a)"
    assert wording.counted(["a, b", "c"], "hurt") == "2 changes hurt (a, b; c)"
    assert wording.listing(["a, b", "c"]) == "a, b and c" and wording.listing(["a", "b", "c and d"]) == "a; b; and c and d"


def test_an_iou_under_the_bar_never_reads_as_the_bar() -> None:
    assert wording.iou_text(0.497) == "0.49" and wording.iou_text(0.5) == "0.50" and wording.iou_text(0.8) == "0.80"

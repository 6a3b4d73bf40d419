"""The metrics record, its tables, and the README/report numbers that must match it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT
from helpers.report import ablation, plotting, results

COMMITTED = PROJECT_ROOT / "results" / "metrics.json"


def test_update_merges_sections_atomically(tmp_path: Path) -> None:
    path = tmp_path / "r" / "metrics.json"
    results.start(path, {"fast_mode": True, "processor": "test CPU"})
    results.update(path, "step1", {"a": 1})
    results.update(path, "step1", {"b": 2})
    record = results.load(path)
    assert record["step1"] == {"a": 1, "b": 2} and record["run"]["processor"] == "test CPU"   # given values win
    results.start(path, {"fast_mode": False})   # a fresh record, which names this machine and its libraries
    record = results.load(path)
    assert set(record) == {"run"} and record["run"]["fast_mode"] is False
    assert record["run"]["processor"] == results.processor() and record["run"]["cpu_cores"] >= 1
    assert {"tensorflow", "keras", "started", "data_seconds"} <= set(record["run"])
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize("flags, widest", [("fpu avx2 fma", "AVX2"), ("avx2 avx512f avx512bw", "AVX-512"),
                                            ("avx2 avx512f amx_bf16 amx_tile", "AVX-512, AMX"), ("fpu sse2", None)])
def test_processor_names_the_model_and_its_widest_vector_extension(tmp_path: Path, flags: str,
                                                                    widest: str | None) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Test CPU @ 2.10GHz\nflags\t\t: {flags}\n\n"
                       f"processor\t: 1\nmodel name\t: Test CPU @ 2.10GHz\nflags\t\t: {flags}\n")
    assert results.processor(cpuinfo) == "Test CPU @ 2.10GHz" + (f", {widest}" if widest else "")
    assert results.processor(tmp_path / "missing")   # elsewhere, whatever Python knows of it


def test_load_gives_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the notebook"):
        results.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        results.load(tmp_path / "bad.json")


def test_markdown_table() -> None:
    table = results.markdown_table([{"a": 1, "b": "x"}], {"a": "A", "b": "B"})
    assert table.splitlines() == ["| A | B |", "|---|---|", "| 1 | x |"]


def test_update_readme_replaces_only_the_marked_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{results.README_START}\nthe previous table\n{results.README_END}\noutro\n")
    record = {"run": {"fast_mode": False, "cpu_cores": 2, "started": "now"},
              "step1": {"count": 10, "sequence_accuracy": 0.5, "per_digit_accuracy": 0.75,
                        "coverage_at_98": 0.25, "train_seconds": 120},
              "step2": {"count": 20, "sequence_accuracy": 0.9, "per_digit_accuracy": 0.95, "coverage_at_98": 0.8,
                        "train_seconds": 600, "data_source": "offline stand-in (NOT real SVHN)"}}
    results.update_readme(readme, record)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "previous" not in text
    assert "| 50.00% | 75.00% | 25.0% kept at 98% accuracy (threshold set on these test numbers) | 2.0 min |" in text
    assert "_Measured in the full run on 2 CPU cores, started now._" in text   # a record without a processor
    assert ("| 2: reader inside the true box (rendered stand-in, not photos) | 20 stand-in test numbers | 90.00% | "
            "95.00% | 80.0% kept at 98% accuracy (threshold set on these test numbers) | 10.0 min |") in text
    record["step3"] = {"labelled": 6, "correct": 2, "numbers_read": 1, "with_number": 5, "in_true_box": {"numbers_read": 3},
                       "released_reader": {"real_photos": {"labelled": 2, "correct": 1, "found": 2}},
                       "made_images": {"labelled": 4, "correct": 1}}
    record["step4"] = {"test_numbers": 20, "data_source": "stand-in", "end_to_end_accuracy": 0.85,
                       "ground_truth_crop_accuracy": 0.9, "train_seconds": 60, "mean_iou": 0.8125,
                       "iou_at_least_0.5": 0.95, "iou_at_least_0.75": 0.7, "blank_scenes_flagged": 0.9,
                       "blank_test_scenes": 10, "new_images": {"labelled": 6, "correct": 4,
                                                               "made_images": {"labelled": 4, "correct": 3,
                                                                               "with_number": 3, "numbers_read": 2}}}
    results.update_readme(readme, record)
    text = readme.read_text()
    assert ("| 3: new images (found: box IoU >= 0.5) | 6 labelled images in `images/` | Step 2 reader: 1/5 whole, "
            "3/5 in the true box; released reader: real photos found 2/2, read 1/2; made images: read 2/3 "
            "(and 'no number' on 1/1 empty) |") in text
    assert "| 20 stand-in test images | 85.00% (the same reader in the true box: 90.00%) | - | - | 1.0 min |" in text
    assert "stand-in test images: mean IoU 0.812, 95.0% of boxes at IoU >= 0.5, 70.0% at >= 0.75; 90.0% of 10 scenes" in text
    assert "real SVHN" not in text   # no row for real photos a run did not read
    record["run"]["processor"] = "Test CPU, AVX2"
    results.update_readme(readme, record)
    assert "full run on 2 CPU cores (Test CPU, AVX2), started now._" in readme.read_text()
    record["run"].update(wall_seconds=600, peak_memory_gib=2.5, models_trained=1, models_from_cache=3)
    results.update_readme(readme, record)
    assert ("ran top to bottom in 10.0 min, peak memory 2.5 GiB. 3 of its 4 models were reused from an earlier run"
            in readme.read_text())
    record["run"]["models_from_cache"] = 0
    results.update_readme(readme, record)
    assert "ran top to bottom in 10.0 min" in readme.read_text() and "cache" not in readme.read_text()
    assert "It trained all 1 of its models." in readme.read_text()   # a cold run says so
    record["run"]["data_seconds"] = 5   # seconds of data preparation: no clause; minutes: one
    results.update_readme(readme, record)
    assert "getting the data ready" not in readme.read_text()
    record["run"]["data_seconds"] = 300
    results.update_readme(readme, record)
    assert "(after 5.0 min getting the data ready)" in readme.read_text()
    (tmp_path / "plain.md").write_text("no markers")
    with pytest.raises(ValueError, match="section to fill in"):
        results.update_readme(tmp_path / "plain.md", record)


def test_save_fig_needs_setup(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plotting, "FIGURE_DIR", None)
    fig = plt.figure()
    with pytest.raises(ValueError, match="setup"):
        plotting.save_fig(fig, "x")
    plotting.setup(tmp_path)
    assert plotting.save_fig(fig, "x").exists()
    plt.close(fig)


def test_committed_readme_matches_committed_metrics() -> None:
    record = json.loads(COMMITTED.read_text())
    assert record["run"]["fast_mode"] is False, "the committed metrics must come from a full run"
    assert results.glance_table(record) in (PROJECT_ROOT / "README.md").read_text()


def test_describe_figure_reads_titles_and_labels() -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    axes[0].set_title("Loss")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[1].set_title("Accuracy")
    assert plotting.describe_figure(fig) == "Loss (loss against epoch); Accuracy"
    fig.suptitle("Training   curves\n(both heads)")
    assert plotting.describe_figure(fig) == "Training curves (both heads)"   # whitespace folded
    assert plotting.describe_figure(fig, limit=12) == "Training..."
    plt.close(fig)
    bare = plt.figure()
    assert plotting.describe_figure(bare) == "A figure without a title"
    plt.close(bare)


def test_setup_gives_inline_figures_alt_text(tmp_path: Path, monkeypatch) -> None:
    import IPython
    import matplotlib.pyplot as plt
    from IPython.core.formatters import DisplayFormatter

    shell = type("Shell", (), {"display_formatter": DisplayFormatter()})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    # Loading the backend is the notebook test's concern (it checks every figure's alt text there).
    monkeypatch.setattr(plt, "switch_backend", lambda name: None)
    png = shell.display_formatter.formatters["image/png"]
    png.for_type(plt.Figure, lambda fig: b"\x89PNG fake")   # stands in for the inline backend's renderer
    plotting.setup(tmp_path)
    plotting.setup(tmp_path)   # a second call must not wrap the renderer twice
    fig, axis = plt.subplots()
    axis.set_title("Sample grid")
    data, metadata = shell.display_formatter.format(fig)
    assert data["image/png"] == b"\x89PNG fake"
    assert metadata["image/png"] == {"alt": "Sample grid"}
    plt.close(fig)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    plotting.setup(tmp_path)   # plain Python: nothing to wrap, no error


REAL = {"chars74k": {"count": 593, "accuracy": 0.8, "in_crop_confident_precision": 0.9,
                     "in_crop_by_status": {"read": {"share": 0.5, "right": 0.9}, "unsure": {"share": 0.5, "right": 0.7},
                                           "no number": {"share": 0.0, "right": None}},
                     "end_to_end_accuracy": 0.6, "confident_precision": 0.75, "confident_share": 0.4,
                     "by_status": {"read": {"share": 0.4, "right": 0.75}, "unsure": {"share": 0.4, "right": 0.5},
                                   "no number": {"share": 0.2, "right": 0.0}}, "tesseract_accuracy": 0.23},
        "svhn_sample": {"count": 9, "end_to_end_correct": 5, "true_box_correct": 7, "confident_wrong": 1,
                        "tesseract_correct": 0}}


def test_real_photo_tables_show_every_figure_beside_tesseract() -> None:
    table = results.real_table(REAL)
    assert "| Chars74K, 593 street-scene digits | inside each digit's crop | 80.0% | 50.0% | 90.0% | 23.0% |" in table
    assert "| localized, then read | 60.0% | 40.0% | 75.0% | - |" in table   # Tesseract read the crop only
    assert "| 5/9 |" in table and "1 sure and wrong" in table and "| 7/9 |" in table and "0/9" in table
    status = results.status_table(REAL)
    assert "| localized, then read | 40.0% of photos, 75.0% right | 40.0% of photos, 50.0% right | " \
           "20.0% of photos, 0.0% right |" in status and "| none |" in status
    assert results.status_table({}) == ""
    glance = results.glance_table({"run": {}, "real": REAL})
    assert "80.0% (Tesseract: 23.0%)" in glance and "237 of 593 marked sure, 178 of them right" in glance
    with_peer = results.glance_table({"run": {}, "real": {**REAL, "peers": {"chars74k": {"rapidocr": {"true_box": {
        "accuracy": 0.91}}}}}})
    assert "80.0% (RapidOCR: 91.0%; Tesseract: 23.0%)" in with_peer
    assert "5/9 read (true box: 7/9; Tesseract: 0/9)" in glance
    # Each mode says which run it measured; Step 4's time counts all four of its trainings.
    assert "_Measured in the fast smoke run" in results.glance_table({"run": {"fast_mode": True}})
    assert "_Measured in the full run" in results.glance_table({"run": {"fast_mode": False}})
    assert results.step4_minutes({"train_seconds": 60, "real_tune_seconds": 30, "detector_seconds": 90,
                                  "adapt_seconds": None}) == 3.0


def test_ablation_runs_load_in_the_order_of_the_changes(tmp_path: Path) -> None:
    run = {"standin_test_accuracy": 0.9, "chars74k_accuracy": 0.7, "chars74k_confident_share": 0.5,
           "chars74k_confident_precision": 0.8, "train_seconds": 600}
    for name in ("all", "zeta", "first"):
        (tmp_path / f"{name}.json").write_text(json.dumps({**run, "name": name, "description": f"variant {name}"}))
    runs = ablation.load_ablation(tmp_path)
    assert [r["name"] for r in runs] == ["first", "all", "zeta"]
    table = ablation.ablation_table(runs)   # the named variants get their short labels, others their description
    assert "| the first stand-in | 1,400 | 70.0% | 50.0% / 80.0% | 90.0% |" in table and "| variant zeta |" in table


def test_ablation_rows_name_their_extra_settings_and_steps() -> None:
    run = {"name": "fonts_clutter", "description": "first + fonts, lone_zeros=True", "steps": 2800,
           "standin_test_accuracy": 0.9, "chars74k_accuracy": 0.7, "chars74k_confident_share": 0.5,
           "chars74k_confident_precision": 0.8}
    assert "| first + fonts + lone zeros | 2,800 | 70.0% |" in ablation.ablation_table([run])


SVHN_FIGURES = {"count": 128, "end_to_end_accuracy": 0.6, "true_box_accuracy": 0.8, "confident_share": 0.4,
                "confident_precision": 0.95, "mean_iou": 0.66,
                "by_length": {"1": {"count": 10, "end_to_end_accuracy": 0.5, "true_box_accuracy": 0.9},
                              "3": {"count": 30, "end_to_end_accuracy": 0.4, "true_box_accuracy": 0.7}}}


def test_real_svhn_leads_the_glance_table_and_says_what_it_measured() -> None:
    glance = results.glance_table({"run": {}, "real": {"svhn": {"test": SVHN_FIGURES}},
                                   "step1": {"count": 10_000, "sequence_accuracy": 0.99, "per_digit_accuracy": 0.997,
                                             "coverage_at_98": 1.0, "train_seconds": 600}})
    rows = [line for line in glance.splitlines() if line.startswith("| ")][1:]
    assert "real SVHN" in rows[0] and "128 real SVHN test photos" in rows[0] and rows[1].startswith("| 1: synthetic")
    assert "60.0% (the same reader in the true box: 80.0%)" in rows[0] and "51 of 128 marked sure, 48 of them right" in rows[0]
    assert "threshold set on these test numbers" in rows[1] and "100.0% kept" in rows[1]   # no 99.5% figure recorded
    record = {"run": {}, "step1": {"count": 10, "sequence_accuracy": 0.99, "per_digit_accuracy": 0.997,
                                   "coverage_at_98": 1.0, "coverage_at_995": 0.875, "train_seconds": 600}}
    assert "87.5% kept at 99.5% accuracy (at 98%: all" in results.glance_table(record)


def test_svhn_length_and_peer_tables_show_each_figure() -> None:
    table = results.svhn_table({"validation": dict(SVHN_FIGURES, count=56), "test": SVHN_FIGURES})
    assert "train 201-256" in table and "read once" in table and "| 128 | 60.0% | 80.0% | 40.0% | 95.0% | 0.66 |" in table
    counted = results.length_table({"5": {"count": 18, "training_numbers": 1210, "accuracy": 0.5}},
                                   {"training_numbers": "train", "accuracy": "acc"})
    assert "| 5 digits | 18 | 1,210 | 50.0% |" in counted     # counts stay counts, shares become percentages
    lengths = results.length_table(SVHN_FIGURES["by_length"], {"end_to_end_accuracy": "e2e", "true_box_accuracy": "box"})
    assert "| 1 digit | 10 | 50.0% | 90.0% |" in lengths and "| 3 digits | 30 | 40.0% | 70.0% |" in lengths
    peers = {"svhn_test": {"rapidocr": {"true_box": {"accuracy": 0.805, "seconds_per_photo": 0.05, "count": 128},
                                        "whole_photo": {"accuracy": 0.375, "seconds_per_photo": 0.8, "count": 128}},
                           "tesseract": {"true_box": None, "whole_photo": None}}}
    table = results.peers_table(peers, {"svhn_test": {"true_box": 0.8, "whole_photo": 0.6}})
    assert "| real SVHN test 1-128 | the released reader | 80.0% | 60.0% | - |" in table
    assert "| real SVHN test 1-128 | RapidOCR (PP-OCRv4) | 80.5% | 37.5% | 0.05 / 0.80 |" in table
    assert "Tesseract" not in table      # not installed: no row rather than a row of dashes


def test_ablation_steps_compare_each_change_with_the_variant_it_extends() -> None:
    runs = {"first": {"chars74k_accuracy": 0.70}, "fonts": {"chars74k_accuracy": 0.80},
            "fonts_clutter": {"chars74k_accuracy": 0.79}}
    steps = ablation.ablation_steps(runs, 600)
    assert set(steps) == {"many fonts", "clutter"}   # variants not run are left out
    (fonts, fonts_margin), (clutter, clutter_margin) = steps["many fonts"], steps["clutter"]
    assert fonts == pytest.approx(0.10) and clutter == pytest.approx(-0.01)
    assert fonts > fonts_margin and abs(clutter) < clutter_margin   # unpaired margins of two 600-digit runs: ~4.5 points
    assert 0.04 < clutter_margin < 0.05


def test_sure_counts_read_as_words() -> None:
    assert results.sure_counts(4 / 128, 1.0, 128) == "4 of 128 marked sure, all 4 right"
    assert results.sure_counts(1 / 128, 0.0, 128) == "1 of 128 marked sure, wrong"
    assert results.sure_counts(0.0, None, 128) == "0 of 128 marked sure"


def test_the_real_svhn_reranking_is_told_from_its_saved_runs(tmp_path: Path) -> None:
    for name, accuracy in (("first", 0.70), ("geometry", 0.73)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"name": name, "svhn_real_count": 256,
                                                           "svhn_real_train_true_box_accuracy": accuracy}))
    text = ablation.real_svhn_range(tmp_path)
    assert text.startswith("the same reader trained on the stand-in and on 1 variant of it read 70.0% to 73.0% of all 256")
    assert "within the noise of each other" in text
    assert ablation.real_svhn_range(tmp_path / "none") == ""


def test_run_line_names_reused_models_only_when_there_are_some() -> None:
    record = {"wall_seconds": 90.0, "peak_memory_gib": 1.31, "models_trained": 14, "models_from_cache": 0}
    assert results.run_line(record) == "notebook ran in 1.5 min, peak memory 1.3 GiB; 14 models trained here"
    assert results.run_line({**record, "models_from_cache": 2}).endswith("14 models trained here, 2 reused from an earlier run")

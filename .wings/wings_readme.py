from pathlib import Path
p = Path("README.md"); t = p.read_text()
start = t.index("| `digit_recognition.ipynb` | the report")
end = t.index("| `scripts/` |")
new = '''| `digit_recognition.ipynb` | the report: short cells that call `helpers`, answers rendered from the run |
| `report.html`, `results/metrics.json`, `figures/` | the executed report, every measured figure, its figures (generated) |
| `helpers/core/` | the run's configuration (every budget and setting, full and fast), paths, labels, boxes, photo loading, and the crop and letterbox every model sees |
| `helpers/datasets/` | MNIST (verified atomic downloads, strict IDX reader), SVHN format 1 (archives; `digitStruct.mat` parsed byte-level, h5py as reference), number tables and crops streamed with `tf.data`, the real photos and Step 3's images |
| `helpers/synth/` | Step 1's numbers from MNIST digits; the offline stand-in for SVHN, drawn with its fonts and SVHN's framing |
| `helpers/modeling/` | the readers, the localizer and the digit detector; decoding and whole-number accuracy; training with checkpoint choice and a cache; paired comparisons |
| `helpers/steps/` | one module per step that trains (`step1`, `step2`, `step4`), the export to TFLite with its model card, multi-device SVHN training |
| `helpers/app/` | the reader (a photo in, its numbers out), its model files and TFLite runner; the command line, the web server and page, the page in Chromium |
| `helpers/report/` | figures, the metrics record and its tables, the answers' phrases, the model card, the peers (Tesseract, RapidOCR) |
| `images/` | Step 3's new images and `labels.json` (`scripts/make_new_images.py`) |
'''
p.write_text(t[:start] + new + t[end:])

"""Helpers behind digit_recognition.ipynb. The notebook calls them; by concern:

* the run: `config` (every budget and setting, full and fast), `paths`, `labels`, `boxes`, `model_files`;
* data: `data` (MNIST), `svhn`, `digitstruct` + `_hdf5` (format 1), `crops`, `localization` and
  `detection_data` (tf.data streams), `images` (any photo), `new_images` (Step 3), `real_photos` (the real yardstick);
* synthesis: `sequences` (Step 1's numbers), `street_numbers`, `street_drawing`, `fonts`, `framing` (the stand-in);
* models and training: `models`, `metrics`, `training` (cache keyed by settings and data), `comparison`,
  `train_svhn`, `lite`, `export`;
* the steps: `step1`, `step2`, `step4` (train or load, read and score, each taking the run configuration);
* reading and the app: `reader`, `detection` (the digit detector: model, decoding, grouping), `annotation`,
  `app` (command line), `app_server` + `app_page.html`,
  `app_browser` (the page in Chromium, for tests and the report);
* the report: `plotting`, `results`, `wording`, `model_card`, `peers`.

Reading and the app import neither training nor parsing code (tests/test_layout.py checks it).
"""
import os

# oneDNN kernels are off by default on AVX2-only CPUs but train 1.45-1.8x faster here. TensorFlow's
# C++ log lines (CUDA probing, "oneDNN supports DT_BOOL only with AVX-512", ...) would only clutter
# the report; real failures still raise Python exceptions. Both must be set before TensorFlow is
# imported, so importing `helpers` first takes care of it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

def import_tensorflow_quietly():
    """Import TensorFlow with its C++ start-up log lines (CUDA probing, oneDNN notice) silenced.

    Those lines are written straight to file descriptor 2 before TensorFlow reads its own log
    settings, so they end up in notebook outputs; Python exceptions still propagate normally.
    """
    import sys

    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow

        tensorflow.config.list_physical_devices()   # the CUDA probe also logs; get it over with
        # Evaluating several models in a row makes Keras warn about tf.function retracing: expected here.
        tensorflow.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow

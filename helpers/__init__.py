"""Helpers behind digit_recognition.ipynb, in layers:

* `core`: the run's configuration, paths, labels, boxes and photo loading;
* `datasets`: MNIST, SVHN format 1, crops, the real photos and Step 3's images;
* `synth`: Step 1's MNIST numbers and the rendered stand-in for SVHN;
* `modeling`: the models, their metrics and training;
* `steps`: one module per step that trains (the notebook calls them);
* `app`: reading a photo (`reader`), the command line, the web page and the exports;
* `report`: figures, tables, wording and the model card.

Reading and the app import neither training, parsing nor synthesis code (tests/test_layout.py checks it).
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

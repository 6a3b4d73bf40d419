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

# oneDNN kernels are off by default on AVX2-only CPUs but train 1.45-1.8x faster here; the setting must be
# made before TensorFlow is imported, so importing `helpers` first takes care of it. Nothing is silenced
# here: a program that wants TensorFlow's start-up lines out of its output calls import_tensorflow_quietly.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def import_tensorflow_quietly():
    """Import TensorFlow with its C++ log lines silenced: for the notebook, the command line and the tests.

    The start-up lines (CUDA probing, oneDNN notices) are written straight to file descriptor 2 before
    TensorFlow reads its own log settings, so they would end up in notebook outputs; later C++ lines are
    silenced by TF_CPP_MIN_LOG_LEVEL=3 unless it is set already. Python exceptions still propagate.
    A library user who imports helpers.app.reader alone keeps TensorFlow's lines.
    """
    import sys

    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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

"""TensorFlow Lite: convert a Keras model (float32; float16 or int8 weights, smaller) and run it like one.

    flat = lite.convert(model, "float16")          # bytes of a .tflite file
    runner = lite.LiteModel.load("reader.tflite")  # runner(x) -> {"length": ..., "digit_1": ...}

The route is Keras 3's own (ExportArchive -> SavedModel -> TFLiteConverter.from_saved_model), with
recurrent layers unrolled first: the models' BiGRU reads a fixed number of columns, and unrolled it
converts to builtin ops only (no while loop, no TensorFlow ops a phone runtime would lack).
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

VARIANTS = ("float32", "float16", "int8")
RECURRENT = ("GRU", "LSTM", "SimpleRNN")


def unrolled(model):
    """A copy of `model` with every recurrent layer unrolled (same weights, same outputs)."""
    config = model.get_config()

    def unroll(node) -> None:
        if isinstance(node, dict):
            if node.get("class_name") in RECURRENT:
                node["config"]["unroll"] = True
            for value in node.values():
                unroll(value)
        elif isinstance(node, list):
            for value in node:
                unroll(value)

    unroll(config)
    copy = type(model).from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def convert(model, variant: str = "float32") -> bytes:
    """The model as a .tflite flatbuffer: "float32" (exact), "float16" (weights in half precision, half the
    size) or "int8" (weights quantized to 8 bits per channel, computed in float: a quarter of the size
    and no calibration data needed, TFLite's dynamic-range quantization)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown TFLite variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    import keras
    import tensorflow as tf

    model = unrolled(model)
    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
    with tempfile.TemporaryDirectory() as folder:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", functools.partial(model.__call__, training=False), input_signature=[spec])
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]   # what any LiteRT runtime has
        if variant != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "float16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


def interpreter_class():
    """LiteRT's interpreter (`ai-edge-litert`, what a phone runs); TensorFlow's deprecated `tf.lite` one
    only where LiteRT is not installed (it warns on every use and leaves TensorFlow in 2.20+)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter
    return Interpreter


class LiteModel:
    """A .tflite model behind the interface the reader uses: `input_shape` and `model(x) -> dict of outputs`."""

    def __init__(self, flatbuffer: bytes, name: str = "model") -> None:
        try:
            self._interpreter = interpreter_class()(model_content=flatbuffer)
            self._runner = self._interpreter.get_signature_runner()
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{name} is not a readable TensorFlow Lite model ({error}).") from error
        signature = self._interpreter.get_signature_list()
        self._input = next(iter(signature.values()))["inputs"][0]
        detail = self._runner.get_input_details()[self._input]
        self.input_shape = (None, *[int(d) for d in detail["shape_signature"][1:]])
        self.name = name

    @classmethod
    def load(cls, path: Path) -> "LiteModel":
        """Read a .tflite file (a clear error when it is missing or not a TFLite model)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; write it with `python -m helpers.steps.export`.")
        return cls(path.read_bytes(), name=str(path))

    def __call__(self, inputs: np.ndarray, training: bool = False) -> dict[str, np.ndarray]:
        """Outputs by name for a float32 batch (any batch size)."""
        return self._runner(**{self._input: np.asarray(inputs, np.float32)})

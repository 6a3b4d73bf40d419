"""The released models' file names, and a check that they are there, without importing TensorFlow.

The command line checks its inputs before TensorFlow's start-up (seconds): a missing model folder or
photo is answered at once.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from helpers.app import lite

if TYPE_CHECKING:
    import keras

READER_FILE = "number_reader.keras"
LOCALIZER_FILE = "number_localizer.keras"
DETECTOR_FILE = "number_detector.keras"
SETTINGS_FILE = "number_reader.json"
RUNTIMES = ("keras", *(f"tflite-{variant}" for variant in lite.VARIANTS))


def lite_file(keras_file: str, variant: str) -> str:
    """The name of a model's TensorFlow Lite export: number_reader.keras -> number_reader.float16.tflite."""
    return keras_file.replace(".keras", f".{variant}.tflite")


def model_files(runtime: str = "keras") -> tuple[str, str, str]:
    """(reader, localizer, detector) file names for a runtime; ValueError for an unknown one."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}.")
    names = (READER_FILE, LOCALIZER_FILE, DETECTOR_FILE)
    return names if runtime == "keras" else tuple(lite_file(name, runtime.split("-")[1]) for name in names)


def check_models(folder: Path, runtime: str = "keras") -> None:
    """Raise FileNotFoundError, saying how to get them, when a file the runtime needs is not in `folder`."""
    folder = Path(folder)
    missing = [name for name in (*model_files(runtime), SETTINGS_FILE) if not (folder / name).exists()]
    if not missing:
        return
    if runtime != "keras" and (folder / READER_FILE).exists():
        hint = "write them from the Keras models there with `python -m helpers.steps.export`"
    else:
        hint = ("a clone of the repository has them in models/; `bash scripts/report.sh` trains and writes them "
                "(a full run; the README gives its time); --models or DIGITS_MODELS_DIR "
                "points at another folder")
    raise FileNotFoundError(f"{', '.join(missing)} not found in {folder}: {hint}.")


def save_for_inference(model: keras.Model, path: Path) -> Path:
    """Save `model` without its optimizer state (the released models' form); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _inference_copy(model).save(path)
    return path


def _inference_copy(model: keras.Model) -> keras.Model:
    """The model without its optimizer (a third of the file size with Adam's slots), same weights."""
    if getattr(model, "optimizer", None) is None:
        return model
    copy = type(model).from_config(model.get_config())    # uncompiled (keras.models.clone_model keeps the optimizer)
    copy.set_weights(model.get_weights())
    return copy

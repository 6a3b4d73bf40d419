"""The run's configuration: every budget and setting the report trains with, full and fast, in one place.

The notebook picks `for_run()` (the full run, or the fast one under $DIGITS_FAST=1); experiments,
scripts and tests change a copy with `dataclasses.replace` instead of repeating numbers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from helpers.core import paths

SEED = 42   # Python, NumPy and TensorFlow seeds; data splits and generated sets derive theirs from it
# Goodfellow et al.'s operating point: the share of answers kept, most confident first, at this accuracy ("coverage"),
# and the accuracy the Step 3 crop reader's unsure threshold keeps on the real validation photos.
ACCURACY_TARGET = 0.98
STRICT_ACCURACY_TARGET = 0.995   # coverage at a stricter accuracy, for readers that keep every answer at 98%


@dataclass(frozen=True)
class Step1Config:
    """Step 1: synthetic MNIST numbers; three designs compared at one budget, the best one continued."""

    batch_size: int = 32
    learning_rate: float = 2e-3
    compare_epochs: int = 2          # the designs' comparison: epochs x steps each
    compare_steps: int = 400
    epochs: int = 10                 # the chosen design's continuation
    steps_per_epoch: int = 1000
    validation_digits: int = 5000    # MNIST training digits held out for validation numbers
    val_count: int = 3000            # validation numbers that pick the best epoch
    read_val_count: int = 10000      # validation numbers that pick the reading (shifts, CTC vote)
    test_count: int = 10000
    length_weights: tuple[int, ...] = (1, 2, 3, 4, 5)   # chances of training lengths 1-5
    dropout: float = 0.0
    top_convs: int = 1
    pool_first: bool = True
    shift_options: tuple[tuple[int, ...], ...] = ((0,), (0, -3, 3), (0, -2, 2, -4, 4))
    ctc_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)

    @property
    def model_args(self) -> dict:
        """Arguments of `models.DESIGNS[...].build` shared by the three designs."""
        return {"dropout": self.dropout, "top_convs": self.top_convs, "pool_first": self.pool_first}


@dataclass(frozen=True)
class ReaderSetting:
    """One Step 2 reader setting of the exploration (Q5): a trunk and how it is trained."""

    name: str
    convs_per_block: int = 2
    random_crop: bool = True
    learning_rate: float | None = None   # None: the step's learning rate
    change: str = ""                     # how it differs from the deeper trunk, in words (Q5 weighs each change)

    @property
    def model_args(self) -> dict:
        """Arguments of the attention design's `build` for 54x54 colour crops."""
        return {"filters": (32, 64, 128), "convs_per_block": self.convs_per_block, "top_convs": 1, "dropout": 0.2}


DEEPER = ReaderSetting("deeper: 2 convs per block")   # the trunk the other settings vary (experiments start here)
STEP2_SETTINGS = (ReaderSetting("Step 1's trunk (1 conv per block)", convs_per_block=1,
                                change="one convolution per block instead of two"),
                  DEEPER,
                  ReaderSetting("deeper, no random crops", random_crop=False,
                                change="centred training windows instead of random ones"),
                  ReaderSetting("deeper, learning rate 5e-3", learning_rate=5e-3,
                                change="a learning rate of 5e-3 instead of 2e-3"))


@dataclass(frozen=True)
class Step2Config:
    """Step 2: the reader of number crops, on the rendered stand-in plus real SVHN photos."""

    standin_train: int = 24000       # rendered photos in the stand-in's splits
    standin_test: int = 4000
    val_count: int = 1500            # stand-in training numbers held out for validation
    batch_size: int = 64
    learning_rate: float = 2e-3
    epochs: int = 4                  # every setting of the exploration: epochs x steps from scratch
    steps_per_epoch: int = 200
    box_jitter: float = 0.15         # training boxes rescaled and shifted by up to 15%
    real_share: float = 0.25         # share of the fine-tuning rows that are real SVHN photos
    real_epochs: int = 6             # fine-tuning with the real photos mixed in, at a quarter of the rate
    real_steps: int = 100
    real_rate_scale: float = 0.25    # the fine-tuning's learning rate, as a share of the step's
    # How the stand-in is drawn (`street_numbers.StreetConfig`): of the ablation's variants (experiments/README.md),
    # many fonts, clutter and lone zeros with hand-set framing read the most real Chars74K digits; SVHN's framing
    # and the "look" changes read fewer, so they stay off.
    standin_geometry: str = "hand"
    standin_look: bool = False
    settings: tuple[ReaderSetting, ...] = STEP2_SETTINGS   # the first is Step 1's trunk, Q6's starting point

    @property
    def counts(self) -> dict[str, int]:
        """Photos per stand-in split, as `street_numbers.standin_dataset` takes them."""
        return {"train": self.standin_train, "test": self.standin_test}

    def setting(self, name: str) -> ReaderSetting:
        """The exploration's setting called `name`."""
        for setting in self.settings:
            if setting.name == name:
                return setting
        raise ValueError(f"no Step 2 setting {name!r}; choose one of {', '.join(s.name for s in self.settings)}.")


@dataclass(frozen=True)
class Step4Config:
    """Step 4: the localizer, its real fine-tuning, and the reader's adaptation to found boxes."""

    blank_train: int = 2000          # rendered scenes without a number (a tenth of them for validation)
    blank_test: int = 400
    batch_size: int = 64
    learning_rate: float = 2e-3
    epochs: int = 16
    steps_per_epoch: int = 140
    real_epochs: int = 6             # the localizer's fine-tuning with real photos mixed in
    real_steps: int = 100
    real_rate_scale: float = 0.25    # its learning rate, as a share of the step's
    pool_first: bool = True          # the localizer's trunk pools before batch norm and ReLU (faster on a CPU)
    tune_epochs: int = 4             # the reader's adaptation, after Step 2's real fine-tuning
    tune_steps: int = 100
    tight: float = 0.2               # share of training photos cropped to the number itself
    zoom_out: float = 0.5            # share of the rest pasted small into a wider scene


@dataclass(frozen=True)
class DetectorConfig:
    """Step 4's digit detector: random windows of the stand-in, real SVHN train 1-200 and the empty scenes."""

    batch_size: int = 16
    learning_rate: float = 2e-3
    epochs: int = 6                  # every epoch runs; the best mean IoU on real validation is kept
    # 1,200 steps an epoch, not 600: the first number's mean IoU on real validation 0.657 against 0.611, and 3 more of
    # the 56 photos read by the detector alone (experiments/digit_detector.py, session 25); a wider trunk did less.
    steps_per_epoch: int = 1200
    real_repeats: int = 40           # real train photos repeated, about a quarter of the rows
    close: float = 0.3               # share of photos cut close around their number first
    dtype: str = "mixed_bfloat16"    # trunk in bfloat16: about twice as fast on this CPU, read in float32
    filters: tuple[int, int, int, int] = (16, 32, 64, 96)   # trunk widths at 1/2, 1/4, 1/8 and 1/16 of the pixels
    head: int = 48                   # width of the features both heads read


@dataclass(frozen=True)
class ReaderConfig:
    """How the released reader reads a photo (saved with the models, read back by `NumberReader.load`)."""

    refine: int = 2                  # extra localizer passes, each on the previous box grown by `refine_growth`
    refine_growth: float = 0.6       # of the box's size, about its centre (0.3 of it on every side)
    scales: tuple[float, ...] = (0.9, 1.1)   # box scales whose readings are averaged
    whole_photo: bool = True         # also read the whole photo when it is number-sized
    # A number at most 15% of the photo's height is at most 10 px tall at the localizer's 64x64 input (less in
    # a wide photo), too small for its box: there the digit detector's box is read instead.
    route: float = 0.15
    pad_edges: bool = True           # a box past the photo's edge is filled with its edge pixels, not cut
    # Mean digit-centre scores tried for a detector's number to count; the one that reads real validation photos and
    # scenes without a number best is kept (`NumberReader.min_found_chosen`).
    found_scores: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
    sure_precision: float = 0.97     # a "sure" answer is right at least this often ...
    sure_level: float = 0.95         # ... with this probability, on photos like the real validation ones


@dataclass(frozen=True)
class RunConfig:
    """Everything one run of the report trains and reads with."""

    fast: bool = False
    seed: int = SEED
    step1: Step1Config = Step1Config()
    step2: Step2Config = Step2Config()
    step4: Step4Config = Step4Config()
    detector: DetectorConfig = DetectorConfig()
    reader: ReaderConfig = ReaderConfig()

    def as_dict(self) -> dict:
        """Plain JSON-ready form, for results/metrics.json."""
        return dataclasses.asdict(self)


FULL = RunConfig()
# Tiny budgets for CI and smoke runs: every cell runs, no figure means anything.
FAST = RunConfig(
    fast=True,
    step1=dataclasses.replace(FULL.step1, epochs=2, steps_per_epoch=12, compare_epochs=1, compare_steps=12,
                              val_count=300, read_val_count=300, test_count=1000),
    step2=dataclasses.replace(FULL.step2, standin_train=600, standin_test=200, val_count=100, batch_size=32, epochs=2,
                              steps_per_epoch=8, real_epochs=1, real_steps=4),
    step4=dataclasses.replace(FULL.step4, blank_train=40, blank_test=20, batch_size=16, epochs=1, steps_per_epoch=6,
                              tune_epochs=1, tune_steps=4, real_epochs=1, real_steps=4),
    detector=dataclasses.replace(FULL.detector, batch_size=8, epochs=1, steps_per_epoch=4, real_repeats=1))


def for_run(fast: bool | None = None) -> RunConfig:
    """The full configuration, or the fast one when `fast` (default: $DIGITS_FAST=1)."""
    return FAST if (paths.fast_mode() if fast is None else fast) else FULL

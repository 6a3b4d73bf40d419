"""Model factories: a multi-head CNN (Goodfellow et al. 2013) and a CTC/recurrent alternative."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import layers, ops

from helpers.core.labels import NUM_CLASSES, split_targets
from helpers.modeling import metrics


def _dropout(x, rate: float, name: str, kind=layers.Dropout):
    """A `kind` dropout layer at `rate`, or nothing when it is 0 (no inert layers in the summary)."""
    return kind(rate, name=name)(x) if rate else x


def _conv_trunk(inputs, filters: tuple[int, ...], convs_per_block: int | tuple[int, ...], dropout: float,
                top_convs: int = 0, pool_first: bool = False, input_scale: float = 1.0):
    """Rescale raw 0-255 pixels, then blocks of conv-BN-ReLU, each ending in 2x2 max pooling.

    `convs_per_block` is one count for every block or one per block: (1, 2, 2) deepens only the
    blocks at a quarter and a sixteenth of the pixels, where a convolution costs far less memory traffic.

    `top_convs` extra conv-BN-ReLU layers after the last pooling deepen the trunk cheaply: at the
    lowest resolution they cost little but widen every feature's view to whole digits.
    `pool_first` pools each block's last convolution *before* its batch norm and ReLU: those two
    are memory-bound, and on a 2-core CPU running them on a quarter of the pixels makes a training
    step about a quarter faster (ReLU commutes with max pooling; BN then normalises pooled values).
    `input_scale` < 1 shrinks the image (antialiased bilinear) before the first convolution: every
    convolution then costs input_scale^2 as much, which buys more training steps in the same minutes.
    """
    counts = (convs_per_block,) * len(filters) if isinstance(convs_per_block, int) else tuple(convs_per_block)
    if len(counts) != len(filters) or min(counts) < 1:
        raise ValueError(f"convs_per_block must be a positive count or one per block ({len(filters)}), "
                         f"got {convs_per_block}.")
    if not 0 < input_scale <= 1:
        raise ValueError(f"input_scale must be in (0, 1], got {input_scale}.")
    x = layers.Rescaling(1.0 / 255.0, name="rescale_0_255_to_0_1")(inputs)
    if input_scale != 1:
        rows, columns = (max(round(side * input_scale), 1) for side in inputs.shape[1:3])
        x = layers.Resizing(rows, columns, interpolation="bilinear", antialias=True, name="downscale")(x)
    for block, (width, convs) in enumerate(zip(filters, counts), start=1):
        for conv in range(1, convs + 1):
            # No bias: batch normalisation's own shift makes it redundant.
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{block}_conv{conv}")(x)
            if pool_first and conv == convs:
                x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
            x = layers.BatchNormalization(name=f"block{block}_bn{conv}")(x)
            x = layers.ReLU(name=f"block{block}_relu{conv}")(x)
        if not pool_first:
            x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        x = _dropout(x, dropout / 2, f"block{block}_dropout", layers.SpatialDropout2D)
    for conv in range(1, top_convs + 1):
        x = layers.Conv2D(filters[-1], 3, padding="same", use_bias=False, name=f"top_conv{conv}")(x)
        x = layers.BatchNormalization(name=f"top_bn{conv}")(x)
        x = layers.ReLU(name=f"top_relu{conv}")(x)
    return x


def _column_reader(trunk, rnn_units: int, dropout: float, skip: bool = False):
    """Read the trunk's feature map column by column (left to right and back) with a BiGRU.

    With `skip`, each column's own features are concatenated to the GRU's output, so what a glyph
    looks like reaches the heads directly, not only through the GRU's small state.
    """
    height, width, channels = trunk.shape[1:]
    x = layers.Permute((2, 1, 3), name="columns_first")(trunk)
    x = layers.Reshape((width, height * channels), name="columns")(x)
    x = layers.Dense(rnn_units * 2, activation="relu", name="column_features")(x)
    x = _dropout(x, dropout, "column_dropout")
    read = layers.Bidirectional(layers.GRU(rnn_units, return_sequences=True), name="bi_gru")(x)
    return layers.Concatenate(name="column_skip")([x, read]) if skip else read


def build_model(input_shape: tuple[int, int, int] = (32, 128, 1), *, max_digits: int = 5,
                filters: tuple[int, ...] = (32, 64, 128), convs_per_block: int | tuple[int, ...] = 1,
                top_convs: int = 0, dense_units: int = 256, dropout: float = 0.3, pool_first: bool = False,
                input_scale: float = 1.0, name: str = "multihead_cnn") -> keras.Model:
    """Conv trunk + one dense layer, then a length softmax and one softmax per digit position.

    Input: raw pixel values 0-255, shape `input_shape`. Outputs: a dict with "length"
    (max_digits + 1 classes: 0..max_digits digits) and "digit_1".."digit_N" (0-9 and blank=10).
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}.")
    if not filters or min(filters) < 1 or not 0 <= dropout < 1:
        raise ValueError(f"need at least one positive filter count and 0 <= dropout < 1, got "
                         f"filters={filters}, dropout={dropout}.")
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_trunk(inputs, filters, convs_per_block, dropout, top_convs, pool_first, input_scale)
    outputs = {}
    # Flatten keeps *where* each feature is, which tells the position heads apart.
    x = layers.Flatten(name="flatten")(x)
    x = _dropout(x, dropout, "flatten_dropout")
    x = layers.Dense(dense_units, activation="relu", name="shared_features")(x)
    x = _dropout(x, dropout, "features_dropout")
    outputs["length"] = layers.Dense(max_digits + 1, activation="softmax", name="length")(x)
    for position in range(1, max_digits + 1):
        outputs[f"digit_{position}"] = layers.Dense(
            NUM_CLASSES, activation="softmax", name=f"digit_{position}")(x)
    return keras.Model(inputs, outputs, name=name)


def build_ctc_model(input_shape: tuple[int, int, int] = (32, 128, 1), *,
                    filters: tuple[int, ...] = (32, 64, 128), convs_per_block: int | tuple[int, ...] = 1,
                    top_convs: int = 0, rnn_units: int = 64, dropout: float = 0.3, pool_first: bool = False,
                    input_scale: float = 1.0, name: str = "ctc_crnn") -> keras.Model:
    """Conv trunk read column by column by a bidirectional GRU, trained with CTC.

    Emits per-column logits over 0-9 plus the CTC blank (index 10); the digits come out one at a
    time, so the number of digits needs no separate head.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = _column_reader(_conv_trunk(inputs, filters, convs_per_block, dropout, top_convs, pool_first, input_scale),
                       rnn_units, dropout)
    logits = layers.Dense(NUM_CLASSES, name="column_logits")(x)
    return keras.Model(inputs, logits, name=name)


@keras.saving.register_keras_serializable(package="helpers")
class CTCLoss(keras.losses.Loss):
    """CTC loss on label rows [length, d1, ..., dN] (BLANK-padded) and per-column logits."""

    def __init__(self, name: str = "ctc_loss", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        # TensorFlow's C++ CTC kernel (sparse labels) rather than keras.ops.ctc_loss's dense scan:
        # faster on CPU, and a number too long for the columns (e.g. "11111" over 6 columns) costs
        # nothing instead of an infinite loss. The kernel wants the blank last, which BLANK (10) is.

        y_true = tf.cast(y_true, tf.int32)
        digits = y_true[:, 1:]
        present = tf.sequence_mask(y_true[:, 0], maxlen=tf.shape(digits)[1])
        where = tf.where(present)
        labels = tf.SparseTensor(where, tf.gather_nd(digits, where), tf.shape(digits, out_type=tf.int64))
        columns = tf.fill([tf.shape(y_pred)[0]], tf.shape(y_pred)[1])
        loss = tf.compat.v1.nn.ctc_loss(labels, tf.cast(y_pred, tf.float32), columns, time_major=False,
                                        ignore_longer_outputs_than_inputs=True)
        # A path needs one column per digit plus a blank between equal neighbours.
        repeats = tf.reduce_sum(tf.cast((digits[:, 1:] == digits[:, :-1]) & present[:, 1:], tf.int32), axis=1)
        return tf.where(y_true[:, 0] + repeats <= columns, loss, tf.zeros_like(loss))


def ctc_targets(labels, max_digits: int = 5):
    """CTC models train on the label rows as they are."""
    return labels


def multihead_ctc_targets(labels, max_digits: int = 5) -> dict:
    """Targets of a multi-head model with an auxiliary CTC output: the heads' plus the label rows."""
    return {**split_targets(labels, max_digits), "column_logits": labels}


def build_attention_model(input_shape: tuple[int, int, int] = (32, 128, 1), *, max_digits: int = 5,
                          filters: tuple[int, ...] = (32, 64, 128), convs_per_block: int | tuple[int, ...] = 1,
                          top_convs: int = 0, rnn_units: int = 64, dense_units: int = 128, dropout: float = 0.2,
                          column_skip: bool = False, pool_first: bool = False, input_scale: float = 1.0,
                          name: str = "multihead_attention") -> keras.Model:
    """Multi-head reader whose digit heads each *attend* to the feature columns of their position.

    A BiGRU reads the trunk's columns (so a column can know it holds, say, the 3rd digit); head i
    scores every column with its own learned query, averages the columns with those softmax
    weights and classifies the result (0-9 or blank). The length head reads the mean column.
    An auxiliary "column_logits" output is trained with CTC so the columns learn digits early.
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}.")
    inputs = keras.Input(shape=input_shape, name="image")
    columns = _column_reader(_conv_trunk(inputs, filters, convs_per_block, dropout, top_convs, pool_first,
                                         input_scale),
                             rnn_units, dropout, skip=column_skip)
    outputs = {"column_logits": layers.Dense(NUM_CLASSES, name="column_logits")(columns)}
    summary = layers.GlobalAveragePooling1D(name="mean_column")(columns)
    summary = layers.Dense(dense_units, activation="relu", name="length_features")(summary)
    outputs["length"] = layers.Dense(max_digits + 1, activation="softmax", name="length")(summary)
    scores = layers.Dense(max_digits, name="position_scores")(columns)             # (batch, T, N)
    weights = layers.Softmax(axis=1, name="position_attention")(scores)            # over columns
    attended = layers.Dot(axes=(1, 1), name="attended_columns")([weights, columns])  # (batch, N, C)
    for position in range(1, max_digits + 1):
        picked = layers.Cropping1D((position - 1, max_digits - position), name=f"pick_{position}")(attended)
        picked = layers.Flatten(name=f"position_{position}_features")(picked)
        hidden = layers.Dense(dense_units, activation="relu", name=f"digit_{position}_hidden")(picked)
        hidden = _dropout(hidden, dropout, f"digit_{position}_dropout")
        outputs[f"digit_{position}"] = layers.Dense(NUM_CLASSES, activation="softmax",
                                                    name=f"digit_{position}")(hidden)
    return keras.Model(inputs, outputs, name=name)


def learning_rate_schedule(peak: float, total_steps: int, warmup_steps: int = 0):
    """Linear warm-up to `peak`, then cosine decay to zero at `total_steps`."""
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else peak, decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=peak if warmup_steps else None, warmup_steps=warmup_steps)


@keras.saving.register_keras_serializable(package="helpers")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy on integer labels with label smoothing (Keras' sparse loss has no smoothing)."""

    def __init__(self, label_smoothing: float = 0.0, name: str = "smoothed_sparse_crossentropy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if not 0 <= label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        classes = ops.shape(y_pred)[-1]
        one_hot = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def compile_multihead(model: keras.Model, learning_rate, ctc_weight: float = 1.0,
                      label_smoothing: float = 0.0, ema_momentum: float = 0.0,
                      weight_decay: float = 0.0) -> keras.Model:
    """Adam on the summed cross-entropies of the length head and every digit head (+ CTC if any).

    `ctc_weight` scales the auxiliary CTC loss, which is there to teach the columns digits early;
    `label_smoothing` > 0 moves that share of each head's target onto the other classes;
    `ema_momentum` > 0 keeps an exponential moving average of the weights (Polyak averaging), which
    `training.train_or_load` then validates and saves instead of the raw weights; `weight_decay` > 0
    switches to AdamW, which shrinks every weight by that share of the learning rate each step.
    """
    if not 0 <= ema_momentum < 1 or weight_decay < 0:
        raise ValueError(f"ema_momentum must be in [0, 1) and weight_decay >= 0, got {ema_momentum}, {weight_decay}.")
    head_loss = (lambda: SmoothedSparseCrossentropy(label_smoothing)) if label_smoothing else \
        keras.losses.SparseCategoricalCrossentropy
    losses = {name: CTCLoss() if name == "column_logits" else head_loss() for name in model.output_names}
    weights = {name: ctc_weight if name == "column_logits" else 1.0 for name in model.output_names}
    averaging = dict(use_ema=ema_momentum > 0, ema_momentum=ema_momentum or 0.99)
    optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay, **averaging) if weight_decay else \
        keras.optimizers.Adam(learning_rate, **averaging)
    model.compile(optimizer=optimizer, loss=losses, loss_weights=weights)
    return model


def compile_ctc(model: keras.Model, learning_rate) -> keras.Model:
    """Adam on the CTC loss."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=CTCLoss())
    return model


@dataclass(frozen=True)
class Design:
    """Everything that differs between two ways of reading a number with the same conv trunk."""

    key: str
    name: str
    build: Callable[..., keras.Model]
    compile: Callable[[keras.Model, object], keras.Model]
    decode: Callable
    targets: Callable


DESIGNS = {
    "multihead": Design("multihead", "multi-head CNN, flattened features (Goodfellow et al.)", build_model,
                        compile_multihead, metrics.decode_multihead, split_targets),
    "attention": Design("attention", "multi-head CNN + BiGRU, each digit head attends to its column",
                        build_attention_model, compile_multihead, metrics.decode_multihead,
                        multihead_ctc_targets),
    "ctc": Design("ctc", "CNN + BiGRU with CTC (digits emitted column by column)", build_ctc_model, compile_ctc,
                  metrics.decode_ctc, ctc_targets),
}


def describe(model: keras.Model) -> str:
    """A Markdown description of a model built by this module, read off its layers."""
    names = {layer.name for layer in model.layers}
    convs = [layer for layer in model.layers if layer.name.startswith("block") and isinstance(layer, layers.Conv2D)]
    blocks = sorted({layer.name.split("_")[0] for layer in convs}, key=lambda name: int(name[5:]))
    widths = [next(layer.filters for layer in convs if layer.name.startswith(f"{b}_")) for b in blocks]
    per_block = [sum(layer.name.startswith(f"{b}_") for layer in convs) for b in blocks]
    conv_text = ("one 3x3 convolution" if set(per_block) == {1} else
                 f"{per_block[0]} 3x3 convolutions" if len(set(per_block)) == 1 else
                 f"{' / '.join(map(str, per_block))} 3x3 convolutions (block by block)")
    trunk_out = model.get_layer([n for n in (l.name for l in model.layers) if n.endswith("_pool")][-1]).output.shape
    order = [layer.name for layer in model.layers]
    pool_first = order.index("block1_pool") < order.index([n for n in order if n.startswith("block1_bn")][-1])
    block = ("2x2 max pooling, then batch normalisation and ReLU on the pooled map (a quarter of the "
             "pixels, so those two layers do a quarter of the work)" if pool_first
             else "batch normalisation, ReLU, 2x2 max pooling")
    lines = [f"* input: a {model.input.shape[1]}x{model.input.shape[2]} grey image, raw pixels 0-255, "
             "rescaled to 0-1 inside the model;"]
    if "downscale" in names:
        shrunk = model.get_layer("downscale").output.shape
        share = shrunk[1] * shrunk[2] / (model.input.shape[1] * model.input.shape[2])
        lines.append(f"* shrunk inside the model to {shrunk[1]}x{shrunk[2]} (antialiased bilinear), so every "
                     f"convolution costs {share:.0%} as much, which buys more training steps in the same minutes;")
    lines.append(f"* {len(blocks)} convolution blocks with {', '.join(map(str, widths))} filters, each "
                 f"{conv_text} (no bias), {block}{' and spatial dropout' if 'block1_dropout' in names else ''}, "
                 f"giving a {trunk_out[1]}x{trunk_out[2]} map of {trunk_out[3]} features;")
    top = [layer for layer in model.layers if layer.name.startswith("top_conv")]
    if top:
        lines.append(f"* then {len(top)} more 3x3 convolution{'s' if len(top) > 1 else ''} with BN and ReLU on that "
                     "map, cheap at this resolution, which lets every feature see a whole digit and its neighbours;")
    if "bi_gru" in names:
        gru = model.get_layer("bi_gru").forward_layer.units
        skip = "; the projected columns are passed on beside it (a skip connection)" if "column_skip" in names else ""
        lines.append(f"* the map is cut into its {trunk_out[2]} columns, each projected to "
                     f"{model.get_layer('column_features').units} ReLU units and read by a bidirectional GRU "
                     f"({gru} units each way), so every column's output knows its neighbours{skip};")
    if "position_scores" in names:
        hidden = model.get_layer("digit_1_hidden").units
        lines += [f"* each digit head scores the columns with its own learned query, turns the scores into "
                  f"softmax weights over the {trunk_out[2]} columns and classifies their weighted mean "
                  f"through {hidden} ReLU units into 11 classes (0-9, blank); the length head reads the "
                  f"mean column through {model.get_layer('length_features').units} units into "
                  f"{model.get_layer('length').units} classes (0-{model.get_layer('length').units - 1} digits);",
                  "* an extra 11-way output per column is trained with CTC loss next to the heads' "
                  "cross-entropies (deep supervision); when a number is read it may also vote (see below);"]
    elif "flatten" in names:
        lines.append(f"* the map is flattened (keeping *where* each feature is, which tells the positions "
                     f"apart), then dropout and {model.get_layer('shared_features').units} ReLU units shared "
                     f"by a length softmax ({model.get_layer('length').units} classes) and one 11-way "
                     "softmax per digit position (0-9, blank);")
    else:
        lines.append("* each column emits 11 logits (0-9 and the CTC blank), decoded greedily;")
    lines.append(f"* {model.count_params():,} parameters in all.")
    return "\n".join(lines)


def compact_table(named: dict[str, keras.Model]) -> str:
    """One Markdown row per model: its input, its weighted layers by kind, its outputs and parameters."""
    rows = ["| model | input | layers with weights | outputs | parameters |", "|---|---|---|---|---|"]
    for name, model in named.items():
        shape = "x".join("any" if d is None else str(d) for d in model.inputs[0].shape[1:])
        kinds: dict[str, int] = {}
        filters = [str(layer.filters) for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        for layer in model.layers:
            if layer.count_params() and not isinstance(layer, keras.layers.BatchNormalization):
                kind = type(layer).__name__
                if isinstance(layer, keras.layers.Bidirectional):
                    kind = f"Bidirectional {type(layer.forward_layer).__name__}"
                kinds[kind] = kinds.get(kind, 0) + 1
        outputs = model.output if isinstance(model.output, dict) else {"output": model.output}
        sizes: dict[str, list[str]] = {}   # digit_1..digit_5 of one size read as one entry
        for key, tensor in outputs.items():
            sizes.setdefault("x".join("any" if d is None else str(d) for d in tensor.shape[1:]), []).append(key)
        described = ", ".join(f"{keys[0]}...{keys[-1]} ({size} each)" if len(keys) > 1 else f"{keys[0]} ({size})"
                              for size, keys in sizes.items())
        layers_text = ", ".join(f"{count} {kind}" + (f" ({', '.join(filters)} filters)" if kind == "Conv2D" else "")
                                for kind, count in kinds.items())
        rows.append(f"| {name} | {shape} | {layers_text} | {described} | {model.count_params():,} |")
    return "\n".join(rows)

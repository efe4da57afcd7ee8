"""The training configuration: a tree of dataclasses with the paper's defaults (§3.5, §4.1).

A configuration is written as YAML or JSON whose nesting follows the dataclasses below, e.g.

    data:
      folders: [/music/train]
    bridge:
      t_range: [0.5, 1.0]
    optimizer:
      learning_rate: 8.0e-5

and any value can be overridden on the command line with `key.sub=value` (the value is read as
YAML: `data.folders=[/a,/b]`, `ema.enabled=true`). Unknown keys and values of the wrong type
are refused with a message that names the key. `docs/training.md` describes every knob.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from a2sb.degradations import EndpointFill, TrainingMaskSampler
from a2sb.errors import A2SBInputError
from a2sb.io.audio import AUDIO_EXTENSIONS
from a2sb.pipelines.pipeline_checks import checked_sampling_defaults
from a2sb.training.config_values import config_from_dict

SEGMENT_SAMPLES = 130_560
"""Samples of one training segment: 255 hops of 512, so 256 STFT frames at 44.1 kHz (§3.5)."""


@dataclass
class DataConfig:
    """Where the training music is and how segments are cut from it.

    Args:
        folders: folders searched recursively for audio files with `extensions`.
        manifest: CSV file listing audio files: `path[,duration[,bandwidth_hz]]`, or with a
            header row naming the columns `path` (required), `duration` (seconds) and
            `bandwidth_hz`. Relative paths are relative to the manifest's folder.
        extensions: file extensions (case-insensitive) that `folders` are searched for.
        segment_samples: samples per training segment at `sampling_rate`; 130,560 = 256
            frames at hop 512. Its frame count must be a multiple of 2**levels of the UNet.
        sampling_rate: the model's audio rate; files at other rates are resampled (soxr).
        channels: "mix" averages the channels of a multichannel file, "random" picks one
            channel per segment.
        gain_db_range: `[low, high]` in dB: each segment is scaled by a gain drawn uniformly
            from it; None for no gain augmentation.
        short_files: files shorter than one segment are skipped ("skip") or zero-padded at
            the end ("pad").
        bandwidth_loss_mask: ignore, in the loss, the rows above each file's true bandwidth
            (the manifest's `bandwidth_hz` column; files without one count fully) — the
            recipe for band-limited lossy sources.
        num_workers: DataLoader worker processes per training process (0 reads in the main
            process).
    """

    folders: list[str] = field(default_factory=list)
    manifest: str | None = None
    extensions: list[str] = field(default_factory=lambda: list(AUDIO_EXTENSIONS))
    segment_samples: int = SEGMENT_SAMPLES
    sampling_rate: int = 44100
    channels: Literal["mix", "random"] = "mix"
    gain_db_range: tuple[float, float] | None = None
    short_files: Literal["skip", "pad"] = "skip"
    bandwidth_loss_mask: bool = False
    num_workers: int = 2

    def __post_init__(self) -> None:
        _require(self.segment_samples > 0, "data.segment_samples must be positive")
        _require(self.sampling_rate > 0, "data.sampling_rate must be positive")
        _require(self.num_workers >= 0, "data.num_workers must be 0 or more")
        if self.gain_db_range is not None:
            low, high = self.gain_db_range
            _require(low <= high, f"data.gain_db_range {list(self.gain_db_range)} is reversed")

    @property
    def min_duration_s(self) -> float:
        """Files shorter than this are skipped: one segment, or 0 when short files are padded."""
        return self.segment_samples / self.sampling_rate if self.short_files == "skip" else 0.0


@dataclass
class RepresentationConfig:
    """The spectrogram the model sees (paper §3.1, §4.5); its rate is `data.sampling_rate`.

    Args:
        kind: "factorized" (|S|^0.25, cos θ, sin θ: 3 channels) or "complex" (Re, Im: 2).
        n_fft: STFT size; n_fft / 2 frequency rows.
        hop_length: samples between frames.
        magnitude_power: p of |S|^p (factorized only).
    """

    kind: Literal["factorized", "complex"] = "factorized"
    n_fft: int = 2048
    hop_length: int = 512
    magnitude_power: float = 0.25


@dataclass
class ModelConfig:
    """The network to train.

    Args:
        unet: `RoPEUNet2DModel` arguments; `{}` is the paper's 565M-parameter network.
            `in_channels`/`out_channels` default to the representation's channels.
        init_from: start from these weights instead: a pipeline folder (`model_index.json`),
            a `RoPEUNet2DModel` folder, or an `A2SBPartitionedModel` folder (the partition
            holding `bridge.t_range` is taken). `unet` is then ignored.
        gradient_checkpointing: recompute activations in the backward pass (less memory,
            about a third more compute).
        sees_degraded: the network also sees the degraded endpoint x1, concatenated to x_t
            along the channels (as I2SB's `cond_x1`): it takes twice the representation's
            channels.
    """

    unet: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None
    gradient_checkpointing: bool = False
    sees_degraded: bool = False


@dataclass
class BridgeConfig:
    """The Schrödinger bridge and the range of time this run trains (paper §3.3, §3.5).

    Args:
        beta_max: peak of β(t) = β_max · min(t, 1 − t)²; 1.0 for the released models.
        t_range: `[t_min, t_max)`: training times are drawn from U[t_min, t_max); `[0, 1]`
            for one model, `[0, 0.5]` / `[0.5, 1]` for the released two partitions.
        prediction_type: what the network learns to predict: "epsilon", the paper's target
            (eq. 10), or "prior_residual", x0 − x1 (with `endpoint.fill: prior` and
            `endpoint.prior_noise_std: 0`, a network at zero returns the DSP prior).
        channel_weights: the weight of each representation channel in the loss (None: all
            1). With "prior_residual", a channel of weight 0 keeps its prior: the network's
            output there starts at zero and gets no gradient (a2sb-small v2 learns the
            magnitude and keeps the phase of its prior: `[1, 0, 0]`).
    """

    beta_max: float = 1.0
    t_range: tuple[float, float] = (0.0, 1.0)
    prediction_type: Literal["epsilon", "prior_residual"] = "epsilon"
    channel_weights: list[float] | None = None

    def __post_init__(self) -> None:
        low, high = self.t_range
        _require(
            0.0 <= low < high <= 1.0,
            f"bridge.t_range {list(self.t_range)} must satisfy 0 <= t_min < t_max <= 1",
        )
        _require(
            self.channel_weights is None
            or (
                all(weight >= 0 for weight in self.channel_weights)
                and any(weight > 0 for weight in self.channel_weights)
            ),
            f"bridge.channel_weights {self.channel_weights} must be >= 0, one at least > 0",
        )


@dataclass
class OptimizerConfig:
    """Optimizer and gradient clipping (paper §4.1: RAdam-class, lr 8e-5, clip 0.5).

    Args:
        name: "radam", "adamw" or "adam".
        learning_rate: peak learning rate.
        weight_decay: L2 (radam, adam) or decoupled (adamw) weight decay.
        betas: Adam's (β1, β2).
        eps: Adam's ε.
        warmup_steps: linear warm-up of the learning rate from 0 over this many steps.
        max_grad_norm: clip the global gradient norm to this value; 0 for no clipping.
    """

    name: Literal["radam", "adamw", "adam"] = "radam"
    learning_rate: float = 8e-5
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_steps: int = 0
    max_grad_norm: float = 0.5

    def __post_init__(self) -> None:
        _require(self.learning_rate > 0, "optimizer.learning_rate must be positive")
        _require(self.warmup_steps >= 0, "optimizer.warmup_steps must be 0 or more")
        _require(self.max_grad_norm >= 0, "optimizer.max_grad_norm must be 0 or more")


@dataclass
class EMAConfig:
    """An exponential moving average of the weights; the saved pipeline then holds it.

    Args:
        enabled: keep and save the average.
        decay: the average's decay, reached after a warm-up of (1 + n) / (10 + n).
    """

    enabled: bool = False
    decay: float = 0.9999

    def __post_init__(self) -> None:
        _require(0.0 < self.decay < 1.0, f"ema.decay {self.decay} must lie in (0, 1)")


@dataclass
class CheckpointConfig:
    """Checkpoints for exact resumption, each with a ready pipeline beside the state.

    Args:
        interval_steps: save every this many optimizer steps (0: only at the end).
        total_limit: keep at most this many checkpoints, deleting the oldest; None keeps all.
        resume_from: "latest" (the newest checkpoint of `output_dir`, or a fresh start if
            there is none), a checkpoint folder, or None for a fresh start.
    """

    interval_steps: int = 1000
    total_limit: int | None = 3
    resume_from: str | None = None

    def __post_init__(self) -> None:
        _require(self.interval_steps >= 0, "checkpointing.interval_steps must be 0 or more")
        _require(
            self.total_limit is None or self.total_limit >= 1,
            "checkpointing.total_limit must be at least 1, or null to keep every checkpoint",
        )


@dataclass
class ValidationConfig:
    """Loss at fixed times on fixed segments, masks and noise, so that runs compare.

    Args:
        interval_steps: validate every this many steps (0: never).
        folders: validation audio folders; with neither `folders` nor `manifest`, segments of
            the training files are used (not held out).
        manifest: validation manifest CSV (same format as `data.manifest`).
        num_segments: fixed validation segments.
        t_values: times at which the loss is measured; None for five evenly spaced times
            inside `bridge.t_range`.
        seed: seed of the segments, masks and noise.
        restored_clips: also restore this many of the segments with the current weights
            (bandwidth extension, the evaluation protocol) and report their LSD and SiSpec;
            0 for none. Needs a model for all t (`bridge.t_range` [0, 1]).
        restoration_steps: sampling steps of those restorations.
        restoration_cutoff_hz: their bandwidth-extension cutoff.
    """

    interval_steps: int = 1000
    folders: list[str] = field(default_factory=list)
    manifest: str | None = None
    num_segments: int = 8
    t_values: list[float] | None = None
    seed: int = 1234
    restored_clips: int = 0
    restoration_steps: int = 8
    restoration_cutoff_hz: float = 4000.0

    def __post_init__(self) -> None:
        _check_seed("validation.seed", self.seed)
        _require(self.interval_steps >= 0, "validation.interval_steps must be 0 or more")
        _require(self.num_segments >= 1, "validation.num_segments must be at least 1")
        _require(
            0 <= self.restored_clips <= self.num_segments,
            f"validation.restored_clips {self.restored_clips} must lie in [0, num_segments]",
        )
        _require(self.restoration_steps >= 1, "validation.restoration_steps must be at least 1")
        _require(
            self.t_values is None or all(0.0 < t <= 1.0 for t in self.t_values),
            f"validation.t_values {self.t_values} must lie in (0, 1] (the target divides by "
            "sigma_t, which is 0 at t = 0)",
        )


@dataclass
class TrackingConfig:
    """Where metrics go.

    Args:
        report_to: "tensorboard", "none", or "auto" (tensorboard if it is installed).
        project_name: run name of the tracker.
        log_interval_steps: log the mean training loss every this many steps.
    """

    report_to: Literal["auto", "tensorboard", "none"] = "auto"
    project_name: str = "a2sb"
    log_interval_steps: int = 10

    def __post_init__(self) -> None:
        _require(self.log_interval_steps >= 1, "tracking.log_interval_steps must be at least 1")


@dataclass
class ModelCardConfig:
    """What the README.md of the saved pipeline says.

    Args:
        license: licence identifier of the weights (Hub metadata), e.g. "cc-by-sa-4.0";
            it must respect the licences of the training music.
        data_description: the training data and its licences, in a sentence or two.
    """

    license: str = "other"
    data_description: str = ""


@dataclass
class HubConfig:
    """Upload of the final pipeline to the Hugging Face Hub.

    Args:
        push_to_hub: upload `output_dir/pipeline` at the end of training.
        hub_model_id: the repository, `user/name`.
        private: create the repository as private.
    """

    push_to_hub: bool = False
    hub_model_id: str | None = None
    private: bool = True

    def __post_init__(self) -> None:
        _require(
            not self.push_to_hub or bool(self.hub_model_id),
            "hub.push_to_hub needs hub.hub_model_id (the repository, e.g. user/a2sb-music)",
        )


@dataclass
class TrainingConfig:
    """Everything a training run needs; the defaults are the paper's.

    Args:
        output_dir: where checkpoints, logs and the final pipeline (`pipeline/`) go.
        seed: seed of the initial weights, the data stream and every random draw.
        max_steps: optimizer steps to train for.
        batch_size: segments per process and micro-batch. The paper's total batch
            (processes × batch_size × gradient_accumulation_steps) is 320 for pre-training and
            64 for fine-tuning.
        gradient_accumulation_steps: micro-batches per optimizer step.
        mixed_precision: "no" (fp32, as for fine-tuning), "bf16" (pre-training) or "fp16".
        progress_bar: show a progress bar on the main process.
        sampling_defaults: what the saved pipeline samples with when not told
            (`num_inference_steps`, `window_schedule`); None: the released sampler's.
    """

    output_dir: str = "a2sb-training"
    seed: int = 0
    max_steps: int = 100_000
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    progress_bar: bool = True
    sampling_defaults: dict[str, Any] | None = None
    data: DataConfig = field(default_factory=DataConfig)
    representation: RepresentationConfig = field(default_factory=RepresentationConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    masks: TrainingMaskSampler = field(default_factory=TrainingMaskSampler)
    endpoint: EndpointFill = field(default_factory=EndpointFill)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    checkpointing: CheckpointConfig = field(default_factory=CheckpointConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    model_card: ModelCardConfig = field(default_factory=ModelCardConfig)
    hub: HubConfig = field(default_factory=HubConfig)

    def __post_init__(self) -> None:
        _check_seed("seed", self.seed)
        _require(self.max_steps >= 1, "max_steps must be at least 1")
        if self.sampling_defaults is not None:
            checked_sampling_defaults(self.sampling_defaults)
        _require(
            self.bridge.prediction_type != "prior_residual"
            or (self.endpoint.fill == "prior" and self.endpoint.prior_noise_std == 0),
            "bridge.prediction_type prior_residual predicts x0 − x1, a residual to the prior: "
            "set endpoint.fill: prior and endpoint.prior_noise_std: 0",
        )
        _require(self.batch_size >= 1, "batch_size must be at least 1")
        _require(
            self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be at least 1"
        )


def load_training_config(
    path: str | os.PathLike | None = None, overrides: Sequence[str] = ()
) -> TrainingConfig:
    """Read a YAML or JSON configuration and apply `key.sub=value` overrides.

    Args:
        path: `.yaml`, `.yml` or `.json` file; None starts from the defaults.
        overrides: `key.sub=value` strings; each value is parsed as YAML.

    Returns:
        The checked configuration.

    Raises:
        A2SBInputError: the file is missing or malformed, a key is unknown, or a value has the
            wrong type or range.
    """
    values = {} if path is None else _read_config_file(Path(path))
    for override in overrides:
        key, value = _parse_override(override)
        _set_nested(values, key, value)
    return config_from_dict(TrainingConfig, values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A configuration as plain JSON/YAML values (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_to_yaml(config: TrainingConfig) -> str:
    """The configuration as YAML text (loadable with `load_training_config`)."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


def save_training_config(config: TrainingConfig, path: str | os.PathLike) -> None:
    """Write the resolved configuration as YAML (loadable with `load_training_config`)."""
    Path(path).write_text(config_to_yaml(config))


def parse_problem(error: json.JSONDecodeError | yaml.YAMLError) -> str:
    """What a JSON or YAML parser found wrong, and where, on one line: `expected ',' or ']', but
    got '<stream end>' (line 2, column 1)`."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        mark = error.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return f"{error.problem}{where}"
    return " ".join(str(error).split())


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise A2SBInputError(f"training config {path} does not exist; check the --config path")
    text = path.read_text()
    try:
        values = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise A2SBInputError(
            f"cannot parse training config {path}: {parse_problem(error)}; fix the file"
        ) from error
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise A2SBInputError(
            f"training config {path} must hold a mapping of keys to values at the top level"
        )
    return values


MAX_TRAINING_SEED = 2**32 - 1
"""The largest run seed: Accelerate's `set_seed` seeds numpy's global generator, which takes 32
bits."""


def _check_seed(key: str, seed: int) -> None:
    _require(
        0 <= seed <= MAX_TRAINING_SEED,
        f"{key} {seed} is outside [0, {MAX_TRAINING_SEED}]; give a seed in that range",
    )


def _parse_override(override: str) -> tuple[str, Any]:
    key, separator, text = override.partition("=")
    if not separator or not key:
        raise A2SBInputError(
            f"override {override!r} is not of the form key.sub=value; write e.g. "
            "optimizer.learning_rate=1e-4"
        )
    try:
        value = _with_undecodable_bytes(yaml.safe_load(text.translate(_TO_PRIVATE_USE)))
    except yaml.YAMLError:
        value = text
    return key.strip(), value


_TO_PRIVATE_USE = {0xDC80 + byte: 0xF780 + byte for byte in range(128)}
"""A name's bytes that are not UTF-8 reach Python as the surrogates U+DC80..U+DCFF, which YAML
refuses to read; an override is read with them moved to private-use characters and put back
after (`_with_undecodable_bytes`), so that `data.folders=[caf\xe9]` names that folder."""

_FROM_PRIVATE_USE = {private: surrogate for surrogate, private in _TO_PRIVATE_USE.items()}


def _with_undecodable_bytes(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_FROM_PRIVATE_USE)
    if isinstance(value, list):
        return [_with_undecodable_bytes(item) for item in value]
    if isinstance(value, dict):
        return {key: _with_undecodable_bytes(item) for key, item in value.items()}
    return value


def _set_nested(values: dict[str, Any], dotted_key: str, value: Any) -> None:
    *parents, leaf = dotted_key.split(".")
    node = values
    for depth, part in enumerate(parents):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            path = ".".join(parents[: depth + 1])
            raise A2SBInputError(
                f"cannot override {dotted_key}: {path} is a value, not a group of keys"
            )
        node = child
    node[leaf] = value


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise A2SBInputError(message)

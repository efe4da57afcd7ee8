"""What a run trains: the representation, the network (fresh or from pretrained weights), the
optimizer and its learning rate."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import torch

from a2sb.degradations import PRIOR_NOISE_STD
from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel, RoPEUNet2DModel
from a2sb.pipelines import A2SBPipeline
from a2sb.representations import ComplexSTFT, FactorizedSTFT, STFTRepresentation
from a2sb.schedulers import I2SBScheduler
from a2sb.training.config import OptimizerConfig, TrainingConfig

OPTIMIZERS = {"radam": torch.optim.RAdam, "adamw": torch.optim.AdamW, "adam": torch.optim.Adam}


def build_representation(config: TrainingConfig) -> STFTRepresentation:
    """The spectrogram representation of `config.representation` at `config.data`'s rate."""
    settings = config.representation
    common = {
        "n_fft": settings.n_fft,
        "hop_length": settings.hop_length,
        "sampling_rate": config.data.sampling_rate,
    }
    if settings.kind == "complex":
        return ComplexSTFT(**common)
    return FactorizedSTFT(**common, magnitude_power=settings.magnitude_power)


def build_unet(config: TrainingConfig, representation: STFTRepresentation) -> RoPEUNet2DModel:
    """A fresh network of `config.model.unet`, or the weights of `config.model.init_from`.

    The network's input and output channels default to the representation's (inputs twice
    that with `model.sees_degraded`); the segment's frames and the representation's rows must
    divide by 2**levels. A fresh network that predicts a residual to the prior starts with its
    output layer at zero, so that training starts from the prior itself.
    """
    if config.model.init_from is not None:
        unet = load_initial_unet(Path(config.model.init_from), config.bridge.t_range)
        _check_init_representation(Path(config.model.init_from), representation)
        _check_init_bridge(Path(config.model.init_from), config)
    else:
        _check_unet_keys(config.model.unet)
        inputs = representation.channels * (2 if config.model.sees_degraded else 1)
        channels = {"in_channels": inputs, "out_channels": representation.channels}
        unet = RoPEUNet2DModel(**{**channels, **config.model.unet})
        if config.bridge.prediction_type == "prior_residual":
            _zero_output_channels(unet, range(unet.config.out_channels))
    weights = config.bridge.channel_weights
    if weights is not None and len(weights) != unet.config.out_channels:
        raise A2SBInputError(
            f"bridge.channel_weights has {len(weights)} weights but the network outputs "
            f"{unet.config.out_channels} channels; give one weight per channel"
        )
    if config.bridge.prediction_type == "prior_residual" and config.bridge.channel_weights:
        unweighted = [c for c, weight in enumerate(config.bridge.channel_weights) if weight == 0]
        _zero_output_channels(unet, unweighted)  # they keep their prior: no gradient reaches them
    _check_geometry(unet, representation, config.data.segment_samples, config.model.sees_degraded)
    if config.model.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    return unet.train()


def _zero_output_channels(unet: RoPEUNet2DModel, channels) -> None:
    """Set the output layer's weights and bias of `channels` to zero."""
    with torch.no_grad():
        for channel in channels:
            unet.conv_out.weight[channel].zero_()
            unet.conv_out.bias[channel].zero_()


def load_initial_unet(path: Path, t_range: tuple[float, float]) -> RoPEUNet2DModel:
    """The network saved in a pipeline or model folder; of a partitioned model, the partition
    whose range holds `t_range` (partition fine-tuning starts from the pre-trained weights).

    Args:
        path: a pipeline folder (`model_index.json`), a `RoPEUNet2DModel` or an
            `A2SBPartitionedModel` folder (`config.json`).
        t_range: the range of time the run trains.
    """
    t_cutoffs = None
    if (path / "model_index.json").is_file():
        pipeline = A2SBPipeline.from_pretrained(path)
        unet, t_cutoffs = pipeline.unet, list(pipeline.scheduler.config.t_cutoffs)
    elif (path / "config.json").is_file():
        class_name = json.loads((path / "config.json").read_text()).get("_class_name")
        if class_name == "A2SBPartitionedModel":
            unet = A2SBPartitionedModel.from_pretrained(path)
        elif class_name == "RoPEUNet2DModel":
            unet = RoPEUNet2DModel.from_pretrained(path)
        else:
            raise A2SBInputError(
                f"model.init_from {path} holds a {class_name}; pass an A2SB pipeline, a "
                "RoPEUNet2DModel or an A2SBPartitionedModel folder"
            )
    else:
        raise A2SBInputError(
            f"model.init_from {path} is not a pipeline or model folder (no model_index.json or "
            "config.json); pass a folder written by save_pretrained or a2sb convert-official"
        )
    if isinstance(unet, A2SBPartitionedModel):
        return _partition_for(unet, t_cutoffs or unet.config.t_cutoffs, t_range, path)
    return unet


def build_optimizer(
    parameters: list[torch.nn.Parameter], config: OptimizerConfig
) -> torch.optim.Optimizer:
    """The optimizer of `config` (paper: RAdam, lr 8e-5, no weight decay)."""
    return OPTIMIZERS[config.name](
        parameters,
        lr=config.learning_rate,
        betas=config.betas,
        eps=config.eps,
        weight_decay=config.weight_decay,
    )


def learning_rate_at(step: int, config: OptimizerConfig) -> float:
    """The learning rate of optimizer step `step` (0-based): linear warm-up, then constant."""
    if config.warmup_steps == 0:
        return config.learning_rate
    return config.learning_rate * min(1.0, (step + 1) / config.warmup_steps)


def _partition_for(
    model: A2SBPartitionedModel,
    t_cutoffs: list[float] | None,
    t_range: tuple[float, float],
    path: Path,
) -> RoPEUNet2DModel:
    """The partition of `model` whose range (by the scheduler's `t_cutoffs`) holds `t_range`."""
    if t_cutoffs is None:
        raise A2SBInputError(
            f"model.init_from {path} is a partitioned model without its scheduler, so which "
            "partition serves which t is unknown; pass the pipeline folder (model_index.json)"
        )
    scheduler = I2SBScheduler(t_cutoffs=t_cutoffs)
    index = scheduler.partition_index(float(t_range[0]))
    if t_range[1] > scheduler.partition_bounds(index)[1]:
        raise A2SBInputError(
            f"bridge.t_range {list(t_range)} spans several partitions of {path} (cutoffs "
            f"{list(t_cutoffs)}); train a range inside one partition, or start from a single "
            "model"
        )
    return model.partitions[index]


def _check_unet_keys(unet_arguments: dict) -> None:
    known = [name for name in inspect.signature(RoPEUNet2DModel.__init__).parameters][1:]
    unknown = sorted(set(unet_arguments) - set(known))
    if unknown:
        raise A2SBInputError(
            f"unknown config key(s) model.unet.{', model.unet.'.join(unknown)} "
            f"(RoPEUNet2DModel arguments: {', '.join(known)})"
        )


def _check_init_representation(path: Path, representation: STFTRepresentation) -> None:
    """A pipeline to start from must use the representation this run trains with."""
    config_file = path / "model_index.json"
    if not config_file.is_file():
        return
    saved = json.loads(config_file.read_text()).get("representation_config", {})
    ours = json.loads(representation.to_json_string())
    differing = sorted(
        key for key in ours if not key.startswith("_") and saved.get(key) != ours[key]
    )
    if saved.get("_class_name") != ours["_class_name"] or differing:
        raise A2SBInputError(
            f"model.init_from {path} was trained on {saved.get('_class_name')} "
            f"{ {key: saved.get(key) for key in differing} } but this run uses "
            f"{ours['_class_name']} { {key: ours[key] for key in differing} }; set "
            "representation.* and data.sampling_rate to the pipeline's values"
        )


def _check_init_bridge(path: Path, config: TrainingConfig) -> None:
    """A pipeline to start from must have been trained with this run's fill and target."""
    pipeline_config = path / "model_index.json"
    scheduler_config = path / "scheduler" / "scheduler_config.json"
    if not (pipeline_config.is_file() and scheduler_config.is_file()):
        return
    saved_pipeline = json.loads(pipeline_config.read_text())
    saved = {
        "endpoint.fill": saved_pipeline.get("fill", "noise"),
        "endpoint.prior_noise_std": saved_pipeline.get("prior_noise_std", PRIOR_NOISE_STD),
        "bridge.prediction_type": json.loads(scheduler_config.read_text()).get(
            "prediction_type", "epsilon"
        ),
    }
    ours = {
        "endpoint.fill": config.endpoint.fill,
        "endpoint.prior_noise_std": config.endpoint.prior_noise_std,
        "bridge.prediction_type": config.bridge.prediction_type,
    }
    differing = [key for key in ours if saved[key] != ours[key]]
    if differing:
        raise A2SBInputError(
            f"model.init_from {path} was trained with "
            f"{', '.join(f'{key}={saved[key]}' for key in differing)} but this run uses "
            f"{', '.join(f'{key}={ours[key]}' for key in differing)}; set them to the "
            "pipeline's values, or start from a fresh network"
        )


def _check_geometry(
    unet: RoPEUNet2DModel,
    representation: STFTRepresentation,
    segment_samples: int,
    config_sees_degraded: bool,
) -> None:
    multiple = 2**unet.num_levels
    frames = representation.frames_for(segment_samples)
    hop = representation.hop_length
    if frames % multiple:
        raise A2SBInputError(
            f"data.segment_samples={segment_samples} gives {frames} frames, but the UNet needs "
            f"a multiple of {multiple}: use {hop} × (k · {multiple} − 1) samples, e.g. "
            f"{hop * (256 - 1)} for 256 frames"
        )
    if representation.freq_bins % multiple:
        raise A2SBInputError(
            f"representation.n_fft={representation.config.n_fft} gives "
            f"{representation.freq_bins} rows, not a multiple of {multiple}; use a power of two"
        )
    inputs = representation.channels * (2 if config_sees_degraded else 1)
    if unet.config.in_channels != inputs:
        raise A2SBInputError(
            f"the network takes {unet.config.in_channels} channels but the representation has "
            f"{representation.channels} (model.sees_degraded: {config_sees_degraded}, so "
            f"{inputs} inputs); set representation.kind and model.sees_degraded to the "
            "network's"
        )

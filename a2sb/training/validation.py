"""Validation: the masked loss at fixed times on fixed segments, masks and noise.

Everything but the network is drawn once from `validation.seed`, so the numbers of two
validations (of one run, or of runs with the same data and seed) differ only by the weights.
Optionally a few segments are also restored by the current weights and scored (LSD, SiSpec)
with the evaluation protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.utils.torch_utils import randn_tensor

from a2sb.degradations import NOISE_FILL, EndpointFill, TrainingMaskSampler
from a2sb.evaluation import protocol
from a2sb.evaluation.harness import score
from a2sb.evaluation.pipeline_restorer import pipeline_restorer
from a2sb.pipelines import A2SBPipeline
from a2sb.representations import STFTRepresentation
from a2sb.schedulers import I2SBScheduler
from a2sb.training.config import TrainingConfig
from a2sb.training.data import AudioFile, SegmentStream, scan_audio_files
from a2sb.training.objective import (
    bridge_batch_at,
    bridge_loss,
    draw_degradation,
    evenly_spaced_times,
    loss_weight_for,
)
from a2sb.training.seeding import VALIDATION_STREAM, torch_generator


@dataclass
class ValidationSet:
    """Fixed validation segments.

    Args:
        waveforms: `[segments, samples]`.
        bandwidth_hz: `[segments]`, inf where unknown.
        t_values: the times the loss is measured at.
        from_training_files: the segments come from the training files (not held out).
    """

    waveforms: torch.Tensor
    bandwidth_hz: torch.Tensor
    t_values: list[float]
    from_training_files: bool


def build_validation_set(config: TrainingConfig, training_files: list[AudioFile]) -> ValidationSet:
    """Cut `validation.num_segments` fixed segments from the validation (or training) files."""
    settings = config.validation
    from_training_files = not settings.folders and settings.manifest is None
    files = training_files
    if not from_training_files:
        files = scan_audio_files(
            settings.folders,
            settings.manifest,
            config.data.extensions,
            config.data.min_duration_s,
            what="validation",
        ).files
    stream = SegmentStream(files, config.data, seed=settings.seed)
    examples = [stream.example(index) for index in range(settings.num_segments)]
    t_values = settings.t_values or evenly_spaced_times(config.bridge.t_range)
    return ValidationSet(
        waveforms=torch.stack([example["waveform"] for example in examples]),
        bandwidth_hz=torch.tensor([example["bandwidth_hz"] for example in examples]),
        t_values=list(t_values),
        from_training_files=from_training_files,
    )


@torch.no_grad()
def validation_losses(
    model: torch.nn.Module,
    validation_set: ValidationSet,
    representation: STFTRepresentation,
    mask_sampler: TrainingMaskSampler,
    scheduler: I2SBScheduler,
    seed: int,
    batch_size: int,
    band_limited: bool,
    endpoint_fill: EndpointFill = NOISE_FILL,
    sees_degraded: bool = False,
    channel_weights: list[float] | None = None,
) -> dict[str, float]:
    """The masked loss at each validation time, and their mean.

    Args:
        model: the network, in eval mode, on its device.
        validation_set: the fixed segments.
        representation: waveform → spectrogram.
        mask_sampler: draws the fixed masks.
        scheduler: the bridge.
        seed: seed of the masks, fill noise and bridge noise.
        batch_size: segments per network call.
        band_limited: zero the loss above each segment's true bandwidth.
        endpoint_fill: how the missing region of x1 is filled, as in training.
        sees_degraded: the network also sees x1, as in training.
        channel_weights: the loss weight of each channel, as in training.

    Returns:
        `{"validation/loss_t0.100": …, …, "validation/loss": mean over the times}`.
    """
    device = next(model.parameters()).device
    generator = torch_generator(seed, VALIDATION_STREAM)
    spectrum = representation.spectrum(validation_set.waveforms.to(device))
    x0, mask, x1 = draw_degradation(
        spectrum, mask_sampler, endpoint_fill, representation, generator
    )
    noise = randn_tensor(x0.shape, generator=generator, device=device, dtype=x0.dtype)
    bandwidth_hz = validation_set.bandwidth_hz if band_limited else None
    loss_weight = loss_weight_for(mask, bandwidth_hz, representation)
    losses = {}
    for t in validation_set.t_values:
        weighted_sum, weight_sum = 0.0, 0.0
        for start in range(0, x0.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            timesteps = torch.full((x0[rows].shape[0],), t, device=device)
            batch = bridge_batch_at(
                x0[rows],
                x1[rows],
                timesteps,
                noise[rows],
                loss_weight[rows],
                scheduler,
                sees_degraded,
            )
            weight = loss_weight[rows].sum().item() * sum(channel_weights or [1] * x0.shape[1])
            weighted_sum += bridge_loss(model, batch, channel_weights).item() * weight
            weight_sum += weight
        losses[f"validation/loss_t{t:.3f}"] = weighted_sum / max(weight_sum, 1.0)
    losses["validation/loss"] = sum(losses.values()) / len(losses)
    return losses


def restoration_scores(
    pipeline: A2SBPipeline,
    validation_set: ValidationSet,
    clips: int,
    num_inference_steps: int,
    cutoff_hz: float,
    seed: int,
) -> dict[str, float]:
    """Restore the first `clips` validation segments and score them (paper §4.1, (21), (22)).

    Each segment is band-limited at `cutoff_hz` by the evaluation protocol (resampling to
    2 × cutoff and back), restored with `num_inference_steps` steps and a fixed seed, and
    compared with the segment itself.

    Returns:
        `{"validation/restored_lsd": …, "validation/restored_sispec": …}`, means over clips.
    """
    condition = protocol.Condition("bandwidth_extension", cutoff_hz=cutoff_hz)
    restore = pipeline_restorer(pipeline, num_inference_steps, seed)
    rate = pipeline.representation.sampling_rate
    lsd, sispec = [], []
    for waveform, bandwidth_hz in zip(
        validation_set.waveforms[:clips], validation_set.bandwidth_hz[:clips], strict=True
    ):
        reference = waveform[None].cpu().numpy()
        degraded, info = protocol.degrade_for_condition(reference, rate, condition)
        restored = restore(degraded, rate, info)
        bandwidth = float(bandwidth_hz) if torch.isfinite(bandwidth_hz) else rate / 2
        scores = score(reference, restored, condition, info, bandwidth)
        lsd.append(scores["lsd"])
        sispec.append(scores["sispec"])
    return {
        "validation/restored_lsd": sum(lsd) / len(lsd),
        "validation/restored_sispec": sum(sispec) / len(sispec),
    }

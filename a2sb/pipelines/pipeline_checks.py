"""What `A2SBPipeline` checks at its boundary, once: its parts when it is built, the arguments
of a call, and the sampling defaults it records. Each refusal is one `A2SBInputError` line
naming the fix."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from a2sb.degradations import EndpointFill, check_cutoff, check_gaps
from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel
from a2sb.names import TASKS, WINDOW_SCHEDULES
from a2sb.schedulers import BridgeScheduler
from a2sb.schedulers.bridge_scheduler import check_num_inference_steps

OUTPUT_TYPES = ("np", "pt", "latent")

RELEASE_SAMPLING = {"num_inference_steps": 49, "window_schedule": "overlap"}
"""The released sampler's settings: what a pipeline saved without its own defaults uses."""


@dataclass(frozen=True)
class ArgumentNames:
    """How the refusals of `check_task_inputs` name what to change: Python's keywords (the
    default, `PYTHON_NAMES`), or a front end's own options (`a2sb restore` has `--gap`)."""

    gaps: str = "gaps"
    gap_example: str = "gaps=[(start_s, end_s), ...] in seconds"
    cutoff: str = "cutoff_hz"
    inpainting: str = "task='inpainting'"
    bandwidth_extension: str = "task='bandwidth_extension'"


PYTHON_NAMES = ArgumentNames()


def check_task_inputs(
    task: str,
    cutoff_hz: float | None,
    gaps: Sequence[tuple[float, float]] | None,
    sampling_rate: int,
    duration_s: float = math.inf,
    names: ArgumentNames = PYTHON_NAMES,
) -> None:
    """Refuse what a restoration cannot do, before any model or audio is loaded: an unknown
    task, gaps without inpainting (or the reverse), a cutoff outside (0, Nyquist), and gaps
    that are reversed, overlap or leave the audio.

    Args:
        task: "bandwidth_extension" or "inpainting".
        cutoff_hz: the bandwidth-extension cutoff or the inpainted recording's bandwidth, or
            None (detected).
        gaps: the inpainting gaps, `(start_s, end_s)` pairs in seconds.
        sampling_rate: the rate whose Nyquist frequency bounds the cutoff (the lower of the
            input's and the model's).
        duration_s: the audio's length, when known.
        names: how the messages name the arguments.
    """
    if task not in TASKS:
        raise A2SBInputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if task == "bandwidth_extension" and gaps:
        raise A2SBInputError(
            f"{names.gaps} given for bandwidth extension: gaps are for inpainting; pass "
            f"{names.inpainting}, or drop {names.gaps}"
        )
    if task == "inpainting" and not gaps:
        raise A2SBInputError(f"inpainting needs at least one gap; pass {names.gap_example}")
    if cutoff_hz is not None:
        check_cutoff(cutoff_hz, sampling_rate)
    if gaps:
        check_gaps(gaps, duration_s)


def check_call_arguments(
    output_type: str,
    window_schedule: str,
    window_frames: int,
    hop_frames: int,
    window_batch_size: int,
    size_multiple: int,
) -> None:
    """Refuse an unknown output type or window schedule, and windows the UNet (whose levels
    halve a multiple of `size_multiple`) cannot take."""
    if output_type not in OUTPUT_TYPES:
        raise A2SBInputError(
            f"unknown output_type {output_type!r}; choose one of {', '.join(OUTPUT_TYPES)}"
        )
    if window_schedule not in WINDOW_SCHEDULES:
        raise A2SBInputError(
            f"unknown window_schedule {window_schedule!r}; choose one of "
            f"{', '.join(WINDOW_SCHEDULES)}"
        )
    if window_frames % size_multiple or window_frames <= 0:
        raise A2SBInputError(
            f"window_frames={window_frames} must be a positive multiple of {size_multiple} (the "
            "UNet halves it at each of its levels); the released models use 256"
        )
    if not 0 < hop_frames <= window_frames:
        raise A2SBInputError(
            f"hop_frames={hop_frames} must lie in (0, window_frames={window_frames}] so that "
            "windows overlap or touch"
        )
    if window_batch_size < 1:
        raise A2SBInputError(
            f"window_batch_size={window_batch_size} must be at least 1 (windows per model call)"
        )


def check_fill_matches(trained_fill: str, fill: str | None) -> None:
    """Refuse a fill other than the one the model was trained with (None: no request)."""
    if fill is None or fill == trained_fill:
        return
    EndpointFill(fill)
    raise A2SBInputError(
        f"this pipeline's model was trained with fill={trained_fill!r} (pipeline config), so "
        f"fill={fill!r} would start the bridge from an endpoint it never saw; drop the fill "
        f"argument, or use a model trained with fill={fill!r}"
    )


def checked_sampling_defaults(sampling_defaults: dict[str, Any] | None) -> dict[str, Any]:
    """A pipeline's default sampling settings, complete and checked (`RELEASE_SAMPLING` fills
    what is not given)."""
    unknown = set(sampling_defaults or {}) - set(RELEASE_SAMPLING)
    if unknown:
        raise A2SBInputError(
            f"unknown sampling_defaults {sorted(unknown)}; a pipeline records "
            f"{', '.join(RELEASE_SAMPLING)} (the sampler itself is its scheduler)"
        )
    defaults = {**RELEASE_SAMPLING, **(sampling_defaults or {})}
    check_num_inference_steps(defaults["num_inference_steps"])
    if defaults["window_schedule"] not in WINDOW_SCHEDULES:
        raise A2SBInputError(
            f"sampling_defaults has window_schedule {defaults['window_schedule']!r}; choose one "
            f"of {', '.join(WINDOW_SCHEDULES)}"
        )
    return defaults


def check_partitions(unet: torch.nn.Module, scheduler: BridgeScheduler) -> None:
    """Refuse a partitioned model whose partitions the scheduler's t-cutoffs do not match."""
    if not isinstance(unet, A2SBPartitionedModel):
        return
    cutoffs = list(scheduler.config.t_cutoffs)
    if len(unet.partitions) != len(cutoffs) + 1:
        raise A2SBInputError(
            f"the model has {len(unet.partitions)} partitions but the scheduler's t_cutoffs "
            f"{cutoffs} make {len(cutoffs) + 1}; give the scheduler one cutoff between each "
            "pair of partitions"
        )
    saved = unet.config.t_cutoffs
    if saved is not None and [float(c) for c in saved] != cutoffs:
        raise A2SBInputError(
            f"the model was saved with t_cutoffs {list(saved)} but the scheduler has {cutoffs}; "
            "the scheduler routes t to the partitions: make its t_cutoffs match the ranges the "
            "partitions were trained on"
        )


def model_input_channels(unet: torch.nn.Module) -> int:
    """Input channels of a UNet, or of the partitions of a partitioned model."""
    if isinstance(unet, A2SBPartitionedModel):
        return unet.partitions[0].config.in_channels
    return unet.config.in_channels


def sees_degraded(unet: torch.nn.Module, representation_channels: int) -> bool:
    """Whether the network also sees x1: it takes the representation's channels (x_t alone)
    or twice as many (x_t and x1 concatenated, as I2SB's `cond_x1`); anything else is refused.
    """
    model_channels = model_input_channels(unet)
    if model_channels not in (representation_channels, 2 * representation_channels):
        raise A2SBInputError(
            f"the model takes {model_channels} input channels but the representation has "
            f"{representation_channels} (the model should take {representation_channels}, or "
            f"{2 * representation_channels} to also see the degraded endpoint); pair the model "
            "with the representation it was trained on"
        )
    return model_channels == 2 * representation_channels


def check_prediction_matches_fill(prediction_type: str, endpoint_fill: EndpointFill) -> None:
    """Refuse a "prior_residual" network (x0_hat = x1 + output) with an endpoint that is not
    the prior itself: the noise fill, or a prior fill with noise (σ_p > 0)."""
    if prediction_type != "prior_residual":
        return
    if endpoint_fill.fill != "prior" or endpoint_fill.prior_noise_std != 0:
        raise A2SBInputError(
            "the scheduler's prediction_type 'prior_residual' predicts the clean spectrogram "
            "as a residual to the prior, but the pipeline fills x1 with "
            f"fill={endpoint_fill.fill!r}, prior_noise_std={endpoint_fill.prior_noise_std:g}; "
            "pair the model with the fill it was trained on (fill='prior', prior_noise_std=0)"
        )

"""What `A2SBPipeline` checks at its boundary, once: its parts when it is built, the arguments
of a call, and the sampling defaults it records. Each refusal is one `A2SBInputError` line
naming the fix."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from a2sb.degradations import EndpointFill
from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel
from a2sb.sampling_names import WINDOW_SCHEDULES
from a2sb.schedulers import BridgeScheduler
from a2sb.schedulers.bridge_scheduler import check_num_inference_steps
from a2sb.tasks import TASKS

OUTPUT_TYPES = ("np", "pt", "latent")

logger = logging.getLogger(__name__)

RELEASE_SAMPLING = {"num_inference_steps": 49, "window_schedule": "overlap"}
"""The released sampler's settings: what a pipeline saved without its own defaults uses."""


def check_call_arguments(
    task: str,
    gaps: Sequence[tuple[float, float]] | None,
    output_type: str,
    window_schedule: str,
    window_frames: int,
    hop_frames: int,
    window_batch_size: int,
    size_multiple: int,
) -> None:
    """Refuse an unknown task or output type, gaps without inpainting (or the reverse), and
    windows the UNet (whose levels halve a multiple of `size_multiple`) cannot take."""
    if task not in TASKS:
        raise A2SBInputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if task == "inpainting" and not gaps:
        raise A2SBInputError("inpainting needs gaps: pass gaps=[(start_s, end_s), ...] in seconds")
    if task == "bandwidth_extension" and gaps:
        raise A2SBInputError("gaps are for inpainting; pass task='inpainting' or drop the gaps")
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


def detected_cutoff(detected: float | None) -> float:
    """A detected cutoff, logged; None (the spectrum reaches Nyquist) is refused."""
    if detected is None:
        raise A2SBInputError(
            "no cutoff found: the input's spectrum reaches the Nyquist frequency, so there is no "
            "missing band to re-create; give the cutoff explicitly (cutoff_hz / --cutoff HZ) to "
            "replace the band above it"
        )
    logger.info("detected bandwidth-extension cutoff: %.0f Hz", detected)
    return detected

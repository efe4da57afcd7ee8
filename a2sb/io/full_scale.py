"""What to do with audio that peaks above full scale before it is written as integer PCM.

Floats above ±1 are common in DAW exports, and restoration can add overshoot. A 32-bit float
file keeps them as they are; 16- and 24-bit files cannot hold them. `fit_to_full_scale` then
applies the clip mode:

- "rescale" (the default): scale the whole output by 1 / peak, so nothing clips and the
  balance within the file is kept (the level drops by the peak's dBFS);
- "clamp": clip the samples above full scale (distorts them; the level of the rest is kept);
- "error": refuse, naming the peak.

Whatever was done is said in one logged line.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np

from a2sb.errors import A2SBInputError

logger = logging.getLogger(__name__)

ClipMode = Literal["rescale", "clamp", "error"]
CLIP_MODES: tuple[ClipMode, ...] = ("rescale", "clamp", "error")


def fit_to_full_scale(
    waveform: np.ndarray, bit_depth: str, clip_mode: ClipMode = "rescale", name: str = "the audio"
) -> np.ndarray:
    """The waveform as it can be written at `bit_depth`.

    Args:
        waveform: float `[channels, samples]`.
        bit_depth: "16" or "24" (integer PCM: peaks above 1.0 are handled by `clip_mode`) or
            "32f" (returned unchanged).
        clip_mode: "rescale", "clamp" or "error" (see the module's description).
        name: how the logged line and the error refer to the audio (its file name).

    Returns:
        The waveform unchanged when it fits; else scaled by `1 / peak` ("rescale") or clipped
        to ±1 ("clamp").

    Raises:
        A2SBInputError: `clip_mode="error"` and the audio peaks above full scale, or an
            unknown clip mode.
    """
    check_clip_mode(clip_mode)
    peak = peak_of(waveform)
    if bit_depth == "32f" or peak <= 1.0:
        return waveform
    if clip_mode == "error":
        raise above_full_scale_error(name, peak, bit_depth)
    if clip_mode == "clamp":
        log_clamped(name, peak, np.count_nonzero(np.abs(waveform) > 1.0), bit_depth)
        return np.clip(waveform, -1.0, 1.0)
    log_rescaled(name, peak, bit_depth)
    return waveform / np.float32(peak)


def check_clip_mode(clip_mode: str) -> None:
    """Refuse a clip mode that is not one of `CLIP_MODES`."""
    if clip_mode not in CLIP_MODES:
        raise A2SBInputError(
            f"unknown clip mode {clip_mode!r}; choose one of {', '.join(CLIP_MODES)}"
        )


def peak_of(waveform: np.ndarray) -> float:
    """The largest absolute sample of `waveform` (any shape); 0.0 when it holds none."""
    return float(np.max(np.abs(waveform))) if waveform.size else 0.0


def above_full_scale_error(name: str, peak: float, bit_depth: str) -> A2SBInputError:
    """The refusal of clip mode "error" for audio peaking at `peak` (> 1)."""
    peak_db = _decibels(peak)
    return A2SBInputError(
        f"{name} peaks at {peak_db:+.1f} dBFS, above the full scale of {bit_depth}-bit "
        "audio; choose the clip mode rescale or clamp (--clip-mode), or 32-bit float "
        "output (--bit-depth 32f)"
    )


def log_clamped(name: str, peak: float, clipped: int, bit_depth: str) -> None:
    """Say that `clipped` samples of audio peaking at `peak` were clipped (clip mode clamp)."""
    logger.warning(
        "%s peaks at %+.1f dBFS; %d samples clipped to fit %s-bit (clip mode clamp)",
        name,
        _decibels(peak),
        clipped,
        bit_depth,
    )


INAUDIBLE_DB = 0.1
"""A rescale by less than this many dB is not worth a line: no one hears it."""


def log_rescaled(name: str, peak: float, bit_depth: str) -> None:
    """Say that audio peaking at `peak` was scaled by 1 / peak (clip mode rescale): all of it,
    the kept band included, is quieter. Below `INAUDIBLE_DB` it is said at debug level only."""
    level = logging.WARNING if _decibels(peak) >= INAUDIBLE_DB else logging.DEBUG
    logger.log(
        level,
        "%s peaks at %+.1f dBFS; the whole output, its kept band included, is %.1f dB quieter "
        "to fit %s-bit (clip mode rescale; clamp keeps the level and clips the peaks)",
        name,
        _decibels(peak),
        _decibels(peak),
        bit_depth,
    )


def _decibels(peak: float) -> float:
    return 20 * math.log10(peak)

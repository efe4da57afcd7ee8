"""The cutoff of a bandwidth extension: the one given, checked, or the one detected from the
input's long-term spectrum (`a2sb.cutoff_detection`)."""

from __future__ import annotations

import logging

import numpy as np

from a2sb.audio import to_mono
from a2sb.audio_stream import AudioReader
from a2sb.cutoff_detection import detect_cutoff, detect_cutoff_streamed
from a2sb.degradations import check_cutoff
from a2sb.errors import A2SBInputError

logger = logging.getLogger(__name__)


def batch_cutoffs(
    waveforms: np.ndarray, input_rate: int, model_rate: int, cutoff_hz: float | None
) -> list[float]:
    """The cutoff of each item of a batch: `cutoff_hz` for all, checked, or each one detected.

    Args:
        waveforms: `[items, channels, samples]` at `model_rate`.
        input_rate: the rate the audio came at (its Nyquist frequency bounds the cutoff).
        model_rate: the representation's rate.
        cutoff_hz: the cutoff to use; None detects it per item.
    """
    if cutoff_hz is not None:
        check_cutoff(cutoff_hz, min(input_rate, model_rate))
        return [float(cutoff_hz)] * len(waveforms)
    return [detected_cutoff(detect_cutoff(to_mono(item), model_rate)) for item in waveforms]


def file_cutoff(reader: AudioReader, model_rate: int, cutoff_hz: float | None) -> float:
    """The cutoff of a file: `cutoff_hz`, checked, or detected from a first, streamed reading.

    Args:
        reader: the input, read at `model_rate`.
        model_rate: the representation's rate.
        cutoff_hz: the cutoff to use; None detects it.
    """
    if cutoff_hz is not None:
        check_cutoff(cutoff_hz, min(reader.input_rate, model_rate))
        return float(cutoff_hz)
    mono_blocks = (to_mono(block) for block in reader.blocks())
    return detected_cutoff(detect_cutoff_streamed(mono_blocks, reader.target_rate))


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

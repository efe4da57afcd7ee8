"""The cutoff of a bandwidth extension, or the recording's bandwidth that an inpainting keeps
its gaps within: the one given, checked, or the one detected from the input's long-term
spectrum (`a2sb.cutoff_detection`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from a2sb.cutoff_detection import TooShortToDetect, detect_cutoff, detect_cutoff_streamed
from a2sb.degradations import check_cutoff
from a2sb.errors import A2SBInputError
from a2sb.io.audio import to_mono
from a2sb.io.audio_stream import AudioReader

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
        return [given_cutoff(cutoff_hz, input_rate, model_rate)] * len(waveforms)
    return [detected_cutoff(detect_cutoff(to_mono(item), model_rate)) for item in waveforms]


def file_cutoff(reader: AudioReader, model_rate: int, cutoff_hz: float | None) -> float:
    """The cutoff of a file: `cutoff_hz`, checked, or detected from a first, streamed reading.

    Args:
        reader: the input, read at `model_rate`.
        model_rate: the representation's rate.
        cutoff_hz: the cutoff to use; None detects it.
    """
    if cutoff_hz is not None:
        return given_cutoff(cutoff_hz, reader.input_rate, model_rate)
    return detected_cutoff(detect_in_file(reader))


def given_cutoff(cutoff_hz: float, input_rate: int, model_rate: int) -> float:
    """A cutoff the caller gave, checked against the lower of the two Nyquist frequencies."""
    check_cutoff(cutoff_hz, min(input_rate, model_rate))
    return float(cutoff_hz)


def detect_in_file(reader: AudioReader, skipped: Sequence[tuple[int, int]] = ()) -> float | None:
    """`detect_cutoff_streamed` of a file's mono mix, read once from its start."""
    mono_blocks = (to_mono(block) for block in reader.blocks())
    return detect_cutoff_streamed(mono_blocks, reader.target_rate, skipped)


def detected_cutoff(detected: float | None) -> float:
    """A detected cutoff, logged; None (the spectrum reaches Nyquist) is refused."""
    if detected is None:
        raise A2SBInputError(
            "no cutoff found: the input's spectrum reaches the Nyquist frequency, so there is no "
            "missing band to re-create; give the cutoff explicitly (cutoff_hz) to "
            "replace the band above it"
        )
    logger.info("detected bandwidth-extension cutoff: %.0f Hz", detected)
    return detected


def batch_bandwidth(
    waveforms: np.ndarray,
    input_rate: int,
    model_rate: int,
    bandwidth_hz: float | None,
    gaps: Sequence[tuple[float, float]],
) -> list[float] | None:
    """The recording's bandwidth for inpainting a batch: `bandwidth_hz`, checked, or the widest
    one detected over its items, outside the gaps (seconds).

    Returns:
        The bandwidth, once per item; None when an item's spectrum reaches the Nyquist
        frequency (the gaps are restored at every frequency).
    """
    if bandwidth_hz is not None:
        return [given_cutoff(bandwidth_hz, input_rate, model_rate)] * len(waveforms)
    skipped = gap_samples(gaps, model_rate)
    try:
        detected = [detect_cutoff(to_mono(item), model_rate, skipped) for item in waveforms]
    except TooShortToDetect:
        return unknown_bandwidth()
    bandwidth = logged_bandwidth(None if None in detected else max(detected))
    return None if bandwidth is None else bandwidth * len(waveforms)


def file_bandwidth(
    reader: AudioReader,
    model_rate: int,
    bandwidth_hz: float | None,
    gaps: Sequence[tuple[float, float]],
) -> list[float] | None:
    """The recording's bandwidth for inpainting a file: `bandwidth_hz`, checked, or detected
    outside the gaps from a first, streamed reading (None: the spectrum reaches the Nyquist
    frequency)."""
    if bandwidth_hz is not None:
        return [given_cutoff(bandwidth_hz, reader.input_rate, model_rate)]
    try:
        detected = detect_in_file(reader, gap_samples(gaps, reader.target_rate))
    except TooShortToDetect:
        return unknown_bandwidth()
    return logged_bandwidth(detected)


def gap_samples(gaps: Sequence[tuple[float, float]], rate: int) -> list[tuple[int, int]]:
    """Gaps in seconds as `[start, end)` samples at `rate`."""
    return [(int(start_s * rate), int(np.ceil(end_s * rate))) for start_s, end_s in gaps]


def unknown_bandwidth() -> None:
    """Too little audio outside the gaps to tell the recording's band: the gaps are restored
    at every frequency, and the warning says how to keep them within a band."""
    logger.warning(
        "too little audio outside the gaps to detect the recording's bandwidth: the gaps are "
        "restored at every frequency; give the bandwidth (cutoff_hz in Python, --cutoff on the "
        "command line) to keep them within it"
    )
    return None


def logged_bandwidth(detected: float | None) -> list[float] | None:
    """A detected recording bandwidth, logged, as the one-item list `MissingRegion` takes."""
    if detected is None:
        logger.info("the input is full-band: gaps are restored at every frequency")
        return None
    logger.info("detected bandwidth %.0f Hz: gaps are restored below it", detected)
    return [detected]

"""The degradation protocol of the paper's evaluation (§4.1), leak-free.

Bandwidth extension at cutoff f: the ground truth is resampled to 2·f with soxr and back, so
nothing above f survives. Inpainting with a gap of g seconds: one gap centred in every 5 s
(centres 2.5 s, 7.5 s, …) is zeroed in the waveform. Either way the degraded input is made
from the waveform itself and never contains the missing audio; the restorer is told the task
and where the missing part is (`TaskInfo`), exactly as a user would tell the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from a2sb.degradations import inpainting_mask
from a2sb.errors import A2SBInputError
from a2sb.io.audio import resample
from a2sb.names import Task
from a2sb.representations import ComplexSTFT

BANDWIDTH_EXTENSION_CUTOFFS_HZ = (4000.0, 8000.0, 12000.0)
"""Cutoffs of the paper's bandwidth-extension evaluation."""
INPAINTING_GAPS_S = (0.3, 0.5, 1.0)
"""Gap lengths of the paper's inpainting evaluation."""
GAP_PERIOD_S = 5.0
"""One inpainting gap is centred in every period of this length."""


@dataclass(frozen=True)
class Condition:
    """One evaluation condition: a task with its cutoff or its gap length.

    Attributes:
        task: "bandwidth_extension" or "inpainting".
        cutoff_hz: bandwidth extension: the highest frequency kept.
        gap_s: inpainting: the length of each gap, below `GAP_PERIOD_S`.
    """

    task: Task
    cutoff_hz: float | None = None
    gap_s: float | None = None

    @property
    def name(self) -> str:
        """A short key, e.g. `bwe-4000Hz` or `inpainting-300ms`."""
        if self.task == "bandwidth_extension":
            return f"bwe-{self.cutoff_hz:g}Hz"
        return f"inpainting-{1000 * self.gap_s:g}ms"


@dataclass(frozen=True)
class TaskInfo:
    """What a restorer is told about one degraded input (the pipeline's arguments).

    Attributes:
        task: "bandwidth_extension" or "inpainting".
        cutoff_hz: bandwidth extension: content above this frequency is missing.
        gaps: inpainting: `(start_s, end_s)` of each zeroed gap, sorted, in seconds.
    """

    task: Task
    cutoff_hz: float | None = None
    gaps: tuple[tuple[float, float], ...] = field(default=())


Restorer = Callable[[np.ndarray, int, TaskInfo], np.ndarray]
"""What the evaluation runs: `(degraded [channels, samples], sampling_rate, task_info)` →
restored float32 `[channels, samples]`, the same shape as the degraded input."""


def check_condition(condition: Condition, sampling_rate: int) -> None:
    """Refuse a cutoff outside (0, Nyquist) or a gap that is not shorter than 5 s."""
    nyquist = sampling_rate / 2
    if condition.task == "bandwidth_extension" and not 0 < condition.cutoff_hz < nyquist:
        raise A2SBInputError(
            f"cutoff {condition.cutoff_hz:g} Hz is outside (0, {nyquist:g}) Hz, the band of "
            f"{sampling_rate} Hz audio; choose cutoffs between 0 and {nyquist:g} Hz, "
            "e.g. 4000,8000,12000"
        )
    if condition.task == "inpainting" and not 0 < condition.gap_s < GAP_PERIOD_S:
        raise A2SBInputError(
            f"gap of {condition.gap_s:g} s does not fit the protocol (one gap centred in every "
            f"{GAP_PERIOD_S:g} s); choose gap lengths between 0 and {GAP_PERIOD_S:g} s, "
            "e.g. 0.3,0.5,1.0"
        )


def protocol_gaps(
    num_samples: int, sampling_rate: int, gap_s: float
) -> tuple[tuple[float, float], ...]:
    """Gaps of `gap_s` seconds centred at 2.5 s, 7.5 s, … that lie wholly inside the audio.

    Args:
        num_samples: length of the audio.
        sampling_rate: its rate.
        gap_s: length of each gap.

    Returns:
        `((start_s, end_s), ...)`; a 10 s file with 0.3 s gaps → ((2.35, 2.65), (7.35, 7.65)).

    Raises:
        A2SBInputError: the audio is too short to hold the first gap.
    """
    duration_s = num_samples / sampling_rate
    gaps = []
    centre_s = GAP_PERIOD_S / 2
    while centre_s + gap_s / 2 <= duration_s:
        gaps.append((centre_s - gap_s / 2, centre_s + gap_s / 2))
        centre_s += GAP_PERIOD_S
    if not gaps:
        raise A2SBInputError(
            f"audio of {duration_s:.2f} s is too short for the inpainting protocol (a {gap_s:g} s "
            f"gap centred at {GAP_PERIOD_S / 2:g} s); use files of at least "
            f"{GAP_PERIOD_S / 2 + gap_s / 2:g} s"
        )
    return tuple(gaps)


def remove_band(waveform: np.ndarray, sampling_rate: int, cutoff_hz: float) -> np.ndarray:
    """Keep only what lies below `cutoff_hz`: resample to 2·cutoff_hz with soxr and back.

    Args:
        waveform: float32 `[channels, samples]`.
        sampling_rate: its rate.
        cutoff_hz: the new Nyquist frequency, in (0, sampling_rate / 2).

    Returns:
        float32 `[channels, samples]`, the same length as `waveform`.
    """
    low_rate = round(2 * cutoff_hz)
    restored = resample(resample(waveform, sampling_rate, low_rate), low_rate, sampling_rate)
    num_samples = waveform.shape[-1]
    restored = restored[:, :num_samples]
    return np.pad(restored, ((0, 0), (0, num_samples - restored.shape[-1])))


def gap_sample_ranges(
    gaps: tuple[tuple[float, float], ...], sampling_rate: int
) -> list[tuple[int, int]]:
    """Each gap as samples [round(start_s · sr), round(end_s · sr))."""
    return [
        (round(start_s * sampling_rate), round(end_s * sampling_rate)) for start_s, end_s in gaps
    ]


def zero_gaps(
    waveform: np.ndarray, sampling_rate: int, gaps: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """A copy of `waveform` `[channels, samples]` with the samples of every gap set to 0."""
    degraded = waveform.copy()
    for start, end in gap_sample_ranges(gaps, sampling_rate):
        degraded[:, start:end] = 0.0
    return degraded


def degrade_for_condition(
    waveform: np.ndarray, sampling_rate: int, condition: Condition
) -> tuple[np.ndarray, TaskInfo]:
    """The degraded input of `condition` and what the restorer is told about it.

    Args:
        waveform: ground truth, float32 `[channels, samples]`.
        sampling_rate: its rate.
        condition: the task and its cutoff or gap length (validated by `check_condition`).

    Returns:
        `(degraded, task_info)`, `degraded` float32 `[channels, samples]`.
    """
    if condition.task == "bandwidth_extension":
        degraded = remove_band(waveform, sampling_rate, condition.cutoff_hz)
        return degraded, TaskInfo(condition.task, cutoff_hz=condition.cutoff_hz)
    gaps = protocol_gaps(waveform.shape[-1], sampling_rate, condition.gap_s)
    return zero_gaps(waveform, sampling_rate, gaps), TaskInfo(condition.task, gaps=gaps)


def gap_frames(
    gaps: tuple[tuple[float, float], ...],
    num_samples: int,
    sampling_rate: int,
    n_fft: int = 2048,
    hop_length: int = 512,
) -> torch.Tensor:
    """The STFT frames of the gaps, as the model's inpainting mask marks them (paper §3.2).

    A gap covers frames [⌊start_s · sr / hop⌋, ⌊end_s · sr / hop⌋) (86.13 frames per second).

    Returns:
        bool `[1 + num_samples // hop_length]`.
    """
    stft = ComplexSTFT(n_fft=n_fft, hop_length=hop_length, sampling_rate=sampling_rate)
    return inpainting_mask(stft, gaps, num_samples)[0, 0, 0] > 0

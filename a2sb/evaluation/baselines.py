"""Non-learned baselines, run by the same harness as a model.

Each baseline is a `Restorer`: `(degraded [channels, samples], sampling_rate, task_info)` →
restored float32 `[channels, samples]`. Bandwidth extension: `degraded` (the input as it is)
and `sbr` (spectral band replication: the top of the kept band copied upward, quieter the
further it moves). Inpainting: `silence` (gaps left at zero) and `crossfade` (each gap filled
with its neighbours, cross-faded across it). `sbr` and `crossfade` are the estimate of the
bridge's prior fill (`a2sb.degradations.prior_spectrum`), decoded: one implementation.
`BASELINES` holds them by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from a2sb.degradations import (
    SBR_GAIN_EXPONENT,
    bandwidth_extension_mask,
    inpainting_mask,
    prior_spectrum,
)
from a2sb.errors import A2SBInputError
from a2sb.evaluation.protocol import Restorer, Task, TaskInfo, zero_gaps
from a2sb.representations import ComplexSTFT


def degraded_input(degraded: np.ndarray, sampling_rate: int, task_info: TaskInfo) -> np.ndarray:
    """The degraded input unchanged: the floor any restoration has to beat."""
    return degraded.copy()


def spectral_band_replication(
    degraded: np.ndarray, sampling_rate: int, task_info: TaskInfo
) -> np.ndarray:
    """Fill the band above the cutoff by spectral band replication: the prior of the bridge's
    prior fill, decoded (`a2sb.degradations.replicate_band`).

    From 0.9 · f_c up to Nyquist, the STFT (n_fft 2048, hop 512) takes copies of the few bins
    just below 0.9 · f_c, shifted by multiples of 4 bins (phase-coherent at hop n_fft / 4) and
    scaled by (f_src / f_dst)^3 (−18 dB per octave). Below 0.9 · f_c the input is kept exactly.

    Args:
        degraded: float32 `[channels, samples]`, band-limited at `task_info.cutoff_hz`.
        sampling_rate: its rate.
        task_info: carries `cutoff_hz`.

    Returns:
        float32 `[channels, samples]`.
    """
    stft = _baseline_stft(sampling_rate)
    mask = bandwidth_extension_mask(stft, task_info.cutoff_hz, degraded.shape[-1], fill="prior")
    return _decoded_prior(stft, degraded, mask)


def silence(degraded: np.ndarray, sampling_rate: int, task_info: TaskInfo) -> np.ndarray:
    """Every gap left at zero."""
    return zero_gaps(degraded, sampling_rate, task_info.gaps)


def crossfaded_copy(degraded: np.ndarray, sampling_rate: int, task_info: TaskInfo) -> np.ndarray:
    """Fill each gap with its neighbours cross-faded across it: the prior of the bridge's prior
    fill, decoded (`a2sb.degradations.crossfade_gaps`).

    In the STFT (n_fft 2048, hop 512), the frames of a gap of L frames take the L frames
    before it fading out and the L frames after it fading in, at equal power; with audio on
    one side only, that side alone.

    Args:
        degraded: float32 `[channels, samples]` with zeroed gaps.
        sampling_rate: its rate.
        task_info: carries `gaps` in seconds.

    Returns:
        float32 `[channels, samples]`.
    """
    stft = _baseline_stft(sampling_rate)
    mask = inpainting_mask(stft, task_info.gaps, degraded.shape[-1])
    return _decoded_prior(stft, degraded, mask)


def _baseline_stft(sampling_rate: int) -> ComplexSTFT:
    return ComplexSTFT(n_fft=2048, hop_length=512, sampling_rate=sampling_rate)


def _decoded_prior(stft: ComplexSTFT, degraded: np.ndarray, mask: torch.Tensor) -> np.ndarray:
    """`prior_spectrum` of `degraded` `[channels, samples]` under `mask`, back to audio."""
    spectrum = stft.spectrum(torch.from_numpy(degraded))  # [channels, n_fft / 2 + 1, frames]
    estimate = prior_spectrum(spectrum, mask, stft)
    tensor = stft.spectrum_to_tensor(estimate[:, 1:])
    return stft.decode(tensor, degraded.shape[-1], dc_row=estimate[:, 0]).numpy()


@dataclass(frozen=True)
class Baseline:
    """A named non-learned restorer for one task.

    Attributes:
        name: what `--model baseline:NAME` selects.
        task: the task it restores.
        restore: the `Restorer`.
        description: one line for tables and help.
    """

    name: str
    task: Task
    restore: Restorer
    description: str


BASELINES: dict[str, Baseline] = {
    baseline.name: baseline
    for baseline in (
        Baseline("degraded", "bandwidth_extension", degraded_input, "degraded input"),
        Baseline(
            "sbr",
            "bandwidth_extension",
            spectral_band_replication,
            f"band replication, {-20 * math.log10(2) * SBR_GAIN_EXPONENT:.0f} dB/octave",
        ),
        Baseline("silence", "inpainting", silence, "gaps left silent"),
        Baseline(
            "crossfade",
            "inpainting",
            crossfaded_copy,
            "neighbours of the gap, cross-faded across it",
        ),
    )
}
"""The baselines by name."""


def get_baseline(name: str, task: Task) -> Baseline:
    """The baseline `name` for `task`, or an error that lists the ones there are.

    Raises:
        A2SBInputError: no baseline of that name, or it restores another task.
    """
    if name not in BASELINES:
        raise A2SBInputError(
            f"unknown baseline {name!r}; choose one of "
            + ", ".join(f"baseline:{known}" for known in BASELINES)
        )
    baseline = BASELINES[name]
    if baseline.task != task:
        fitting = [f"baseline:{known.name}" for known in BASELINES.values() if known.task == task]
        raise A2SBInputError(
            f"baseline:{name} restores {baseline.task.replace('_', ' ')}, not "
            f"{task.replace('_', ' ')}; for {task.replace('_', ' ')} choose {' or '.join(fitting)}"
        )
    return baseline

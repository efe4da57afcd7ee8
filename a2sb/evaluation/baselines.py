"""Non-learned baselines, run by the same harness as a model.

Each baseline is a `Restorer`: `(degraded [channels, samples], sampling_rate, task_info)` →
restored float32 `[channels, samples]`. Bandwidth extension: `degraded` (the input as it is)
and `sbr` (spectral band replication: the octave below the cutoff copied upward, quieter the
further it moves). Inpainting: `silence` (gaps left at zero) and `crossfade` (each gap filled
with the audio just before it, cross-faded at the edges). `BASELINES` holds them by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from a2sb.errors import A2SBInputError
from a2sb.evaluation.protocol import Restorer, Task, TaskInfo, gap_sample_ranges, zero_gaps
from a2sb.representations import ComplexSTFT

SBR_GAIN_SLOPE_DB_PER_OCTAVE = -18.0
"""How fast the replicated band falls with frequency above the cutoff."""
CROSSFADE_S = 0.01
"""Length of the equal-power cross-fades at the two edges of a filled gap."""


def degraded_input(degraded: np.ndarray, sampling_rate: int, task_info: TaskInfo) -> np.ndarray:
    """The degraded input unchanged: the floor any restoration has to beat."""
    return degraded.copy()


def spectral_band_replication(
    degraded: np.ndarray,
    sampling_rate: int,
    task_info: TaskInfo,
    gain_slope_db_per_octave: float = SBR_GAIN_SLOPE_DB_PER_OCTAVE,
    n_fft: int = 2048,
    hop_length: int = 512,
) -> np.ndarray:
    """Fill the empty band above the cutoff with copies of the octave below it.

    In the STFT, bin k above the cutoff (the first is k_c = ⌊n_fft · f_c / sr⌋ + 1) takes the
    complex value — magnitude and phase — of source bin k_s = k_c − W + ((k − k_c) mod W),
    from the top octave of the kept band, scaled by `gain_slope_db_per_octave` · log2(k / k_s)
    dB (a copy moved up one octave is 18 dB quieter). The shift k − k_s is a multiple of W, and
    W ≈ k_c / 2 is a multiple of n_fft / hop (4): a bin moved by such a shift keeps a phase
    advance per hop that is whole turns from its own, so overlapping frames add up instead of
    cancelling. Bins at or below the cutoff are kept.

    Args:
        degraded: float32 `[channels, samples]`, band-limited at `task_info.cutoff_hz`.
        sampling_rate: its rate.
        task_info: carries `cutoff_hz`.
        gain_slope_db_per_octave: level change per octave of transposition (−18 dB).
        n_fft: STFT size of the copy.
        hop_length: STFT hop of the copy.

    Returns:
        float32 `[channels, samples]`.
    """
    stft = ComplexSTFT(n_fft=n_fft, hop_length=hop_length, sampling_rate=sampling_rate)
    spectrum = stft.spectrum(torch.from_numpy(degraded))  # [channels, n_fft / 2 + 1, frames]
    first_missing = int(n_fft * task_info.cutoff_hz // sampling_rate) + 1
    coherent_step = n_fft // hop_length
    half = first_missing - first_missing // 2
    source_width = min(first_missing, max(coherent_step, half // coherent_step * coherent_step))
    missing = torch.arange(first_missing, spectrum.shape[1])
    source = first_missing - source_width + (missing - first_missing) % source_width
    gain_db = gain_slope_db_per_octave * torch.log2(missing / source)
    spectrum[:, first_missing:] = spectrum[:, source] * (10 ** (gain_db / 20))[:, None]
    restored = stft.decode(
        stft.spectrum_to_tensor(spectrum[:, 1:]), degraded.shape[-1], dc_row=spectrum[:, 0]
    )
    return restored.numpy()


def silence(degraded: np.ndarray, sampling_rate: int, task_info: TaskInfo) -> np.ndarray:
    """Every gap left at zero."""
    return zero_gaps(degraded, sampling_rate, task_info.gaps)


def crossfaded_copy(
    degraded: np.ndarray,
    sampling_rate: int,
    task_info: TaskInfo,
    crossfade_s: float = CROSSFADE_S,
) -> np.ndarray:
    """Fill each gap with the audio just before it, with equal-power cross-fades at its edges.

    A gap [s, e) of L samples with fades of F samples: the span [s − F, e + F) is replaced by
    the audio L + F samples earlier; over [s − F, s) the kept audio fades out (cos) as the copy
    fades in (sin), and over [e, e + F) the reverse. Where there is not enough audio before
    the gap (a gap near the start), the audio after it is copied instead. Gaps are filled in
    order, so a copy may include an earlier, already filled gap.

    Args:
        degraded: float32 `[channels, samples]` with zeroed gaps.
        sampling_rate: its rate.
        task_info: carries `gaps` in seconds.
        crossfade_s: fade length F in seconds (shortened at the file's edges).

    Returns:
        float32 `[channels, samples]`.

    Raises:
        A2SBInputError: a gap has neither L + 2F samples of audio before it nor after it.
    """
    restored = degraded.copy()
    num_samples = degraded.shape[-1]
    for start, end in gap_sample_ranges(task_info.gaps, sampling_rate):
        fade = min(round(crossfade_s * sampling_rate), start, num_samples - end)
        shift = end - start + fade
        if start - fade - shift >= 0:
            offset = -shift
        elif end + fade + shift <= num_samples:
            offset = shift
        else:
            raise A2SBInputError(
                f"the crossfade baseline cannot fill the gap at {start / sampling_rate:.2f}-"
                f"{end / sampling_rate:.2f} s: it needs {(shift + fade) / sampling_rate:.2f} s "
                "of audio before or after the gap; use longer files or shorter gaps"
            )
        copy = restored[:, start - fade + offset : end + fade + offset].copy()
        fade_in = np.sin(np.pi / 2 * (np.arange(fade) + 0.5) / fade)
        fade_out = np.cos(np.pi / 2 * (np.arange(fade) + 0.5) / fade)
        copy[:, :fade] = restored[:, start - fade : start] * fade_out + copy[:, :fade] * fade_in
        copy[:, copy.shape[-1] - fade :] = (
            copy[:, copy.shape[-1] - fade :] * fade_out + restored[:, end : end + fade] * fade_in
        )
        restored[:, start - fade : end + fade] = copy
    return restored


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
            f"band replication, {SBR_GAIN_SLOPE_DB_PER_OCTAVE:g} dB/octave",
        ),
        Baseline("silence", "inpainting", silence, "gaps left silent"),
        Baseline(
            "crossfade",
            "inpainting",
            crossfaded_copy,
            f"audio before the gap, {1000 * CROSSFADE_S:g} ms cross-fades",
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

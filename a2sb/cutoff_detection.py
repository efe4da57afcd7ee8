"""Find where band-limited audio stops: the knee of its long-term spectrum.

Bandwidth extension needs the frequency above which the input holds nothing useful. A codec,
a low sampling rate or an old recording chain leaves the long-term power spectrum flat-ish up to
that frequency and then falling by tens of dB within a few percent of it. The detector looks
for that fall, not for per-frame roll-offs (which silence would drag to 0 Hz): silent frames
add nothing to the long-term mean power, so silence does not pull the estimate down.
"""

from __future__ import annotations

import numpy as np
import torch

from a2sb.errors import A2SBInputError

N_FFT = 4096
SMOOTHING_BINS = 5
SEARCH_FROM_HZ = 1000.0
DROP_DB = 25.0
KNEE_DB = 6.0
REFERENCE_BAND = (0.6, 0.9)
SILENCE_DB = -100.0


def long_term_spectrum_db(
    waveform: np.ndarray, sampling_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean power per frequency over all frames and channels, in dB, lightly smoothed.

    Args:
        waveform: float `[channels, samples]`.
        sampling_rate: its rate.

    Returns:
        `(frequencies_hz, level_db)`, each `[N_FFT / 2 + 1]`.
    """
    signal = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))
    if signal.shape[-1] < N_FFT:
        signal = torch.nn.functional.pad(signal, (0, N_FFT - signal.shape[-1]))
    spectrum = torch.stft(
        signal,
        n_fft=N_FFT,
        hop_length=N_FFT // 4,
        window=torch.hann_window(N_FFT),
        center=False,
        return_complex=True,
    )
    power = spectrum.abs().pow(2).mean(dim=(0, 2)).double().numpy()
    kernel = np.ones(SMOOTHING_BINS) / SMOOTHING_BINS
    smoothed = np.convolve(power, kernel, mode="same")
    level_db = 10 * np.log10(smoothed / N_FFT + 1e-30)
    frequencies = np.arange(N_FFT // 2 + 1) * sampling_rate / N_FFT
    return frequencies, level_db


def detect_cutoff(waveform: np.ndarray, sampling_rate: int) -> float | None:
    """The frequency where the input's content ends, or None when it reaches Nyquist.

    With L(f) the long-term level in dB and R(f) the median of L over
    [0.6 f, 0.9 f] (the music just below f):
    1. the fall: the lowest f ≥ 1 kHz with L(f) < R(f) − 25 dB;
    2. the knee: walking down from there, the highest f' with L(f') ≥ R(fall) − 6 dB — where
       the fall began, so that a soft roll-off is placed at its start, not at its bottom.

    Args:
        waveform: float `[channels, samples]` at `sampling_rate`.
        sampling_rate: its rate.

    Returns:
        The cutoff in Hz, or None if the spectrum does not fall before Nyquist.

    Raises:
        A2SBInputError: the input is silent, so no cutoff can be detected.
    """
    frequencies, level_db = long_term_spectrum_db(waveform, sampling_rate)
    if level_db.max() < SILENCE_DB:
        raise A2SBInputError(
            "the input is silent, so no cutoff can be detected; pass a file with music in it "
            "or give the cutoff explicitly (cutoff_hz / --cutoff HZ)"
        )
    for fall_bin in range(int(SEARCH_FROM_HZ * N_FFT / sampling_rate), len(level_db)):
        low = int(fall_bin * REFERENCE_BAND[0])
        high = max(int(fall_bin * REFERENCE_BAND[1]), low + 1)
        reference_db = float(np.median(level_db[low:high]))
        if level_db[fall_bin] < reference_db - DROP_DB:
            knee_bin = fall_bin
            while knee_bin > low and level_db[knee_bin - 1] < reference_db - KNEE_DB:
                knee_bin -= 1
            return float(frequencies[knee_bin - 1] + frequencies[1] / 2)
    return None

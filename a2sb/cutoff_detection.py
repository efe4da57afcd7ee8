"""Find where band-limited audio stops: the knee of its long-term spectrum.

Bandwidth extension needs the frequency above which the input holds nothing useful. A codec,
a low sampling rate or an old recording chain leaves the long-term power spectrum flat-ish up to
that frequency and then falling by tens of dB within a few percent of it. The detector looks
for that fall, not for per-frame roll-offs (which silence would drag to 0 Hz): silent frames
add nothing to the long-term mean power, so silence does not pull the estimate down.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from a2sb.errors import A2SBInputError

N_FFT = 4096
FRAME_HOP = N_FFT // 4
SMOOTHING_BINS = 5
SEARCH_FROM_HZ = 1000.0
DROP_DB = 25.0
KNEE_DB = 6.0
REFERENCE_BAND = (0.6, 0.9)
SILENCE_DB = -100.0
FRAMES_PER_CHUNK = 256
"""Frames transformed at a time, which bounds the temporaries of a long block."""
MIN_DETECTION_SECONDS = 0.5
"""Shortest audio whose cutoff is detected: on the devset, 0.1–0.3 s excerpts of audio cut at
8 kHz were detected anywhere between 1.4 and 4.3 kHz; from 0.5 s on every one was within 6 %."""


class TooShortToDetect(A2SBInputError):
    """The audio is too short for its cutoff to be detected reliably."""


class LongTermSpectrum:
    """The mean power per frequency of audio added block by block.

    Frames of N_FFT samples every N_FFT / 4, not centred (a trailing part shorter than a frame
    is left out), Hann window; audio shorter than N_FFT is zero-padded to one frame. Only the
    running power sum (float64) and the fewer than N_FFT samples not framed yet are kept, so
    the result of any blocking is that of the whole signal.

    Args:
        sampling_rate: the audio's rate.
        skipped: `[start, end)` sample ranges whose frames are left out (the gaps of an
            inpainting, whose silence and edges are no part of the recording's band).
    """

    def __init__(self, sampling_rate: int, skipped: Sequence[tuple[int, int]] = ()):
        self.sampling_rate = sampling_rate
        self.skipped = tuple(skipped)
        self._next_frame = 0
        self._samples_added = 0
        self.frequencies = np.arange(N_FFT // 2 + 1) * sampling_rate / N_FFT
        """`[N_FFT / 2 + 1]` the bins' frequencies in Hz."""
        self._power_sum = torch.zeros(N_FFT // 2 + 1, dtype=torch.float64)
        self._frames = 0
        self._leftover: torch.Tensor | None = None
        self._window = torch.hann_window(N_FFT)

    def add(self, block: np.ndarray) -> None:
        """Add the next samples.

        Args:
            block: float `[channels, n]`, the samples after those added before (computed in
                float32); every block has the same channels.
        """
        block = torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32))
        if self._leftover is not None and block.shape[0] != self._leftover.shape[0]:
            raise A2SBInputError(
                f"a block of {block.shape[0]} channels follows blocks of "
                f"{self._leftover.shape[0]}; give every block the same channels"
            )
        self._samples_added += block.shape[-1]
        signal = block if self._leftover is None else torch.cat([self._leftover, block], -1)
        frames = max(0, (signal.shape[-1] - N_FFT) // FRAME_HOP + 1)
        for first in range(0, frames, FRAMES_PER_CHUNK):
            count = min(FRAMES_PER_CHUNK, frames - first)
            span = signal[:, first * FRAME_HOP : (first + count - 1) * FRAME_HOP + N_FFT]
            self._accumulate(span, self._kept_frames(self._next_frame + first, count))
        self._next_frame += frames
        self._leftover = signal[:, frames * FRAME_HOP :].clone()

    def _kept_frames(self, first: int, count: int) -> torch.Tensor:
        """bool `[count]`: the frames from `first` on that overlap no skipped range."""
        starts = (first + torch.arange(count)) * FRAME_HOP
        kept = torch.ones(count, dtype=torch.bool)
        for start, end in self.skipped:
            kept &= (starts >= end) | (starts + N_FFT <= start)
        return kept

    @property
    def seconds_heard(self) -> float:
        """Seconds of audio added, less those inside the skipped ranges."""
        skipped = sum(max(0, min(end, self._samples_added) - start) for start, end in self.skipped)
        return (self._samples_added - skipped) / self.sampling_rate

    @property
    def samples_kept(self) -> int:
        """Samples per channel held for the frames still to come (fewer than N_FFT)."""
        return 0 if self._leftover is None else self._leftover.shape[-1]

    def level_db(self) -> np.ndarray:
        """Mean power over all frames and channels in dB, smoothed over SMOOTHING_BINS bins.

        Returns:
            `[N_FFT / 2 + 1]`.
        """
        power_sum, frames = self._power_sum, self._frames
        if self._next_frame == 0 and self._leftover is not None:  # shorter than a frame: padded
            padded = torch.nn.functional.pad(self._leftover, (0, N_FFT - self._leftover.shape[-1]))
            power_sum, frames = _frames_power(padded, self._window)
        channels = 1 if self._leftover is None else self._leftover.shape[0]
        power = (power_sum / (max(frames, 1) * channels)).numpy()
        kernel = np.ones(SMOOTHING_BINS) / SMOOTHING_BINS
        smoothed = np.convolve(power, kernel, mode="same")
        return 10 * np.log10(smoothed / N_FFT + 1e-30)

    def _accumulate(self, span: torch.Tensor, kept: torch.Tensor) -> None:
        power_sum, frames = _frames_power(span, self._window, kept)
        self._power_sum += power_sum
        self._frames += frames


def _frames_power(
    span: torch.Tensor, window: torch.Tensor, kept: torch.Tensor | None = None
) -> tuple[torch.Tensor, int]:
    """The power |S|² of the frames of `span` `[channels, samples ≥ N_FFT]` (those `kept`,
    bool `[frames]`, or all) summed over channels and frames, float64 `[N_FFT / 2 + 1]`, and
    the number of frames summed."""
    spectrum = torch.stft(
        span, n_fft=N_FFT, hop_length=FRAME_HOP, window=window, center=False, return_complex=True
    )
    if kept is not None:
        spectrum = spectrum[..., kept]
    return spectrum.abs().pow(2).double().sum(dim=(0, 2)), spectrum.shape[-1]


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
    spectrum = LongTermSpectrum(sampling_rate)
    spectrum.add(waveform)
    return spectrum.frequencies, spectrum.level_db()


def detect_cutoff(
    waveform: np.ndarray, sampling_rate: int, skipped: Sequence[tuple[int, int]] = ()
) -> float | None:
    """The frequency where the input's content ends, or None when it reaches Nyquist.

    The knee of the long-term spectrum (`cutoff_from_spectrum`) of the whole input.

    Args:
        waveform: float `[channels, samples]` at `sampling_rate`.
        sampling_rate: its rate.
        skipped: `[start, end)` sample ranges left out (`LongTermSpectrum`).

    Returns:
        The cutoff in Hz, or None if the spectrum does not fall before Nyquist.

    Raises:
        TooShortToDetect: less than `MIN_DETECTION_SECONDS` of audio.
        A2SBInputError: the input is silent, so no cutoff can be detected.
    """
    return detect_cutoff_streamed([waveform], sampling_rate, skipped)


def detect_cutoff_streamed(
    blocks: Iterable[np.ndarray], sampling_rate: int, skipped: Sequence[tuple[int, int]] = ()
) -> float | None:
    """`detect_cutoff` of the concatenation of `blocks`, holding one block at a time.

    Args:
        blocks: float `[channels, n]` blocks in order, of any sizes, e.g. a file read in parts.
        sampling_rate: their rate.
        skipped: `[start, end)` sample ranges left out (`LongTermSpectrum`).

    Returns:
        The cutoff in Hz, or None if the spectrum does not fall before Nyquist.

    Raises:
        TooShortToDetect: less than `MIN_DETECTION_SECONDS` of audio.
        A2SBInputError: the input is silent, so no cutoff can be detected.
    """
    spectrum = LongTermSpectrum(sampling_rate, skipped)
    for block in blocks:
        spectrum.add(block)
    return cutoff_from_spectrum(spectrum)


def cutoff_from_spectrum(spectrum: LongTermSpectrum) -> float | None:
    """The knee of a long-term spectrum, or None when it reaches Nyquist.

    With L(f) the long-term level in dB and R(f) the median of L over
    [0.6 f, 0.9 f] (the music just below f):
    1. the fall: the lowest f ≥ 1 kHz with L(f) < R(f) − 25 dB;
    2. the knee: walking down from there, the highest f' with L(f') ≥ R(fall) − 6 dB — where
       the fall began, so that a soft roll-off is placed at its start, not at its bottom.

    Args:
        spectrum: the accumulated audio.

    Returns:
        The cutoff in Hz, or None if the spectrum does not fall before Nyquist.

    Raises:
        TooShortToDetect: less than `MIN_DETECTION_SECONDS` of audio.
        A2SBInputError: the audio is silent, so no cutoff can be detected.
    """
    frequencies, level_db = spectrum.frequencies, spectrum.level_db()
    if level_db.max() < SILENCE_DB:
        raise A2SBInputError(
            "the input is silent, so no cutoff can be detected; pass a file with music in it "
            "or give the cutoff explicitly (cutoff_hz)"
        )
    seconds = spectrum.seconds_heard
    if seconds < MIN_DETECTION_SECONDS:
        raise TooShortToDetect(
            f"{seconds:.2f} s of audio (outside any gaps) is too short to detect its cutoff "
            f"reliably (at least {MIN_DETECTION_SECONDS:g} s); give the cutoff explicitly "
            "(cutoff_hz)"
        )
    for fall_bin in range(int(SEARCH_FROM_HZ * N_FFT / spectrum.sampling_rate), len(level_db)):
        low = int(fall_bin * REFERENCE_BAND[0])
        high = max(int(fall_bin * REFERENCE_BAND[1]), low + 1)
        reference_db = float(np.median(level_db[low:high]))
        if level_db[fall_bin] < reference_db - DROP_DB:
            knee_bin = fall_bin
            while knee_bin > low and level_db[knee_bin - 1] < reference_db - KNEE_DB:
                knee_bin -= 1
            return float(frequencies[knee_bin - 1] + frequencies[1] / 2)
    return None

"""Music-like test audio made on the spot: chords with harmonics, noise and transients."""

from pathlib import Path

import numpy as np
import soundfile


def synth_music(
    num_samples: int, sampling_rate: int = 44100, channels: int = 1, seed: int = 0
) -> np.ndarray:
    """A float32 `[channels, num_samples]` excerpt with a chord progression, noise and clicks.

    Peak amplitude stays below 0.9; each channel differs slightly (stereo width).
    """
    rng = np.random.default_rng(seed)
    time = np.arange(num_samples) / sampling_rate
    chords_hz = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6)]
    chord_length = max(num_samples // len(chords_hz), 1)
    out = np.zeros((channels, num_samples))
    for channel in range(channels):
        signal = np.zeros(num_samples)
        for index, chord in enumerate(chords_hz):
            start, stop = index * chord_length, min((index + 1) * chord_length, num_samples)
            if index == len(chords_hz) - 1:
                stop = num_samples
            segment = time[start:stop]
            for root in chord:
                for harmonic in range(1, 9):
                    detune = 1 + 0.001 * channel
                    signal[start:stop] += (0.08 / harmonic) * np.sin(
                        2 * np.pi * root * harmonic * detune * segment + rng.uniform(0, 2 * np.pi)
                    )
        signal += 0.01 * rng.standard_normal(num_samples)
        for click in rng.integers(0, num_samples, size=max(num_samples // 11025, 1)):
            length = min(200, num_samples - click)
            signal[click : click + length] += 0.3 * np.exp(-np.arange(length) / 30.0)
        out[channel] = signal
    out *= 0.9 / max(np.abs(out).max(), 1e-9)
    return out.astype(np.float32)


def write_band_limited(
    path: Path,
    seconds: float,
    sampling_rate: int = 44100,
    channels: int = 1,
    cutoff_hz: float = 4000.0,
    seed: int = 0,
) -> Path:
    """`synth_music` brick-walled at `cutoff_hz` (so that cutoff detection has a cutoff to
    find), written to `path` (its folder made) in the format its extension names."""
    music = synth_music(int(seconds * sampling_rate), sampling_rate, channels, seed)
    spectrum = np.fft.rfft(music, axis=-1)
    spectrum[:, np.fft.rfftfreq(music.shape[-1], 1 / sampling_rate) > cutoff_hz] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.fft.irfft(spectrum, music.shape[-1], axis=-1).T, sampling_rate)
    return path

"""Draw the spectrogram figures of the docs: `python docs/make_figures.py` writes docs/figures/.

The music is synthesized here (bright chords and hi-hats), so the figures need no data. The model
that ships with a2sb (a2sb-small) is far below the published quality, so the "restored" panels
come from the non-learned baselines of
`a2sb.evaluation.baselines` (spectral band replication, a cross-faded copy); the captions in
docs/concepts.md say so. PNGs are written with numpy and zlib; no plotting library is needed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from a2sb.evaluation import Condition, crossfaded_copy, degrade, spectral_band_replication
from a2sb.evaluation.metrics import magnitude_spectrogram

RATE = 44100
SECONDS = 6.0
FIGURES = Path(__file__).resolve().parent / "figures"
DYNAMIC_RANGE_DB = 90.0
GAP_ROWS = 6
COLOURS = np.array(  # dark blue → purple → orange → pale yellow, by level
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=float,
)


def bright_music(seconds: float = SECONDS, seed: int = 0) -> np.ndarray:
    """Mono float32 `[1, samples]`: sawtooth-like chords (harmonics to Nyquist) and hi-hats."""
    rng = np.random.default_rng(seed)
    time = np.arange(int(seconds * RATE)) / RATE
    music = np.zeros_like(time)
    for index, root in enumerate([220.0, 196.0, 174.6, 246.9] * 3):
        start = index * seconds / 12
        note = (time >= start) & (time < start + seconds / 12)
        local = time[note] - start
        for ratio in (1.0, 1.26, 1.5):
            pitch = root * ratio
            for harmonic in range(1, int(RATE / 2 / pitch)):
                phase = rng.uniform(0, 2 * np.pi)
                tone = np.sin(2 * np.pi * pitch * harmonic * local + phase) / harmonic**1.5
                music[note] += 0.1 * tone * np.exp(-local * (1 + harmonic / 20))
    for start in np.arange(0, seconds, 0.25):
        hit = (time >= start) & (time < start + 0.12)
        burst = np.diff(rng.standard_normal(hit.sum() + 1))  # differenced noise: bright
        music[hit] += 0.15 * burst * np.exp(-(time[hit] - start) * 40)
    return (0.9 * music / np.abs(music).max()).astype(np.float32)[None]


def spectrogram_image(waveform: np.ndarray, peak: float) -> np.ndarray:
    """RGB uint8 `[256, frames / 2, 3]`: dB below `peak` (power pooled over 4 rows × 2 frames),
    low frequencies at the bottom."""
    magnitude = magnitude_spectrogram(torch.from_numpy(waveform))[0, 1:].numpy()  # [1024, T]
    power = np.square(magnitude[:, : magnitude.shape[1] // 2 * 2]).reshape(256, 4, -1, 2)
    pooled = np.sqrt(power.mean(axis=(1, 3)))
    level = 20 * np.log10(np.maximum(pooled, 1e-12) / peak)
    scaled = np.clip(1 + level / DYNAMIC_RANGE_DB, 0, 1) * (len(COLOURS) - 1)
    low = np.floor(scaled).astype(int).clip(max=len(COLOURS) - 2)
    weight = (scaled - low)[..., None]
    rgb = COLOURS[low] * (1 - weight) + COLOURS[low + 1] * weight
    return rgb[::-1].astype(np.uint8)


def stacked(panels: list[np.ndarray]) -> np.ndarray:
    """Panels one above the other, separated by white rows."""
    separator = np.full((GAP_ROWS, panels[0].shape[1], 3), 255, dtype=np.uint8)
    rows = [part for panel in panels for part in (panel, separator)][:-1]
    return np.concatenate(rows, axis=0)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """An 8-bit RGB PNG: each row gets filter type 0, the whole is deflated into one IDAT."""
    height, width, _ = rgb.shape
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def figure(waveforms: list[np.ndarray], name: str) -> None:
    peak = float(magnitude_spectrogram(torch.from_numpy(waveforms[0])).max())
    write_png(FIGURES / name, stacked([spectrogram_image(wave, peak) for wave in waveforms]))


def main() -> None:
    FIGURES.mkdir(exist_ok=True)
    music = bright_music()
    degraded, info = degrade(music, RATE, Condition("bandwidth_extension", cutoff_hz=4000.0))
    restored = spectral_band_replication(degraded, RATE, info)
    figure([music, degraded, restored], "bandwidth_extension.png")
    degraded, info = degrade(music, RATE, Condition("inpainting", gap_s=0.5))
    figure([music, degraded, crossfaded_copy(degraded, RATE, info)], "inpainting.png")


if __name__ == "__main__":
    main()

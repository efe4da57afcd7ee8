"""Draw the spectrogram figures of the docs: `python docs/make_figures.py` writes docs/figures/.

The music is synthesized here (bright chords and hi-hats), so the figures need no data. The
"restored" panels come from the non-learned baselines of `a2sb.evaluation.baselines` (spectral
band replication, a cross-faded copy), which show what each task asks for; the captions in
docs/concepts.md say so. The pictures are drawn by `a2sb.spectrogram_pictures` (matplotlib),
as `a2sb restore --spectrogram` draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from a2sb.evaluation import (
    Condition,
    crossfaded_copy,
    degrade_for_condition,
    spectral_band_replication,
)
from a2sb.spectrogram_pictures import spectrogram_png

RATE = 44100
SECONDS = 6.0
FIGURES = Path(__file__).resolve().parent / "figures"


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


def figure(panels: list[tuple[str, np.ndarray]], name: str, **marks) -> None:
    (FIGURES / name).write_bytes(spectrogram_png(panels, RATE, **marks))


def main() -> None:
    FIGURES.mkdir(exist_ok=True)
    music = bright_music()
    degraded, info = degrade_for_condition(
        music, RATE, Condition("bandwidth_extension", cutoff_hz=4000.0)
    )
    restored = spectral_band_replication(degraded, RATE, info)
    panels = [
        ("original", music),
        ("degraded input: nothing above 4 kHz", degraded),
        ("baseline:sbr (spectral band replication, not A2SB)", restored),
    ]
    figure(panels, "bandwidth_extension.png", cutoff_hz=4000.0)
    degraded, info = degrade_for_condition(music, RATE, Condition("inpainting", gap_s=0.5))
    crossfade = crossfaded_copy(degraded, RATE, info)
    panels = [
        ("original", music),
        ("degraded input: a 0.5 s gap", degraded),
        ("baseline:crossfade (a cross-faded copy, not A2SB)", crossfade),
    ]
    figure(panels, "inpainting.png", gaps=info.gaps)


if __name__ == "__main__":
    main()

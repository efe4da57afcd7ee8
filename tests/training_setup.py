"""A training setup small enough for CPU tests: short segments, a 128-row STFT, a tiny UNet."""

import json
from pathlib import Path

import soundfile
from synth import synth_music
from tiny import TRAINING_UNET

from a2sb.training.config import TrainingConfig, load_training_config

SEGMENT_SAMPLES = 960
"""15 hops of 64: 16 frames of the 256-point STFT, a multiple of the UNet's 4."""


def write_music(folder: Path, count: int = 3, seconds: float = 0.5) -> list[Path]:
    """`count` synthetic music files: stereo wav at 44.1 kHz, and one mono flac at 48 kHz."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        rate, channels, suffix = (48000, 1, "flac") if index == count - 1 else (44100, 2, "wav")
        path = folder / f"track{index}.{suffix}"
        soundfile.write(path, synth_music(int(seconds * rate), rate, channels, seed=index).T, rate)
        paths.append(path)
    return paths


def tiny_overrides(output_dir: Path, music: Path) -> list[str]:
    """Overrides that make the default configuration train in seconds on a CPU."""
    return [
        f"output_dir={output_dir}",
        f"data.folders=[{music}]",
        f"data.segment_samples={SEGMENT_SAMPLES}",
        "data.num_workers=0",
        "representation.n_fft=256",
        "representation.hop_length=64",
        f"model.unet={json.dumps(TRAINING_UNET)}",
        "batch_size=3",
        "max_steps=4",
        "optimizer.learning_rate=1e-3",
        "checkpointing.interval_steps=0",
        "validation.interval_steps=0",
        "tracking.report_to=none",
        "progress_bar=false",
    ]


def tiny_config(output_dir: Path, music: Path, *overrides: str) -> TrainingConfig:
    return load_training_config(None, [*tiny_overrides(output_dir, music), *overrides])

import numpy as np
import pytest
import torch
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.evaluation.baselines import (
    BASELINES,
    crossfaded_copy,
    get_baseline,
    spectral_band_replication,
)
from a2sb.evaluation.metrics import log_spectral_distance, magnitude_spectrogram
from a2sb.evaluation.protocol import Condition, degrade_for_condition, gap_frames

RATE = 44100
MUSIC = synth_music(3 * RATE, seed=3)
REFERENCE = magnitude_spectrogram(torch.from_numpy(MUSIC))


def lsd_against_music(restored, **selection):
    return log_spectral_distance(
        REFERENCE, magnitude_spectrogram(torch.from_numpy(restored)), **selection
    ).item()


@pytest.mark.parametrize(
    ("name", "condition"),
    [
        ("degraded", Condition("bandwidth_extension", cutoff_hz=4000)),
        ("sbr", Condition("bandwidth_extension", cutoff_hz=4000)),
        ("silence", Condition("inpainting", gap_s=0.5)),
        ("crossfade", Condition("inpainting", gap_s=0.5)),
    ],
)
def test_each_baseline_keeps_the_shape_and_gives_finite_metrics(name, condition):
    stereo = synth_music(3 * RATE, channels=2, seed=4)
    degraded, task_info = degrade_for_condition(stereo, RATE, condition)
    restored = BASELINES[name].restore(degraded, RATE, task_info)
    assert restored.shape == stereo.shape
    assert restored.dtype == np.float32
    assert np.isfinite(restored).all()
    reference = magnitude_spectrogram(torch.from_numpy(stereo))
    lsd = log_spectral_distance(reference, magnitude_spectrogram(torch.from_numpy(restored)))
    assert torch.isfinite(lsd).all()


@pytest.mark.parametrize("cutoff_hz", [4000, 8000])
def test_sbr_beats_the_degraded_input_on_harmonic_music(cutoff_hz):
    degraded, task_info = degrade_for_condition(
        MUSIC, RATE, Condition("bandwidth_extension", cutoff_hz=cutoff_hz)
    )
    restored = spectral_band_replication(degraded, RATE, task_info)
    assert lsd_against_music(restored) < 0.5 * lsd_against_music(degraded)


@pytest.mark.parametrize("gap_s", [0.3, 1.0])
def test_crossfade_beats_silence_in_the_gap(gap_s):
    degraded, task_info = degrade_for_condition(MUSIC, RATE, Condition("inpainting", gap_s=gap_s))
    frames = gap_frames(task_info.gaps, MUSIC.shape[-1], RATE)
    silent = BASELINES["silence"].restore(degraded, RATE, task_info)
    filled = crossfaded_copy(degraded, RATE, task_info)
    assert lsd_against_music(filled, frames=frames) < 0.5 * lsd_against_music(silent, frames=frames)


def test_unknown_baseline_lists_the_known_ones():
    with pytest.raises(
        A2SBInputError,
        match="unknown baseline 'zeros'; choose one of baseline:degraded, baseline:sbr",
    ):
        get_baseline("zeros", "inpainting")


def test_baseline_of_the_other_task_names_the_fitting_ones():
    with pytest.raises(
        A2SBInputError,
        match="baseline:sbr restores bandwidth extension, not inpainting; for inpainting choose "
        "baseline:silence or baseline:crossfade",
    ):
        get_baseline("sbr", "inpainting")

import numpy as np
import pytest
import torch
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.evaluation.metrics import frequency_bins, magnitude_spectrogram
from a2sb.evaluation.protocol import (
    Condition,
    check_condition,
    degrade_for_condition,
    gap_frames,
    protocol_gaps,
    remove_band,
)

RATE = 44100


def band_power(waveform, above_hz=None, up_to_hz=None):
    """Power in a band, leaving out the two frames at each end (where the STFT's reflect
    padding folds the waveform and so spreads even band-limited audio over all bins)."""
    power = magnitude_spectrogram(torch.from_numpy(waveform))[..., 2:-2].square()
    return power[:, frequency_bins(2048, RATE, above_hz, up_to_hz)].sum().item()


@pytest.mark.parametrize("cutoff_hz", [4000, 8000, 12000])
def test_bandwidth_degradation_has_no_energy_above_the_cutoff(cutoff_hz):
    noise = np.random.default_rng(0).standard_normal((1, RATE)).astype(np.float32) * 0.1
    degraded, task_info = degrade_for_condition(
        noise, RATE, Condition("bandwidth_extension", cutoff_hz=cutoff_hz)
    )
    assert degraded.shape == noise.shape
    assert degraded.dtype == np.float32
    assert task_info.cutoff_hz == cutoff_hz and task_info.gaps == ()
    above = band_power(degraded, above_hz=cutoff_hz * 1.01)
    assert above < 1e-9 * band_power(noise, above_hz=cutoff_hz * 1.01)
    kept = band_power(degraded, up_to_hz=cutoff_hz * 0.9)
    assert kept == pytest.approx(band_power(noise, up_to_hz=cutoff_hz * 0.9), rel=1e-3)


@pytest.mark.parametrize("num_samples", [44100, 44099, 12345])
def test_remove_band_keeps_the_exact_length_of_stereo_audio(num_samples):
    music = synth_music(num_samples, channels=2, seed=1)
    assert remove_band(music, RATE, 4000).shape == (2, num_samples)


def test_gaps_are_centred_every_five_seconds():
    gaps = protocol_gaps(10 * RATE, RATE, 0.3)
    np.testing.assert_allclose(gaps, [(2.35, 2.65), (7.35, 7.65)])
    assert protocol_gaps(12 * RATE, RATE, 1.0) == ((2.0, 3.0), (7.0, 8.0))
    assert protocol_gaps(3 * RATE, RATE, 0.5) == ((2.25, 2.75),)


def test_audio_too_short_for_the_first_gap_is_refused():
    with pytest.raises(A2SBInputError, match="too short for the inpainting protocol.*at least 3 s"):
        protocol_gaps(2 * RATE, RATE, 1.0)


def test_inpainting_degradation_zeroes_exactly_the_gaps():
    music = synth_music(6 * RATE, seed=2)
    degraded, task_info = degrade_for_condition(music, RATE, Condition("inpainting", gap_s=0.5))
    assert task_info.task == "inpainting" and task_info.cutoff_hz is None
    assert task_info.gaps == ((2.25, 2.75),)
    start, end = round(2.25 * RATE), round(2.75 * RATE)
    assert np.all(degraded[:, start:end] == 0)
    assert np.array_equal(degraded[:, :start], music[:, :start])
    assert np.array_equal(degraded[:, end:], music[:, end:])
    assert np.abs(music[:, start:end]).mean() > 0.01  # the original had audio there


def test_gap_frames_follow_the_model_mask_convention():
    frames = gap_frames(((2.25, 2.75),), 6 * RATE, RATE)
    assert frames.shape == (1 + 6 * RATE // 512,)
    assert frames.nonzero().flatten().tolist() == list(
        range(193, 236)
    )  # ⌊86.13·2.25⌋..⌊86.13·2.75⌋


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            Condition("bandwidth_extension", cutoff_hz=22050),
            r"cutoff 22050 Hz is outside \(0, 22050\)",
        ),
        (Condition("bandwidth_extension", cutoff_hz=0), "choose cutoffs between 0 and 22050 Hz"),
        (Condition("inpainting", gap_s=5.0), "gap of 5 s does not fit the protocol"),
        (Condition("inpainting", gap_s=-0.1), "choose gap lengths between 0 and 5 s"),
    ],
)
def test_conditions_outside_the_protocol_are_refused(condition, message):
    with pytest.raises(A2SBInputError, match=message):
        check_condition(condition, RATE)


def test_condition_names():
    assert Condition("bandwidth_extension", cutoff_hz=4000).name == "bwe-4000Hz"
    assert Condition("inpainting", gap_s=0.3).name == "inpainting-300ms"

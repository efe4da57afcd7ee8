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
from a2sb.evaluation.metrics import frequency_bins, log_spectral_distance, magnitude_spectrogram
from a2sb.evaluation.protocol import Condition, TaskInfo, degrade, gap_frames

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
    degraded, task_info = degrade(stereo, RATE, condition)
    restored = BASELINES[name].restore(degraded, RATE, task_info)
    assert restored.shape == stereo.shape
    assert restored.dtype == np.float32
    assert np.isfinite(restored).all()
    reference = magnitude_spectrogram(torch.from_numpy(stereo))
    lsd = log_spectral_distance(reference, magnitude_spectrogram(torch.from_numpy(restored)))
    assert torch.isfinite(lsd).all()


@pytest.mark.parametrize("cutoff_hz", [4000, 8000])
def test_sbr_beats_the_degraded_input_on_harmonic_music(cutoff_hz):
    degraded, task_info = degrade(
        MUSIC, RATE, Condition("bandwidth_extension", cutoff_hz=cutoff_hz)
    )
    restored = spectral_band_replication(degraded, RATE, task_info)
    assert lsd_against_music(restored) < 0.5 * lsd_against_music(degraded)


def test_sbr_leaves_the_band_below_the_cutoff_as_it_was():
    degraded, task_info = degrade(MUSIC, RATE, Condition("bandwidth_extension", cutoff_hz=4000))
    restored = spectral_band_replication(degraded, RATE, task_info)
    # the Hann main lobe spreads the new band over two bins below the cutoff; below them, as was
    kept = frequency_bins(2048, RATE, up_to_hz=4000 - 3 * RATE / 2048)
    spectrum = magnitude_spectrogram(torch.from_numpy(degraded))[:, kept]
    restored_spectrum = magnitude_spectrogram(torch.from_numpy(restored))[:, kept]
    torch.testing.assert_close(restored_spectrum, spectrum, atol=2e-3 * spectrum.max(), rtol=0)


def test_sbr_copies_a_line_one_source_width_up_at_18_db_per_octave():
    sine = np.sin(2 * np.pi * 3000 * np.arange(RATE) / RATE)[None].astype(np.float32)
    restored = spectral_band_replication(
        sine, RATE, TaskInfo("bandwidth_extension", cutoff_hz=4000)
    )
    level_db = 20 * np.log10(magnitude_spectrogram(torch.from_numpy(restored))[0, :, 40].numpy())
    # first missing bin 186, source width 92 (93 rounded down to a multiple of 4): the 3 kHz
    # line (bin 139) reappears at bins 231 and 323, 18·log2(231/139) and 18·log2(323/139) dB
    # down, with its level intact (a coherent shift)
    assert level_db[231] == pytest.approx(level_db[139] - 18 * np.log2(231 / 139), abs=0.2)
    assert level_db[323] == pytest.approx(level_db[139] - 18 * np.log2(323 / 139), abs=0.2)
    assert level_db[231] > level_db[225] + 40


@pytest.mark.parametrize("gap_s", [0.3, 1.0])
def test_crossfade_beats_silence_in_the_gap(gap_s):
    degraded, task_info = degrade(MUSIC, RATE, Condition("inpainting", gap_s=gap_s))
    frames = gap_frames(task_info.gaps, MUSIC.shape[-1], RATE)
    silent = BASELINES["silence"].restore(degraded, RATE, task_info)
    filled = crossfaded_copy(degraded, RATE, task_info)
    assert lsd_against_music(filled, frames=frames) < 0.5 * lsd_against_music(silent, frames=frames)


def test_crossfade_copies_the_audio_before_the_gap_and_touches_only_the_fades():
    ramp = np.arange(RATE, dtype=np.float32)[None] / RATE
    task_info = TaskInfo("inpainting", gaps=((0.5, 0.6),))
    filled = crossfaded_copy(ramp, RATE, task_info, crossfade_s=0.001)
    start, end, fade = 22050, 26460, 44  # 0.5 s, 0.6 s, 1 ms
    shift = end - start + fade
    np.testing.assert_array_equal(filled[:, : start - fade], ramp[:, : start - fade])
    np.testing.assert_array_equal(filled[:, end + fade :], ramp[:, end + fade :])
    np.testing.assert_array_equal(filled[:, start:end], ramp[:, start - shift : end - shift])


def test_crossfade_copies_the_audio_after_a_gap_at_the_start():
    ramp = np.arange(RATE, dtype=np.float32)[None] / RATE
    filled = crossfaded_copy(
        ramp, RATE, TaskInfo("inpainting", gaps=((0.0, 0.2),)), crossfade_s=0.01
    )
    end = 8820
    np.testing.assert_array_equal(filled[:, :end], ramp[:, end : 2 * end])  # no fade at sample 0
    assert np.all(np.diff(filled[:, end:]) != 0)


def test_crossfade_refuses_a_gap_with_no_room_on_either_side():
    with pytest.raises(A2SBInputError, match="needs .* s of audio before or after the gap"):
        crossfaded_copy(
            np.ones((1, RATE), np.float32), RATE, TaskInfo("inpainting", gaps=((0.3, 0.7),))
        )


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

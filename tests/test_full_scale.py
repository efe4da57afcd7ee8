"""Audio above full scale written as integer PCM: rescaled, clamped or refused; float keeps it."""

import logging

import numpy as np
import pytest
import soundfile
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.io.audio import save_audio
from a2sb.io.full_scale import fit_to_full_scale

_MUSIC = synth_music(4410, channels=2)
HOT = 4.0 * _MUSIC / np.abs(_MUSIC).max()
"""Stereo music peaking at exactly 4.0 (+12.04 dBFS), as a DAW's float export can."""


def test_rescale_scales_the_whole_file_by_one_over_the_peak_and_says_so(tmp_path, caplog):
    path = tmp_path / "song.wav"
    with caplog.at_level(logging.WARNING, logger="a2sb"):
        save_audio(path, HOT, 44100, bit_depth="24")
    written, _ = soundfile.read(path, dtype="float32", always_2d=True)
    np.testing.assert_allclose(written.T, HOT / 4.0, atol=2**-23, rtol=0)
    assert caplog.messages == [
        f"{path} peaks at +12.0 dBFS; the whole output, its kept band included, is 12.0 dB "
        "quieter to fit 24-bit (clip mode rescale; clamp keeps the level and clips the peaks)"
    ]


def test_an_inaudible_rescale_is_not_announced(tmp_path, caplog):
    """A peak 0.05 dB over full scale is still rescaled, but no one hears 0.05 dB: no line."""
    path = tmp_path / "song.wav"
    touching = HOT / 4.0 * 10 ** (0.05 / 20)
    with caplog.at_level(logging.WARNING, logger="a2sb"):
        save_audio(path, touching, 44100, bit_depth="24")
    assert caplog.messages == []
    assert np.abs(soundfile.read(path, dtype="float32")[0]).max() <= 1.0


def test_clamp_keeps_the_level_and_clips_the_peaks(tmp_path, caplog):
    path = tmp_path / "song.wav"
    with caplog.at_level(logging.WARNING, logger="a2sb"):
        save_audio(path, HOT, 44100, bit_depth="16", clip_mode="clamp")
    written, _ = soundfile.read(path, dtype="float32", always_2d=True)
    inside = np.abs(HOT) < 0.99
    np.testing.assert_allclose(written.T[inside], HOT[inside], atol=2**-15, rtol=0)
    assert np.abs(written).max() == pytest.approx(1.0, abs=2**-15)
    clipped = np.count_nonzero(np.abs(HOT) > 1.0)
    assert caplog.messages == [
        f"{path} peaks at +12.0 dBFS; {clipped} samples clipped to fit 16-bit (clip mode clamp)"
    ]


def test_error_refuses_and_writes_nothing(tmp_path):
    path = tmp_path / "song.flac"
    with pytest.raises(A2SBInputError) as raised:
        save_audio(path, HOT, 44100, bit_depth="24", clip_mode="error")
    assert str(raised.value) == (
        f"{path} peaks at +12.0 dBFS, above the full scale of 24-bit audio; choose the clip "
        "mode rescale or clamp (--clip-mode), or 32-bit float output (--bit-depth 32f)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("clip_mode", ["rescale", "clamp", "error"])
def test_float_output_keeps_the_level_whatever_the_mode(tmp_path, clip_mode, caplog):
    path = tmp_path / "song.wav"
    with caplog.at_level(logging.WARNING, logger="a2sb"):
        save_audio(path, HOT, 44100, bit_depth="32f", clip_mode=clip_mode)
    written, _ = soundfile.read(path, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(written.T, HOT.astype(np.float32))
    assert caplog.messages == []


def test_audio_within_full_scale_is_left_alone(caplog):
    quiet = HOT / 4.0
    with caplog.at_level(logging.WARNING, logger="a2sb"):
        assert fit_to_full_scale(quiet, "16", "error") is quiet
    assert caplog.messages == []


def test_an_unknown_clip_mode_is_refused():
    with pytest.raises(A2SBInputError, match="unknown clip mode 'wrap'; choose one of rescale"):
        fit_to_full_scale(HOT, "24", "wrap")

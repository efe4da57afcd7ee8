import numpy as np
import pytest
import soundfile
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.io.audio import (
    check_waveform,
    ensure_not_input,
    load_audio,
    resample,
    save_audio,
    to_mono,
)


@pytest.mark.parametrize(
    ("extension", "bit_depth", "tolerance"),
    [
        (".wav", "16", 1 / 2**15),
        (".wav", "24", 1 / 2**23),
        (".wav", "32f", 0),
        (".flac", "24", 1 / 2**23),
    ],
)
def test_save_then_load_returns_the_same_stereo_samples(tmp_path, extension, bit_depth, tolerance):
    waveform = synth_music(4000, channels=2)
    path = tmp_path / f"song{extension}"
    save_audio(path, waveform, 44100, bit_depth=bit_depth)
    loaded, rate = load_audio(path)
    assert rate == 44100
    assert loaded.dtype == np.float32
    assert loaded.shape == (2, 4000)
    np.testing.assert_allclose(loaded, waveform, atol=tolerance, rtol=0)


@pytest.mark.parametrize("format_", ["OGG", "MP3"])
def test_loads_lossy_formats(tmp_path, format_):
    path = tmp_path / f"song.{format_.lower()}"
    soundfile.write(path, synth_music(44100, channels=2).T, 44100, format=format_)
    loaded, rate = load_audio(path)
    assert rate == 44100
    assert loaded.shape[0] == 2
    assert abs(loaded.shape[1] - 44100) < 3000  # lossy codecs may pad a frame


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(A2SBInputError, match=r"missing\.wav does not exist"):
        load_audio(tmp_path / "missing.wav")


def test_folder_is_not_an_audio_file(tmp_path):
    with pytest.raises(A2SBInputError, match="is a folder"):
        load_audio(tmp_path)


def test_text_file_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples")
    with pytest.raises(A2SBInputError, match="cannot read .*notes.wav as audio"):
        load_audio(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros((0, 2), dtype=np.float32), 44100)
    with pytest.raises(A2SBInputError, match="is empty"):
        load_audio(path)


def test_nan_samples_are_refused(tmp_path):
    path = tmp_path / "nan.wav"
    samples = np.zeros((100, 1), dtype=np.float32)
    samples[10] = np.nan
    soundfile.write(path, samples, 44100, subtype="FLOAT")
    with pytest.raises(A2SBInputError, match="NaN or infinite"):
        load_audio(path)


def test_check_waveform_wants_channels_first():
    with pytest.raises(A2SBInputError, match=r"expected \[channels, samples\]"):
        check_waveform(np.zeros(10, dtype=np.float32))


def test_integer_formats_clip_and_flac_refuses_float(tmp_path):
    loud = np.full((1, 100), 1.5, dtype=np.float32)
    save_audio(tmp_path / "loud.wav", loud, 44100)
    assert load_audio(tmp_path / "loud.wav")[0].max() <= 1.0
    with pytest.raises(A2SBInputError, match="flac supports 16, 24"):
        save_audio(tmp_path / "x.flac", loud, 44100, bit_depth="32f")


def test_unknown_output_extension_is_refused(tmp_path):
    with pytest.raises(A2SBInputError, match=r"writes \.wav or \.flac"):
        save_audio(tmp_path / "x.mp3", np.zeros((1, 10), dtype=np.float32), 44100)


def test_resample_keeps_a_tone_and_scales_the_length():
    rate = 48000
    tone = np.sin(2 * np.pi * 1000 * np.arange(rate) / rate).astype(np.float32)[None]
    out = resample(tone, rate, 44100)
    assert out.shape == (1, 44100)
    assert out.dtype == np.float32
    expected = np.sin(2 * np.pi * 1000 * np.arange(44100) / 44100)
    # away from the filter's edges the resampled tone is the tone at the new rate
    np.testing.assert_allclose(out[0, 1000:-1000], expected[1000:-1000], atol=2e-3)


def test_resample_to_same_rate_is_identity():
    waveform = synth_music(1000)
    assert resample(waveform, 44100, 44100) is waveform


def test_to_mono_averages_channels():
    stereo = np.stack([np.ones(5), -np.ones(5) * 0.5]).astype(np.float32)
    np.testing.assert_allclose(to_mono(stereo), np.full((1, 5), 0.25))


def test_output_equal_to_input_is_refused(tmp_path):
    song = tmp_path / "song.wav"
    song.touch()
    with pytest.raises(A2SBInputError, match="never overwrites its input"):
        ensure_not_input(tmp_path / "sub" / ".." / "song.wav", [song])
    ensure_not_input(tmp_path / "song.a2sb.wav", [song])

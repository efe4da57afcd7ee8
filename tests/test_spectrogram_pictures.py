"""Before/after spectrogram pictures: one colour scale, a kHz axis, the cutoff and gaps marked."""

import io
import sys

import numpy as np
import pytest
import soundfile
from PIL import Image
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.io.audio import load_audio, resample, save_audio
from a2sb.spectrogram_pictures import (
    DYNAMIC_RANGE_DB,
    PooledLevel,
    file_level,
    picture_path,
    require_matplotlib,
    save_restoration_picture,
    spectrogram_figure,
    spectrogram_png,
)

RATE = 44100


def band_limited(music: np.ndarray, cutoff_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(music, axis=-1)
    spectrum[:, np.fft.rfftfreq(music.shape[-1], 1 / RATE) > cutoff_hz] = 0
    return np.fft.irfft(spectrum, music.shape[-1], axis=-1).astype(np.float32)


def test_panels_share_one_colour_scale_and_the_kept_band_draws_the_same():
    music = synth_music(RATE // 2, seed=3)
    before = band_limited(music, 4000.0)
    noise = np.random.default_rng(0).standard_normal(music.shape).astype(np.float32)
    after = before + 0.05 * (noise - band_limited(noise, 10000.0))  # added above 10 kHz only

    figure = spectrogram_figure([("before", before), ("after", after)], RATE, cutoff_hz=4000.0)

    images = [axis.images[0] for axis in figure.axes[:2]]
    assert [image.get_clim() for image in images] == [(-DYNAMIC_RANGE_DB, 0.0)] * 2
    levels = [np.asarray(image.get_array()) for image in images]
    assert max(level.max() for level in levels) == 0.0  # dB below the loudest bin of both
    kept_rows = 2048 * 3500 // RATE  # bins well below the cutoff
    inner = (slice(None, kept_rows), slice(2, -2))  # the edge frames see reflect padding
    np.testing.assert_allclose(levels[0][inner], levels[1][inner], atol=0.5)
    high_rows = slice(2048 * 11000 // RATE, None)
    assert levels[1][high_rows].mean() > levels[0][high_rows].mean() + 40
    assert images[0].get_extent() == [0.0, 0.5, 0.0, 22.05]  # seconds, kHz
    cutoff_lines = [line.get_ydata()[0] for line in figure.axes[1].lines]
    assert cutoff_lines == [4.0]
    assert figure.axes[0].get_ylabel() == "kHz"


def test_gaps_are_spans_on_every_panel():
    music = synth_music(RATE, seed=1)
    figure = spectrogram_figure([("a", music), ("b", music)], RATE, gaps=[(0.25, 0.5)])
    for axis in figure.axes[:2]:
        (span,) = axis.patches
        assert span.get_x() == 0.25 and span.get_width() == 0.25
        assert len(axis.lines) == 0  # no cutoff line


def test_a_long_file_is_pooled_to_a_bounded_width():
    long_music = np.zeros((2, RATE * 60), dtype=np.float32)
    long_music[:, ::1000] = 0.5
    figure = spectrogram_figure([("a", long_music)], RATE)
    assert figure.axes[0].images[0].get_array().shape[1] <= 1500


def test_picture_is_written_whole_beside_the_result_as_png(tmp_path):
    before = band_limited(synth_music(RATE // 4, sampling_rate=RATE), 4000.0)[:, ::2].copy()
    save_audio(tmp_path / "song.wav", before, RATE // 2)
    save_audio(tmp_path / "song.a2sb.wav", synth_music(RATE // 4, channels=2), RATE)
    path = picture_path(tmp_path / "song.a2sb.wav")
    assert path == tmp_path / "song.a2sb.png"

    save_restoration_picture(path, tmp_path / "song.wav", tmp_path / "song.a2sb.wav", 4000.0)

    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 300
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "song.a2sb.png",
        "song.a2sb.wav",
        "song.wav",
    ]


@pytest.mark.parametrize("block", [1, 777, 4096, 10**6])
def test_a_panel_added_in_blocks_is_the_panel_of_the_whole(block):
    music = synth_music(RATE // 3, channels=2, seed=5)
    whole = PooledLevel(music.shape[-1], RATE)
    whole.add(music)
    blocked = PooledLevel(music.shape[-1], RATE)
    for start in range(0, music.shape[-1], block):
        blocked.add(music[:, start : start + block])
    np.testing.assert_allclose(blocked.level_db(), whole.level_db(), atol=1e-3)


def test_a_long_file_is_pooled_in_blocks_to_the_whole_signals_columns():
    """Frames are pooled by mean power: steady noise draws the same level in every column,
    the last, partial one (2 frames of 3) included."""
    noise = np.random.default_rng(0).standard_normal((1, RATE * 40 + 123)).astype(np.float32)
    level = PooledLevel(noise.shape[-1], RATE)
    for start in range(0, noise.shape[-1], 65536):
        level.add(noise[:, start : start + 65536])
    columns = level.level_db()
    frames = 1 + noise.shape[-1] // 512
    pool = -(-frames // 1500)
    assert columns.shape == (1025, -(-frames // pool)) and columns.shape[1] <= 1500
    column_power_db = 10 * np.log10((10 ** (columns[100:900, 1:] / 10)).mean(axis=0))
    assert np.std(column_power_db) < 0.3  # a frame's power in the wrong column would show
    assert abs(column_power_db[-1] - np.median(column_power_db)) < 0.5  # 2/3 would be -1.8 dB


def test_a_files_panel_is_read_in_blocks_and_resampled_on_the_way(tmp_path, monkeypatch):
    music = synth_music(RATE * 2, sampling_rate=RATE // 2, channels=2, seed=2)
    save_audio(tmp_path / "in.wav", music, RATE // 2)
    reads = []
    read = soundfile.SoundFile.read
    monkeypatch.setattr(
        soundfile.SoundFile,
        "read",
        lambda self, frames=-1, *args, **kw: (
            reads.append(frames) or read(self, frames, *args, **kw)
        ),
    )

    level = file_level(tmp_path / "in.wav", RATE)

    assert len(reads) >= 2 and all(0 < frames <= 65536 for frames in reads)  # never whole
    saved, _ = load_audio(tmp_path / "in.wav")  # as quantized to 16 bits
    whole = PooledLevel(RATE * 4, RATE)
    whole.add(resample(saved, RATE // 2, RATE))
    np.testing.assert_allclose(level.level_db(), whole.level_db(), atol=0.01)
    assert level.sampling_rate == RATE and level.duration_s == 4.0


def test_an_unreadable_file_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "in.wav").write_bytes(b"not audio")
    save_audio(tmp_path / "out.wav", synth_music(RATE // 4), RATE)
    with pytest.raises(A2SBInputError, match="in.wav"):
        save_restoration_picture(tmp_path / "out.png", tmp_path / "in.wav", tmp_path / "out.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


def test_short_audio_still_draws():
    png = spectrogram_png([("a", np.zeros(100, dtype=np.float32))], RATE)
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_missing_matplotlib_names_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(A2SBInputError, match="dependency of a2sb missing .*pip install matplotlib"):
        require_matplotlib()

import math

import numpy as np
import pytest
import soundfile
import torch
from synth import synth_music
from torch.utils.data import DataLoader
from training_setup import write_music

from a2sb.errors import A2SBInputError
from a2sb.training.config import DataConfig
from a2sb.training.data import SegmentStream, read_manifest, read_segment, scan_audio_files

EXTENSIONS = [".wav", ".flac"]


def test_scan_finds_files_recursively_with_durations(tmp_path):
    write_music(tmp_path / "a" / "deep", count=2, seconds=0.5)
    (tmp_path / "a" / "notes.txt").write_text("not audio")
    scan = scan_audio_files([tmp_path / "a"], None, EXTENSIONS, min_duration_s=0.1)
    assert [file.path.name for file in scan.files] == ["track0.wav", "track1.flac"]
    assert scan.files[0].duration_s == pytest.approx(0.5)
    assert scan.unreadable == [] and scan.too_short == []


def test_unreadable_and_short_files_are_skipped_and_counted(tmp_path):
    write_music(tmp_path, count=2, seconds=0.5)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really a wave file")
    soundfile.write(tmp_path / "short.wav", synth_music(441).T, 44100)
    scan = scan_audio_files([tmp_path], None, EXTENSIONS, min_duration_s=0.1)
    assert len(scan.files) == 2
    assert [path.name for path, _ in scan.unreadable] == ["broken.wav"]
    assert [path.name for path in scan.too_short] == ["short.wav"]
    assert "skipped 1 unreadable" in scan.summary()
    assert "skipped 1 shorter than one segment" in scan.summary()


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(A2SBInputError, match="no audio files .* in data folder"):
        scan_audio_files([tmp_path], None, EXTENSIONS, 0.1)


def test_all_files_unreadable_is_refused(tmp_path):
    for name in ("a.wav", "b.flac"):
        (tmp_path / name).write_bytes(b"garbage")
    with pytest.raises(A2SBInputError, match="none of the 2 audio files of data can be used"):
        scan_audio_files([tmp_path], None, EXTENSIONS, 0.1)


def test_missing_folder_and_manifest_are_refused(tmp_path):
    with pytest.raises(A2SBInputError, match="data folder .* does not exist"):
        scan_audio_files([tmp_path / "nope"], None, EXTENSIONS, 0.1)
    with pytest.raises(A2SBInputError, match="manifest .* does not exist"):
        scan_audio_files([], tmp_path / "nope.csv", EXTENSIONS, 0.1)
    with pytest.raises(A2SBInputError, match="set data.folders .* or data.manifest"):
        scan_audio_files([], None, EXTENSIONS, 0.1)


def test_manifest_with_header_relative_paths_and_bandwidth(tmp_path):
    write_music(tmp_path / "music", count=2)
    manifest = tmp_path / "train.csv"
    manifest.write_text(
        "path,duration,bandwidth_hz\nmusic/track0.wav,,16000\nmusic/track1.flac,2.0,\n"
    )
    rows = read_manifest(manifest)
    assert rows[0].path == tmp_path / "music" / "track0.wav"
    assert (rows[0].duration_s, rows[0].bandwidth_hz) == (None, 16000.0)
    assert (rows[1].duration_s, rows[1].bandwidth_hz) == (2.0, None)
    scan = scan_audio_files([], manifest, EXTENSIONS, 0.1)
    assert [file.duration_s for file in scan.files] == [pytest.approx(0.5), 2.0]


def test_manifest_without_header(tmp_path):
    write_music(tmp_path, count=1)
    manifest = tmp_path / "train.csv"
    manifest.write_text(f"{tmp_path / 'track0.flac'},0.5\n")
    assert read_manifest(manifest)[0].duration_s == 0.5


def test_manifest_header_may_list_columns_in_any_order(tmp_path):
    manifest = tmp_path / "train.csv"
    manifest.write_text("source,bandwidth_hz,path\nogg,17200,a.wav\n")
    (row,) = read_manifest(manifest)
    assert (row.path, row.bandwidth_hz, row.duration_s) == (tmp_path / "a.wav", 17200.0, None)


def test_manifest_with_a_bad_number_names_the_line(tmp_path):
    manifest = tmp_path / "train.csv"
    manifest.write_text("path,duration\n\nb.wav,1\na.wav,long\n")
    with pytest.raises(A2SBInputError, match="line 4: duration 'long' is not a positive number"):
        read_manifest(manifest)


def test_segment_at_the_model_rate_reads_exactly_the_frames(tmp_path):
    audio = synth_music(44100, channels=2)
    soundfile.write(tmp_path / "a.wav", audio.T, 44100, subtype="FLOAT")
    segment = read_segment(tmp_path / "a.wav", 0.5, 1000, 44100)
    start = int(0.5 * (44100 - 1000 + 1))
    np.testing.assert_array_equal(segment, audio[:, start : start + 1000])


def test_segment_of_another_rate_is_resampled_to_the_exact_length(tmp_path):
    rate = 48000
    time = np.arange(rate) / rate
    soundfile.write(tmp_path / "a.wav", np.sin(2 * np.pi * 1000 * time), rate, subtype="FLOAT")
    segment = read_segment(tmp_path / "a.wav", 0.3, 4410, 44100)
    assert segment.shape == (1, 4410)
    spectrum = np.abs(np.fft.rfft(segment[0] * np.hanning(4410)))
    assert np.argmax(spectrum) * 44100 / 4410 == pytest.approx(1000, abs=10)
    assert np.abs(segment).max() == pytest.approx(1.0, abs=0.01)


def test_short_file_is_zero_padded_at_the_end(tmp_path):
    audio = synth_music(500)
    soundfile.write(tmp_path / "a.wav", audio.T, 44100, subtype="FLOAT")
    segment = read_segment(tmp_path / "a.wav", 0.9, 960, 44100)
    np.testing.assert_array_equal(segment[:, :500], audio)
    assert not segment[:, 500:].any()


def _stream(files, seed=0, rank=0, **config):
    data = DataConfig(segment_samples=960, **config)
    return SegmentStream(files, data, seed=seed, rank=rank, batch_size=2)


def test_examples_are_a_function_of_seed_rank_and_index(tmp_path):
    write_music(tmp_path)
    files = scan_audio_files([tmp_path], None, EXTENSIONS, 0.1).files
    first = _stream(files).example(5)["waveform"]
    assert torch.equal(first, _stream(files).example(5)["waveform"])
    assert not torch.equal(first, _stream(files).example(6)["waveform"])
    assert not torch.equal(first, _stream(files, rank=1).example(5)["waveform"])
    assert not torch.equal(first, _stream(files, seed=1).example(5)["waveform"])


def test_batches_are_the_same_for_any_number_of_workers_and_after_a_resume(tmp_path):
    write_music(tmp_path)
    files = scan_audio_files([tmp_path], None, EXTENSIONS, 0.1).files
    stream = _stream(files)
    single = [batch["waveform"] for batch in _take(DataLoader(stream, batch_size=2), 4)]
    workers = [b["waveform"] for b in _take(DataLoader(stream, batch_size=2, num_workers=2), 4)]
    resumed = _stream(files)
    resumed.start_batch = 2
    after_resume = [batch["waveform"] for batch in _take(DataLoader(resumed, batch_size=2), 2)]
    for expected, got in zip(single, workers, strict=True):
        assert torch.equal(expected, got)
    for expected, got in zip(single[2:], after_resume, strict=True):
        assert torch.equal(expected, got)


def test_gain_and_random_channel(tmp_path):
    left = synth_music(2000, seed=1)[0]
    soundfile.write(tmp_path / "a.wav", np.stack([left, -left]).T, 44100, subtype="FLOAT")
    files = scan_audio_files([tmp_path], None, EXTENSIONS, 0.01).files
    mixed = _stream(files).example(0)["waveform"]
    assert mixed.abs().max() < 1e-6
    picked = [_stream(files, channels="random").example(index)["waveform"] for index in range(8)]
    signs = {int(torch.sign(wave @ torch.from_numpy(left[:960]))) for wave in picked}
    assert signs == {-1, 1}
    quiet = _stream(files, channels="random", gain_db_range=(-20.0, -20.0)).example(0)
    loud = _stream(files, channels="random").example(0)
    torch.testing.assert_close(quiet["waveform"], loud["waveform"] * 0.1)


def test_bandwidth_of_the_manifest_travels_with_the_example(tmp_path):
    write_music(tmp_path, count=1)
    manifest = tmp_path / "train.csv"
    manifest.write_text("path,bandwidth_hz\ntrack0.flac,12000\n")
    files = scan_audio_files([], manifest, EXTENSIONS, 0.01).files
    assert _stream(files).example(0)["bandwidth_hz"] == 12000.0
    folder_files = scan_audio_files([tmp_path], None, EXTENSIONS, 0.01).files
    assert _stream(folder_files).example(0)["bandwidth_hz"] == math.inf


def test_file_that_breaks_while_streaming_is_skipped(tmp_path, caplog):
    write_music(tmp_path, count=2)
    manifest = tmp_path / "train.csv"
    manifest.write_text("path,duration\ntrack0.wav,0.5\nvanished.wav,100\n")
    (tmp_path / "vanished.wav").write_bytes(b"soon garbage")
    files = scan_audio_files([], manifest, EXTENSIONS, 0.01).files
    example = _stream(files).example(0)
    assert example["waveform"].shape == (960,)
    assert "skipping unreadable file" in caplog.text


def _take(loader, count):
    iterator = iter(loader)
    return [next(iterator) for _ in range(count)]

"""Streamed audio I/O: the resampler, reader and writer give what the whole-file functions give
(`resample`, `load_audio`, `save_audio`), with the same errors, a truncated file refused, and
nothing left under a final name when a write fails."""

import errno
import logging
import os
import re
import tracemalloc

import numpy as np
import pytest
import soundfile
from faults import fail_fsync_with, no_space_message, tmpfs
from synth import synth_music

from a2sb.errors import A2SBInputError, A2SBWriteError
from a2sb.io import atomic_output
from a2sb.io.audio import load_audio, resample, save_audio
from a2sb.io.audio_stream import AudioReader, StreamResampler, streamed_output

RATE_PAIRS = [(22050, 44100), (48000, 44100), (44100, 48000)]


def to_length(waveform: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad `[channels, n]` to `length` (as the pipeline fits a result)."""
    waveform = waveform[:, :length]
    return np.pad(waveform, ((0, 0), (0, length - waveform.shape[1])))


def stream(resampler: StreamResampler, waveform: np.ndarray, block: int) -> np.ndarray:
    pieces = [
        resampler.process(waveform[:, i : i + block]) for i in range(0, waveform.shape[1], block)
    ]
    return np.concatenate([*pieces, resampler.finish()], axis=1)


def write_blocks(path, waveform, block, **options):
    with streamed_output(path, 44100, waveform.shape[0], **options) as writer:
        for start in range(0, waveform.shape[1], block):
            writer.write(waveform[:, start : start + block])


def without_peak_time(path):
    """The file's bytes with the time stamp of a float wav's PEAK chunk zeroed: libsndfile
    writes the current second there, so two equal writes a second apart differ only in it."""
    data = bytearray(path.read_bytes())
    peak = data.find(b"PEAK")
    if peak >= 0:
        data[peak + 12 : peak + 16] = bytes(4)  # "PEAK", chunk size, version, then the time
    return bytes(data)


@pytest.mark.parametrize("input_rate, output_rate", RATE_PAIRS)
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("block", [1000, 4097])
def test_stream_resampler_equals_the_one_shot_resample(input_rate, output_rate, channels, block):
    waveform = synth_music(3 * input_rate + 17, input_rate, channels)
    whole = resample(waveform, input_rate, output_rate)
    length = round(waveform.shape[1] * output_rate / input_rate)
    streamed = stream(StreamResampler(input_rate, output_rate, channels, length), waveform, block)
    assert streamed.shape == (channels, length)
    assert streamed.dtype == np.float32
    assert np.abs(streamed - to_length(whole, length)).max() <= 1e-5


def test_stream_resampler_crops_and_pads_to_the_length_asked():
    waveform = synth_music(4800, 48000)
    whole = resample(waveform, 48000, 44100)
    cropped = stream(StreamResampler(48000, 44100, 1, 4000), waveform, 1000)
    np.testing.assert_array_equal(cropped, whole[:, :4000])
    padded = stream(StreamResampler(48000, 44100, 1, whole.shape[1] + 5), waveform, 1000)
    np.testing.assert_array_equal(padded[:, : whole.shape[1]], whole)
    np.testing.assert_array_equal(padded[:, whole.shape[1] :], 0)


def test_stream_resampler_passes_equal_rates_through():
    waveform = synth_music(5000, channels=2)
    resampler = StreamResampler(44100, 44100, 2, 5000)
    assert resampler.process(waveform[:, :3000]) is not None
    np.testing.assert_array_equal(
        np.concatenate([waveform[:, :3000], resampler.process(waveform[:, 3000:])], axis=1),
        waveform,
    )
    assert resampler.finish().shape == (2, 0)


@pytest.mark.parametrize("input_rate, target_rate", [*RATE_PAIRS, (44100, 44100)])
@pytest.mark.parametrize("channels", [1, 2])
def test_reader_blocks_equal_load_audio_then_resample(tmp_path, input_rate, target_rate, channels):
    path = tmp_path / "song.flac"
    save_audio(path, synth_music(2 * input_rate + 333, input_rate, channels), input_rate, "24")
    with AudioReader(path, target_rate, block_samples=4097) as reader:
        assert (reader.channels, reader.input_rate) == (channels, input_rate)
        assert reader.input_samples == 2 * input_rate + 333
        assert reader.samples == round(reader.input_samples * target_rate / input_rate)
        blocks = list(reader.blocks())
    assert all(block.dtype == np.float32 and block.shape[0] == channels for block in blocks)
    assert all(block.shape[1] > 0 for block in blocks)
    streamed = np.concatenate(blocks, axis=1)
    whole = resample(*load_audio(path), target_rate)
    assert streamed.shape == (channels, reader.samples)
    assert np.abs(streamed - to_length(whole, reader.samples)).max() <= 1e-5


@pytest.mark.parametrize("file_format", ["OGG", "MP3"])
def test_reader_reads_lossy_formats_as_load_audio_does(tmp_path, file_format):
    path = tmp_path / f"song.{file_format.lower()}"
    soundfile.write(path, synth_music(3 * 44100, channels=2).T, 44100, format=file_format)
    with AudioReader(path, 48000, block_samples=4097) as reader:
        streamed = np.concatenate(list(reader.blocks()), axis=1)
    whole = resample(*load_audio(path), 48000)
    assert streamed.shape == (2, reader.samples)
    assert np.abs(streamed - to_length(whole, reader.samples)).max() <= 1e-5


def test_reader_can_read_the_file_twice(tmp_path):
    path = tmp_path / "song.wav"
    save_audio(path, synth_music(10000), 22050)
    with AudioReader(path, 44100, block_samples=1000) as reader:
        first, second = (np.concatenate(list(reader.blocks()), axis=1) for _ in range(2))
    np.testing.assert_array_equal(first, second)


def test_reader_refuses_what_load_audio_refuses(tmp_path):
    with pytest.raises(A2SBInputError, match="does not exist; check the path"):
        AudioReader(tmp_path / "missing.wav", 44100)
    with pytest.raises(A2SBInputError, match="is a folder, not an audio file"):
        AudioReader(tmp_path, 44100)
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio")
    with pytest.raises(A2SBInputError, match="cannot read .*notes.wav as audio"):
        AudioReader(notes, 44100)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros((0, 2), dtype=np.float32), 44100)
    with pytest.raises(A2SBInputError, match=f"^{empty} is empty"):
        AudioReader(empty, 44100)
    song = tmp_path / "song.wav"
    save_audio(song, synth_music(1000), 44100)
    with pytest.raises(A2SBInputError, match=r"must be positive \(got 44100 → 0 Hz\)"):
        AudioReader(song, 0)


def test_reader_refuses_nan_samples_naming_the_file(tmp_path):
    path = tmp_path / "nan.wav"
    samples = np.zeros((9000, 1), dtype=np.float32)
    samples[8000] = np.nan
    soundfile.write(path, samples, 44100, subtype="FLOAT")
    with AudioReader(path, 44100, block_samples=1000) as reader:
        with pytest.raises(A2SBInputError, match=f"^{path} contains NaN or infinite samples"):
            list(reader.blocks())


def cut_in_half(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_wav_is_refused_with_how_far_it_reads(tmp_path):
    path = tmp_path / "song.wav"
    save_audio(path, synth_music(4 * 44100, channels=2), 44100)
    cut_in_half(path)
    with AudioReader(path, 44100) as reader:
        assert reader.input_samples == 4 * 44100  # what the header promises
        with pytest.raises(A2SBInputError) as raised:
            list(reader.blocks())
    assert str(raised.value) == (
        f"cannot read {path} to the end: it stops after 2.0 s of the 4.0 s its header gives; "
        "re-export or repair the file"
    )


def test_a_truncated_flac_is_refused_with_libsndfiles_error(tmp_path):
    path = tmp_path / "song.flac"
    save_audio(path, synth_music(4 * 44100, channels=2), 44100)
    cut_in_half(path)
    with AudioReader(path, 48000, block_samples=4096) as reader:
        with pytest.raises(A2SBInputError) as raised:
            list(reader.blocks())
    message = str(raised.value)
    assert message.startswith(f"cannot read {path} to the end: it stops after ")
    assert "s of the 4.0 s its header gives (libsndfile: " in message
    assert message.endswith("); re-export or repair the file")


HOT = 3.0 * synth_music(3 * 44100 + 5, channels=2)
"""Stereo music peaking at 2.7 (+8.6 dBFS)."""
QUIET = synth_music(3 * 44100 + 5, channels=2, seed=1)
"""Peaking at 0.9: fits every format."""


@pytest.mark.parametrize(
    "extension, bit_depth",
    [(".wav", "16"), (".wav", "24"), (".wav", "32f"), (".flac", "16"), (".flac", "24")],
)
@pytest.mark.parametrize("clip_mode", ["rescale", "clamp"])
@pytest.mark.parametrize("waveform", [QUIET, HOT], ids=["quiet", "hot"])
def test_streamed_file_is_byte_identical_to_save_audio(
    tmp_path, extension, bit_depth, clip_mode, waveform, caplog
):
    whole, streamed = tmp_path / f"whole{extension}", tmp_path / f"streamed{extension}"
    with caplog.at_level(logging.WARNING, logger="a2sb"):
        save_audio(whole, waveform, 44100, bit_depth=bit_depth, clip_mode=clip_mode)
        write_blocks(streamed, waveform, 4097, bit_depth=bit_depth, clip_mode=clip_mode)
    assert without_peak_time(streamed) == without_peak_time(whole)
    assert sorted(os.listdir(tmp_path)) == sorted([whole.name, streamed.name])
    logged = [message.replace(str(whole), "PATH") for message in caplog.messages[:1]]
    assert [m.replace(str(streamed), "PATH") for m in caplog.messages[1:]] == logged


@pytest.mark.parametrize("bit_depth", ["16", "24", "32f"])
def test_clip_mode_error_writes_what_fits_as_save_audio_does(tmp_path, bit_depth):
    whole, streamed = tmp_path / "whole.wav", tmp_path / "streamed.wav"
    save_audio(whole, QUIET, 44100, bit_depth=bit_depth, clip_mode="error")
    write_blocks(streamed, QUIET, 1000, bit_depth=bit_depth, clip_mode="error")
    assert without_peak_time(streamed) == without_peak_time(whole)


def test_clip_mode_error_refuses_the_first_hot_block_and_leaves_nothing(tmp_path):
    path = tmp_path / "song.flac"
    waveform = QUIET.copy()
    waveform[1, 50000] = 2.0  # +6.0 dBFS, in the fourth block of 16384
    written = []
    with pytest.raises(A2SBInputError) as raised:
        with streamed_output(path, 44100, 2, bit_depth="24", clip_mode="error") as writer:
            for start in range(0, waveform.shape[1], 16384):
                writer.write(waveform[:, start : start + 16384])
                written.append(start)
    assert str(raised.value) == (
        f"{path} peaks at +6.0 dBFS, above the full scale of 24-bit audio; choose the clip "
        "mode rescale or clamp (--clip-mode), or 32-bit float output (--bit-depth 32f)"
    )
    assert written == [0, 16384, 32768]
    assert os.listdir(tmp_path) == []


def test_writer_checks_extension_bit_depth_and_samples_like_save_audio(tmp_path):
    for path, bit_depth, message in [
        (tmp_path / "song.mp3", "16", "a2sb writes .wav or .flac files; change the extension"),
        (tmp_path / "song.flac", "32f", "with bit depth 32f: .flac supports 16, 24"),
    ]:
        with pytest.raises(A2SBInputError, match=message):
            save_audio(path, QUIET, 44100, bit_depth=bit_depth)
        with pytest.raises(A2SBInputError, match=message):
            streamed_output(path, 44100, 2, bit_depth=bit_depth).__enter__()
    with pytest.raises(A2SBInputError, match="unknown clip mode 'loud'"):
        streamed_output(tmp_path / "song.wav", 44100, 2, clip_mode="loud").__enter__()
    broken = QUIET.copy()
    broken[0, 30000] = np.inf
    path = tmp_path / "song.wav"
    with pytest.raises(A2SBInputError, match=f"^the audio to write to {path} contains NaN"):
        write_blocks(path, broken, 10000)
    with pytest.raises(A2SBInputError, match=f"^the audio to write to {path} is empty"):
        with streamed_output(path, 44100, 2):
            pass
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("clip_mode", ["rescale", "clamp"])
def test_an_interruption_removes_the_partial_and_the_temporary(tmp_path, clip_mode):
    path = tmp_path / "song.wav"
    path.write_bytes(b"the previous result")
    with pytest.raises(KeyboardInterrupt):
        with streamed_output(path, 44100, 2, clip_mode=clip_mode) as writer:
            writer.write(HOT[:, :10000])
            assert len(os.listdir(tmp_path)) == 2  # the result and the partial (or temporary)
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["song.wav"]
    assert path.read_bytes() == b"the previous result"


def test_the_file_appears_only_when_complete(tmp_path):
    path = tmp_path / "out" / "song.wav"
    with streamed_output(path, 44100, 2, bit_depth="24", clip_mode="clamp") as writer:
        writer.write(QUIET[:, :20000])
        assert not path.exists()
        assert os.listdir(path.parent) == [writer.partial.name]
        assert re.fullmatch(r"\.song\.partial-[0-9a-f]{8}\.wav", writer.partial.name)
        writer.write(QUIET[:, 20000:])
    assert os.listdir(path.parent) == ["song.wav"]


def test_a_full_disk_names_the_cause_and_leaves_nothing(tmp_path):
    with tmpfs(tmp_path / "small", size="64k") as folder:
        for bit_depth, clip_mode in [("24", "clamp"), ("24", "rescale"), ("32f", "rescale")]:
            path = folder / "song.wav"
            with pytest.raises(A2SBWriteError) as raised:
                write_blocks(path, QUIET, 4096, bit_depth=bit_depth, clip_mode=clip_mode)
            assert str(raised.value) == no_space_message(path)
            assert raised.value.__cause__.errno == errno.ENOSPC
            assert os.listdir(folder) == []


def test_an_injected_no_space_error_at_the_sync_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "song.flac"
    path.write_bytes(b"the previous result")
    monkeypatch.setattr(atomic_output.os, "fsync", fail_fsync_with(errno.ENOSPC))
    with pytest.raises(A2SBWriteError, match="song.flac: no space left on the device; free"):
        write_blocks(path, HOT, 4096, bit_depth="16")
    assert os.listdir(tmp_path) == ["song.flac"]
    assert path.read_bytes() == b"the previous result"


def test_a_minute_of_stereo_is_written_and_read_in_a_few_blocks_of_memory(tmp_path):
    """Python's allocation tracer counts numpy's buffers: the whole minute as float32 would
    take 21 MB; writing (through the rescale temporary) and reading stay under 4 MB."""
    path = tmp_path / "minute.wav"
    block, blocks = 8192, 60 * 44100 // 8192
    time = np.arange(block) / 44100
    tracemalloc.start()
    try:
        with streamed_output(path, 44100, 2, bit_depth="24") as writer:
            for index in range(blocks):
                tone = 1.5 * np.sin(2 * np.pi * 440 * (time + index * block / 44100))
                writer.write(np.stack([tone, -tone]).astype(np.float32))
        _, writing_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with AudioReader(path, 48000) as reader:
            samples = sum(resampled.shape[1] for resampled in reader.blocks())
        _, reading_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert samples == reader.samples == round(blocks * block * 48000 / 44100)
    assert writing_peak < 4e6 and reading_peak < 4e6, (writing_peak, reading_peak)

"""`restore_file` streams a file through the pipeline block by block and writes exactly what
`__call__` gives on the whole file, for the same seed."""

import numpy as np
import pytest
import soundfile
import torch
from fakes import micro_unet
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.io import audio_stream
from a2sb.io.audio import load_audio, save_audio
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.streamed_restoration import AudioProgress
from a2sb.schedulers import DBIMScheduler, I2SBScheduler

SMALL = {"num_inference_steps": 3, "window_frames": 64, "hop_frames": 32, "window_batch_size": 3}


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def pipeline(scheduler=None, fill="noise"):
    pipe = A2SBPipeline(micro_unet(), scheduler or I2SBScheduler(), fill=fill)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def streamed_and_in_memory(tmp_path, audio, rate, pipe, **arguments):
    source = tmp_path / "input.wav"
    save_audio(source, audio, rate, bit_depth="32f")
    output = pipe.restore_file(
        source, tmp_path / "streamed.wav", bit_depth="32f", generator=seeded(5), **arguments
    )
    streamed, streamed_rate = load_audio(tmp_path / "streamed.wav")
    waveform, _ = load_audio(source)
    expected = pipe(waveform, rate, generator=seeded(5), **arguments)
    assert streamed_rate == expected.sampling_rate == output.sampling_rate
    assert output.cutoff_hz == expected.cutoff_hz
    return streamed, expected.audios[0]


@pytest.fixture
def small_read_blocks(monkeypatch):
    """Read 3001 samples at a time: blocks that divide neither the hop nor the length."""
    monkeypatch.setattr(audio_stream, "BLOCK_SAMPLES", 3001)


@pytest.mark.parametrize("schedule", ["overlap", "shifted"])
@pytest.mark.parametrize("channels", [1, 2])
def test_streamed_bandwidth_extension_equals_the_in_memory_call(
    tmp_path, small_read_blocks, schedule, channels
):
    audio = synth_music(50_000, channels=channels)
    streamed, expected = streamed_and_in_memory(
        tmp_path, audio, 44100, pipeline(), cutoff_hz=4000, window_schedule=schedule, **SMALL
    )
    assert streamed.shape == expected.shape == audio.shape
    np.testing.assert_allclose(streamed, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("schedule", ["overlap", "shifted"])
@pytest.mark.parametrize("channels", [1, 2])
def test_streamed_inpainting_equals_the_in_memory_call(
    tmp_path, small_read_blocks, schedule, channels
):
    audio = synth_music(60_000, channels=channels, seed=1)
    streamed, expected = streamed_and_in_memory(
        tmp_path,
        audio,
        44100,
        pipeline(DBIMScheduler(eta=0.5)),
        task="inpainting",
        gaps=[(0.3, 0.45), (1.0, 1.05)],
        window_schedule=schedule,
        **SMALL,
    )
    np.testing.assert_allclose(streamed, expected, atol=1e-4, rtol=0)
    outside = np.ones(audio.shape[-1], bool)
    outside[int(0.25 * 44100) : int(0.5 * 44100)] = False
    outside[int(0.95 * 44100) : int(1.1 * 44100)] = False
    np.testing.assert_allclose(streamed[:, outside], audio[:, outside], atol=1e-4, rtol=0)


@pytest.mark.parametrize("task", ["bandwidth_extension", "inpainting"])
def test_streamed_prior_fill_equals_the_in_memory_call(tmp_path, small_read_blocks, task):
    arguments = {"cutoff_hz": 6000} if task == "bandwidth_extension" else {}
    if task == "inpainting":
        arguments = {"task": task, "gaps": [(0.2, 0.5), (0.9, 0.92)]}
    streamed, expected = streamed_and_in_memory(
        tmp_path,
        synth_music(70_000, channels=2, seed=2),
        44100,
        pipeline(fill="prior"),
        **arguments,
        **SMALL,
    )
    np.testing.assert_allclose(streamed, expected, atol=1e-4, rtol=0)


def test_a_48khz_file_is_resampled_streamed_and_written_back_at_its_rate(tmp_path):
    audio = synth_music(40_000, sampling_rate=48000, channels=2, seed=3)
    streamed, expected = streamed_and_in_memory(
        tmp_path, audio, 48000, pipeline(), output_sampling_rate=48000, **SMALL
    )
    assert streamed.shape == audio.shape
    np.testing.assert_allclose(streamed, expected, atol=1e-4, rtol=0)


def test_the_detected_cutoff_is_the_in_memory_one(tmp_path):
    from a2sb.io.audio import resample

    band_limited = resample(
        resample(synth_music(60_000, channels=2, seed=4), 44100, 16000), 16000, 44100
    )
    streamed, expected = streamed_and_in_memory(tmp_path, band_limited, 44100, pipeline(), **SMALL)
    np.testing.assert_allclose(streamed, expected, atol=1e-4, rtol=0)


def test_a_truncated_file_names_the_file_and_leaves_no_output(tmp_path):
    source = tmp_path / "song.wav"
    save_audio(source, synth_music(44100 * 2, channels=2), 44100)
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])  # the header still promises 2 s
    with pytest.raises(A2SBInputError, match="song.wav"):
        pipeline().restore_file(source, tmp_path / "out.wav", cutoff_hz=4000, **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_a_gap_outside_the_file_is_refused_before_restoring(tmp_path):
    source = tmp_path / "song.wav"
    save_audio(source, synth_music(44100, channels=1), 44100)
    with pytest.raises(A2SBInputError, match="gap"):
        pipeline().restore_file(
            source, tmp_path / "out.wav", task="inpainting", gaps=[(0.5, 3.0)], **SMALL
        )
    assert not (tmp_path / "out.wav").exists()


def test_progress_is_shown_in_seconds_of_audio():
    progress = AudioProgress(3671.0, file=None, disable=False, mininterval=0)
    with progress:
        progress.advance(750.0)
        line = progress.bar.desc
    assert line.startswith("restored 12:30 / 1:01:11 at ")
    assert line.endswith("× real time")


def test_restore_file_returns_no_audio_and_writes_the_input_length(tmp_path):
    source = tmp_path / "song.flac"
    soundfile.write(source, synth_music(30_000, channels=2).T, 44100)
    pipe = pipeline()
    output = pipe.restore_file(source, tmp_path / "out.flac", cutoff_hz=4000, **SMALL)
    assert output.audios is None
    assert soundfile.info(tmp_path / "out.flac").frames == 30_000


def test_the_model_never_sees_more_than_the_window_batch(tmp_path):
    from fakes import RecordingUNet

    source = tmp_path / "song.wav"
    save_audio(source, synth_music(80_000, channels=2), 44100)
    unet = RecordingUNet(scale=0.5)
    pipe = A2SBPipeline(unet, I2SBScheduler())
    pipe.set_progress_bar_config(disable=True)
    pipe.restore_file(source, tmp_path / "out.wav", cutoff_hz=4000, **SMALL)
    shapes = {shape for shape, _ in unet.calls}
    assert max(shape[0] for shape in shapes) == SMALL["window_batch_size"]
    assert {shape[1:] for shape in shapes} == {(3, 1024, SMALL["window_frames"])}


def test_freed_memory_is_bounded_after_every_written_block(tmp_path, monkeypatch):
    from a2sb.pipelines import streamed_restoration

    source = tmp_path / "song.wav"
    save_audio(source, synth_music(200_000, channels=2), 44100)
    written, checked = [], []
    monkeypatch.setattr(
        streamed_restoration, "return_excess_freed_memory", lambda: checked.append(len(written))
    )
    write = streamed_restoration.OverlapAddDecoder.push

    def recording_push(decoder, *arguments):
        written.append(None)
        return write(decoder, *arguments)

    monkeypatch.setattr(streamed_restoration.OverlapAddDecoder, "push", recording_push)
    pipeline().restore_file(source, tmp_path / "out.wav", cutoff_hz=4000, **SMALL)
    assert len(written) > 3  # 391 frames: blocks of 128
    assert checked == list(range(1, len(written) + 1))  # once after each block is written

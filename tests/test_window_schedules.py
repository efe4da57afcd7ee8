"""Window schedules, gap-only windows and a pipeline's own sampling defaults.

The schedules are explained in docs/concepts.md, "Shifted windows"."""

import numpy as np
import pytest
import torch
from fakes import RecordingUNet
from synth import synth_music

import a2sb.pipelines.wavefront as wavefront
from a2sb.errors import A2SBInputError
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.bridge_sampling import SamplingPlan
from a2sb.pipelines.multidiffusion import (
    Window,
    needed_windows,
    overlap_windows,
    padded_frames,
    shifted_windows,
)
from a2sb.schedulers import DBIMScheduler, I2SBScheduler


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _pipe(unet=None, scheduler=None, **kwargs) -> A2SBPipeline:
    pipe = A2SBPipeline(unet or RecordingUNet(), scheduler or I2SBScheduler(), **kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("frames", [256, 300, 862, 1000, 1024, 5003])
@pytest.mark.parametrize("step_index", [0, 1, 2, 7])
def test_shifted_windows_use_every_frame_exactly_once(frames, step_index):
    windows = shifted_windows(frames, 256, 128, step_index)
    coverage = np.zeros(frames, dtype=int)
    for window in windows:
        assert 0 <= window.start and window.start + 256 <= frames
        assert window.start <= window.used.start < window.used.stop <= window.start + 256
        coverage[window.used] += 1
    np.testing.assert_array_equal(coverage, 1)


def test_shifted_seams_alternate_between_0_and_128():
    even = shifted_windows(1024, 256, 128, 0)
    odd = shifted_windows(1024, 256, 128, 1)
    assert [w.start for w in even] == [0, 256, 512, 768]
    # odd steps: full windows from 128, then one window aligned to each edge
    assert [w.start for w in odd] == [0, 128, 384, 640, 768]
    assert odd[0].used == slice(0, 128) and odd[-1].used == slice(896, 1024)
    assert [w.start for w in shifted_windows(1024, 256, 128, 2)] == [0, 256, 512, 768]


def test_shifted_schedule_pads_no_frame_past_the_window():
    assert padded_frames(862, 256, 128, "shifted") == 862
    assert padded_frames(100, 256, 128, "shifted") == 256
    assert padded_frames(862, 256, 128, "overlap") == 896


def test_a_sampling_plan_pads_as_its_window_schedule_does():
    for schedule, padded in [("shifted", 862), ("overlap", 896)]:
        plan = SamplingPlan(1, 1, 10, schedule, 256, 128, 4)
        assert plan.padded_frames(862) == padded


def test_joined_output_is_zero_where_no_window_is_used():
    sums = wavefront.OutputSums(rows=1, frame_shape=(1, 1))
    sums.add(0, 0, torch.full((1, 1, 2), 3.0))  # a window whose output counts on frames 0, 1
    joined = sums.mean(0, 8)
    torch.testing.assert_close(joined[0, 0, 0], torch.tensor([3.0, 3, 0, 0, 0, 0, 0, 0]))


def test_needed_windows_skip_windows_over_known_frames():
    missing = torch.zeros(2, 1024, dtype=torch.bool)
    missing[1, 300:340] = True
    windows = shifted_windows(1024, 256, 128, 0)
    assert needed_windows(windows, missing) == [(1, Window(256, slice(256, 512)))]


def test_shifted_pipeline_evaluates_each_frame_once_per_step():
    unet = RecordingUNet()
    audio = synth_music(44100 * 3)  # 259 frames
    _pipe(unet)(audio, 44100, cutoff_hz=4000, num_inference_steps=3, window_schedule="shifted",
                window_frames=64, hop_frames=32, window_batch_size=1)  # fmt: skip
    windows_per_step = [len(shifted_windows(259, 64, 32, n)) for n in range(3)]
    assert len(unet.calls) == sum(windows_per_step)
    assert windows_per_step == [5, 5, 5]  # ⌈259 / 64⌉ windows, against 7 overlapping ones


@pytest.mark.parametrize("schedule", ["overlap", "shifted"])
@pytest.mark.parametrize("scheduler", [I2SBScheduler(), DBIMScheduler(eta=0.3)])
def test_gap_only_windows_give_the_same_result_as_every_window(monkeypatch, schedule, scheduler):
    audio = synth_music(44100 * 2, channels=2)
    arguments = {
        "task": "inpainting",
        "gaps": [(0.8, 1.1)],
        "num_inference_steps": 3,
        "window_schedule": schedule,
        "window_frames": 64,
        "hop_frames": 32,
        "output_type": "latent",
    }
    pipe = _pipe(RecordingUNet(scale=0.7), scheduler)
    skipped = pipe(audio, 44100, generator=seeded(4), **arguments).audios

    def every_window(windows, missing_frames):
        return [(item, w) for w in windows for item in range(missing_frames.shape[0])]

    monkeypatch.setattr(wavefront, "needed_windows", every_window)
    every = pipe(audio, 44100, generator=seeded(4), **arguments).audios
    torch.testing.assert_close(skipped, every, atol=1e-6, rtol=0)


def test_half_second_gap_in_3_minutes_costs_a_handful_of_windows_per_step():
    frames = 15504  # 3 minutes at 44.1 kHz
    missing = torch.zeros(1, padded_frames(frames, 256, 128), dtype=torch.bool)
    missing[0, 7751:7794] = True  # 90.0-90.5 s
    for schedule_windows in (overlap_windows(missing.shape[1], 256, 128),
                             shifted_windows(frames, 256, 128, 1)):  # fmt: skip
        assert len(needed_windows(schedule_windows, missing)) <= 3
    assert len(overlap_windows(missing.shape[1], 256, 128)) == 121


def test_pipeline_inpainting_calls_the_model_only_near_the_gap():
    unet = RecordingUNet()
    audio = synth_music(44100 * 30, seed=2)
    _pipe(unet)(audio, 44100, task="inpainting", gaps=[(15.0, 15.5)], num_inference_steps=2,
                window_batch_size=1)  # fmt: skip
    assert len(unet.calls) / 2 <= 3  # against 20 overlapping windows over 30 s


def test_saved_sampling_defaults_are_what_a_bare_call_uses(tmp_path):
    defaults = {"num_inference_steps": 3, "window_schedule": "shifted"}
    pipe = _pipe(RecordingUNet(), DBIMScheduler(), sampling_defaults=defaults)
    pipe.save_pretrained(tmp_path)
    loaded = A2SBPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert type(loaded.scheduler) is DBIMScheduler
    assert loaded.config.sampling_defaults == defaults
    audio = synth_music(44100 * 3)
    loaded(audio, 44100, cutoff_hz=4000, window_frames=64, hop_frames=32, window_batch_size=1)
    assert len(loaded.unet.calls) == sum(len(shifted_windows(259, 64, 32, n)) for n in range(3))


def test_a_pipeline_without_sampling_defaults_uses_the_release_sampler():
    pipe = _pipe()
    assert pipe.config.sampling_defaults == {
        "num_inference_steps": 49,
        "window_schedule": "overlap",
    }


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        ({"window_schedule": "spiral"}, "window_schedule 'spiral'"),
        ({"num_inference_steps": 0}, r"must lie in \[1, 1000\]"),
        ({"steps": 8}, r"unknown sampling_defaults \['steps'\]"),
    ],
)
def test_bad_sampling_defaults_are_refused(defaults, message):
    with pytest.raises(A2SBInputError, match=message):
        _pipe(sampling_defaults=defaults)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"window_schedule": "spiral"}, "unknown window_schedule 'spiral'"),
        ({"num_inference_steps": 0}, r"must lie in \[1, 1000\]"),
    ],
)
def test_bad_call_arguments_are_refused_before_any_model_call(arguments, message):
    unet = RecordingUNet()
    with pytest.raises(A2SBInputError, match=message):
        _pipe(unet)(synth_music(44100), 44100, cutoff_hz=4000, **arguments)
    assert unet.calls == []

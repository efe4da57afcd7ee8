"""The wavefront sampler walks the bridge loop over frame blocks and gives exactly what the
whole-state loop gives, whatever the block sizes, in memory that does not grow with length."""

import pytest
import torch
from tqdm import tqdm

from a2sb.pipelines.bridge_sampling import SamplingPlan, sample_whole_state
from a2sb.pipelines.keyed_noise import NOISE_BLOCK_FRAMES, KeyedNoise
from a2sb.pipelines.missing_region import MissingRegion
from a2sb.pipelines.multidiffusion import tile_frames
from a2sb.pipelines.wavefront import WavefrontSampler
from a2sb.schedulers import DBIMScheduler, I2SBScheduler

FREQ = 16
WINDOW, HOP = 64, 32


def position_aware_model(calls=None):
    """A stand-in network whose output depends on t and on the frame's place in its window,
    so that a wrong window, join or time shows; records the partition of each call."""

    def model_fn(windows, timesteps):
        if calls is not None:
            calls.append(timesteps.clone())
        ramp = torch.linspace(-1, 1, windows.shape[-1])
        return torch.tanh(0.9 * windows + timesteps[:, None, None, None] * ramp)

    return model_fn


def bandwidth_region(rows, frames):
    return MissingRegion(rows, FREQ, frames, first_missing_rows=(9,) * rows)


def gap_region(rows, frames, gaps):
    return MissingRegion(rows, FREQ, frames, gap_frames=tuple(gaps))


def plan(schedule, steps=4, items=1, noise_channels=1, batch=3):
    return SamplingPlan(items, noise_channels, steps, schedule, WINDOW, HOP, batch)


def whole_state(scheduler, region, x1, the_plan, noise, model_fn):
    total = the_plan.padded_frames(region.frames)
    return sample_whole_state(
        scheduler,
        model_fn,
        tile_frames(x1, total),
        region.mask(0, total).bool(),
        region.missing_frames(0, total),
        the_plan,
        noise,
        tqdm(disable=True),
    )[..., : region.frames]


def wavefront(scheduler, region, x1, the_plan, noise, model_fn, push_frames, on_push=None):
    sampler = WavefrontSampler(scheduler, model_fn, region, the_plan, noise, (x1.shape[1], FREQ))
    finished = []
    for start in range(0, region.frames, push_frames):
        finished += sampler.push(x1[..., start : start + push_frames])
        if on_push is not None:
            on_push(sampler)
    finished += sampler.finish()
    return torch.cat(finished, dim=-1), sampler


def random_x1(rows, frames, seed=0):
    return torch.randn(rows, 3, FREQ, frames, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("schedule", ["overlap", "shifted"])
@pytest.mark.parametrize("push_frames", [37, 128, 300, 5000])
@pytest.mark.parametrize("task", ["bandwidth_extension", "inpainting"])
def test_wavefront_equals_the_whole_state_loop(schedule, push_frames, task):
    frames = 1001  # not a multiple of the block, the hop or the window
    rows = 2  # one stereo item, its channels sharing the noise
    region = (
        bandwidth_region(rows, frames)
        if task == "bandwidth_extension"
        else gap_region(rows, frames, [(100, 160), (700, 705)])
    )
    x1 = random_x1(rows, frames)
    the_plan = plan(schedule)
    noise = KeyedNoise(7, items=1, noise_channels=1, frame_shape=(3, FREQ))
    model_fn = position_aware_model()
    expected = whole_state(I2SBScheduler(), region, x1, the_plan, noise, model_fn)
    got, _ = wavefront(I2SBScheduler(), region, x1, the_plan, noise, model_fn, push_frames)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("frames", [40, 64, 200])
def test_audio_shorter_than_a_few_windows_wraps_around_as_the_whole_state_loop(frames):
    region = bandwidth_region(2, frames)
    x1 = random_x1(2, frames, seed=1)
    the_plan = plan("overlap", items=2, noise_channels=1)
    noise = KeyedNoise(3, items=2, noise_channels=1, frame_shape=(3, FREQ))
    model_fn = position_aware_model()
    expected = whole_state(I2SBScheduler(), region, x1, the_plan, noise, model_fn)
    got, _ = wavefront(I2SBScheduler(), region, x1, the_plan, noise, model_fn, 29)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_dbim_with_booting_noise_and_two_partitions_batches_one_partition_per_call():
    scheduler = DBIMScheduler(eta=0.4, t_cutoffs=[0.5])
    region = bandwidth_region(1, 900)
    x1 = random_x1(1, 900, seed=2)
    the_plan = plan("shifted", steps=6, batch=4)
    noise = KeyedNoise(11, items=1, noise_channels=1, frame_shape=(3, FREQ))
    expected = whole_state(scheduler, region, x1, the_plan, noise, position_aware_model())
    calls = []
    got, _ = wavefront(scheduler, region, x1, the_plan, noise, position_aware_model(calls), 64)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    partitions = [set(scheduler.partition_index(t).tolist()) for t in calls]
    assert all(len(p) == 1 for p in partitions)
    assert any(len(set(t.tolist())) > 1 for t in calls), "levels were never batched together"


def test_only_windows_near_the_gaps_are_evaluated():
    region = gap_region(1, 2000, [(1000, 1010)])
    calls = []
    wavefront(
        I2SBScheduler(),
        region,
        random_x1(1, 2000),
        plan("overlap", steps=3, batch=1),
        KeyedNoise(0, 1, 1, (3, FREQ)),
        position_aware_model(calls),
        128,
    )
    assert len(calls) == 3 * 2  # per step, the two windows that hold frames 1000..1009


@pytest.mark.parametrize("schedule", ["overlap", "shifted"])
def test_frames_alive_do_not_grow_with_the_length(schedule):
    steps = 5

    def peak_blocks(frames):
        peak = [0]

        def count(sampler):
            alive = len(sampler.degraded.blocks) + sum(
                len(level.sample.blocks) + len(level.outputs.sums) for level in sampler.levels[1:]
            )
            peak[0] = max(peak[0], alive)

        wavefront(
            I2SBScheduler(),
            bandwidth_region(1, frames),
            random_x1(1, frames),
            plan(schedule, steps=steps),
            KeyedNoise(0, 1, 1, (3, FREQ)),
            position_aware_model(),
            NOISE_BLOCK_FRAMES,
            on_push=count,
        )
        return peak[0]

    short, long = peak_blocks(1500), peak_blocks(6000)
    assert long == short
    window_blocks = WINDOW // NOISE_BLOCK_FRAMES + 2
    assert long <= (steps + 3) * 3 * window_blocks

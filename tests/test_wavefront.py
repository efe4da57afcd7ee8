"""The wavefront sampler walks the bridge loop over frame blocks and gives exactly what
Algorithm 1 over the whole state gives, whatever the block sizes, in memory that does not grow
with length; with a step-end callback it shows, and lets the caller replace, the whole state."""

import pytest
import torch

from a2sb.pipelines.bridge_sampling import SamplingPlan
from a2sb.pipelines.keyed_noise import NOISE_BLOCK_FRAMES, KeyedNoise
from a2sb.pipelines.missing_region import MissingRegion
from a2sb.pipelines.multidiffusion import needed_windows, schedule_windows, tile_frames
from a2sb.pipelines.wavefront import FrameQueue, WavefrontSampler, sampled
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
    """The oracle: Algorithm 1 written plainly, every step over the whole padded state, each
    window sent to the model alone and the outputs averaged where windows overlap."""
    total = the_plan.padded_frames(region.frames)
    degraded, mask = tile_frames(x1, total), region.mask(0, total).bool()

    def items(tensor):
        return tensor.unflatten(0, (the_plan.items, -1))

    scheduler.set_timesteps(the_plan.num_inference_steps)
    sample = degraded
    for step_index, t in enumerate(scheduler.timesteps):
        windows = schedule_windows(the_plan.window_schedule, total, WINDOW, HOP, step_index)
        sums, counts = torch.zeros_like(sample), torch.zeros(sample.shape[0], total)
        for row, window in needed_windows(windows, region.missing_frames(0, total)):
            inputs = sample[row : row + 1, ..., window.start : window.start + WINDOW]
            output = model_fn(inputs, t[None])[0]
            used, offset = window.used, window.start
            sums[row, ..., used] += output[..., used.start - offset : used.stop - offset]
            counts[row, used] += 1
        step_noise = noise.draw(step_index, 0, total) if scheduler.needs_noise(t) else None
        sample, x0_hat = scheduler.step(
            items(sums / counts.clamp(min=1)[:, None, None]),
            t,
            items(sample),
            return_dict=False,
            mask=items(mask),
            degraded_samples=items(degraded),
            noise=step_noise,
        )
        sample, x0_hat = sample.flatten(0, 1), x0_hat.flatten(0, 1)
    return x0_hat[..., : region.frames]


def wavefront(
    scheduler, region, x1, the_plan, noise, model_fn, push_frames, on_push=None, step_end=None
):
    frame_shape = (x1.shape[1], FREQ)
    sampler = WavefrontSampler(scheduler, model_fn, region, the_plan, noise, frame_shape, step_end)
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
def test_wavefront_equals_algorithm_1_over_the_whole_state(schedule, push_frames, task):
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


@pytest.mark.parametrize("task", ["bandwidth_extension", "inpainting"])
def test_a_step_end_callback_sees_every_step_over_the_whole_state(task):
    frames = 700
    region = (
        bandwidth_region(2, frames)
        if task == "bandwidth_extension"
        else gap_region(2, frames, [(100, 160), (600, 605)])
    )
    x1 = random_x1(2, frames)
    the_plan = plan("overlap")
    noise = KeyedNoise(5, items=1, noise_channels=1, frame_shape=(3, FREQ))
    seen = []

    def step_end(step_index, timestep, tensors):
        seen.append((step_index, round(float(timestep), 4), tensors["sample"].shape))
        assert torch.isfinite(tensors["pred_original_sample"]).all()

    model_fn = position_aware_model()
    got, _ = wavefront(I2SBScheduler(), region, x1, the_plan, noise, model_fn, 128, None, step_end)
    expected = whole_state(I2SBScheduler(), region, x1, the_plan, noise, model_fn)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    grid = I2SBScheduler()
    grid.set_timesteps(4)
    shape = (2, 3, FREQ, the_plan.padded_frames(frames))
    assert seen == [(n, round(float(t), 4), shape) for n, t in enumerate(grid.timesteps)]


def test_the_sample_a_step_end_callback_returns_is_where_the_next_step_starts():
    region = bandwidth_region(1, 300)
    inputs_at_step_1 = []
    scheduler = I2SBScheduler()

    def model_fn(windows, timesteps):
        if float(timesteps[0]) == float(scheduler.timesteps[1]):
            inputs_at_step_1.append(windows)
        return torch.zeros_like(windows)

    def step_end(step_index, timestep, tensors):
        return {"sample": torch.full_like(tensors["sample"], 7.0)} if step_index == 0 else None

    the_plan, noise = plan("shifted", steps=3), KeyedNoise(0, 1, 1, (3, FREQ))
    wavefront(scheduler, region, random_x1(1, 300), the_plan, noise, model_fn, 300, None, step_end)
    assert inputs_at_step_1 and all(bool((w == 7.0).all()) for w in inputs_at_step_1)


def test_one_whole_source_gives_what_blocks_give():
    region = gap_region(1, 500, [(200, 260)])
    x1 = random_x1(1, 500, seed=4)
    the_plan, noise = plan("overlap"), KeyedNoise(9, 1, 1, (3, FREQ))
    sampler = WavefrontSampler(
        I2SBScheduler(), position_aware_model(), region, the_plan, noise, (3, FREQ)
    )
    whole = torch.cat(list(sampled(sampler, [x1])), dim=-1)
    blocks, _ = wavefront(I2SBScheduler(), region, x1, the_plan, noise, position_aware_model(), 50)
    torch.testing.assert_close(whole, blocks, atol=1e-6, rtol=0)


def test_a_frame_queue_gives_the_frames_back_in_order_in_any_pieces():
    queue = FrameQueue()
    queue.put(torch.arange(5.0))
    queue.put(torch.arange(5.0, 7.0))
    queue.put(torch.arange(7.0, 20.0))
    pieces = [queue.take(n) for n in (3, 4, 1, 12)]
    assert torch.equal(torch.cat(pieces), torch.arange(20.0))
    assert queue.frames == 0

"""The bridge loop as a wavefront over blocks of frames: any length in bounded memory.

Explained, with the equation of a step's reach, in docs/concepts.md, "The wavefront".

A step couples frames only through the model's windows. x_{n+1} on a frame is known as soon as
every window of step n that uses the frame has been evaluated, and those windows need x_n only
over their own frames. So the levels of the loop (level n holds x_n, the state at step n's
time; level 0 is x1) can advance together, each a little behind the one before:

- x1 enters level 0 in blocks of `BLOCK_FRAMES` frames, as the caller encodes the audio;
- each round evaluates every window that has become ready at any level (its frames of x_n
  are all known), batched together whatever their level, each batch within one partition of
  the scheduler (the UNet takes one t per window);
- then every level steps the frames whose model output is complete, handing them to the next
  level; the last level's x0 estimate is the result, given back in order;
- frames that no level needs any more are dropped.

Level n + 1 trails level n by about a window, so each level keeps a few blocks alive and x1 is
kept over about `num_inference_steps` + 3 blocks, whatever the duration. The windows are
Algorithm 1's, the step elementwise and the noise `KeyedNoise`'s, so the result does not depend
on how x1 is cut into blocks, to the rounding of batched model calls: `A2SBPipeline.__call__`
gives the whole batch in memory as one source, `restore_file` a file's blocks as they are read.

With a `step_end` callback (`A2SBPipeline.__call__`'s `callback_on_step_end`), level n + 1
starts only once level n has stepped every frame, so that the callback sees, and may replace,
the full state after each step; the levels then hold the whole state, as in-memory sampling
does anyway.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch

from a2sb.pipelines.bridge_sampling import ModelFn, SamplingPlan
from a2sb.pipelines.keyed_noise import NOISE_BLOCK_FRAMES, KeyedNoise
from a2sb.pipelines.missing_region import MissingRegion
from a2sb.pipelines.multidiffusion import Window, needed_windows, schedule_windows, tile_frames
from a2sb.schedulers import BridgeScheduler

BLOCK_FRAMES = NOISE_BLOCK_FRAMES
"""Frames per block of the wavefront: the keyed-noise grid, so that each step draws whole
noise blocks."""

StepEnd = Callable[[int, torch.Tensor, dict[str, torch.Tensor]], dict[str, torch.Tensor] | None]
"""`fn(step_index, timestep, tensors)` after each step over all frames, with `tensors =
{"sample": x_s, "pred_original_sample": x0_hat}`, each `[rows, C, F, padded_frames]`; may
return a dict with a replacement "sample"."""


class FrameQueue:
    """Frames waiting for their turn: put blocks `[..., n]` in, take the first frames out.

    A block is sliced, not copied, so a whole tensor put at once is taken in pieces in linear
    time.
    """

    def __init__(self) -> None:
        self.blocks: deque[torch.Tensor] = deque()
        self.frames = 0

    def put(self, block: torch.Tensor) -> None:
        """Queue `block` `[..., n]` after the frames already waiting."""
        if block.shape[-1]:
            self.blocks.append(block)
            self.frames += block.shape[-1]

    def take(self, frames: int) -> torch.Tensor:
        """The first `frames` frames waiting (at most `self.frames`), `[..., frames]`."""
        parts, wanted = [], frames
        while wanted:
            block = self.blocks.popleft()
            if block.shape[-1] > wanted:
                self.blocks.appendleft(block[..., wanted:])
                block = block[..., :wanted]
            parts.append(block)
            wanted -= block.shape[-1]
        self.frames -= frames
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def step_frames(
    scheduler: BridgeScheduler,
    model_output: torch.Tensor,
    timestep: torch.Tensor,
    sample: torch.Tensor,
    degraded: torch.Tensor,
    mask: torch.Tensor,
    noise: torch.Tensor | None,
    items: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One scheduler step on a range of frames of every row (paper eq. 19, or DBIM's).

    Args:
        scheduler: the bridge sampler, its timesteps set.
        model_output: `[rows, C, F, n]`, rows = items · channels.
        timestep: the step's t.
        sample: x_t, `[rows, C, F, n]`.
        degraded: x1, `[rows, C, F, n]`.
        mask: bool `[rows, 1, F, n]`, True = missing.
        noise: `[items, noise_channels, C, F, n]` (shared by an item's channels when
            noise_channels is 1), or None when the step draws none.
        items: how the rows split into items.

    Returns:
        `(x_s, x0_hat)`, each `[rows, C, F, n]`.
    """
    prev_sample, pred_original_sample = scheduler.step(
        model_output.unflatten(0, (items, -1)),
        timestep,
        sample.unflatten(0, (items, -1)),
        return_dict=False,
        mask=mask.unflatten(0, (items, -1)),
        degraded_samples=degraded.unflatten(0, (items, -1)),
        noise=noise,
    )
    return prev_sample.flatten(0, 1), pred_original_sample.flatten(0, 1)


def block_spans(start: int, stop: int) -> Iterator[tuple[int, slice, slice]]:
    """The blocks that frames `[start, stop)` touch: `(block, frames within the block, the same
    frames within the range)`."""
    for block in range(start // BLOCK_FRAMES, (stop - 1) // BLOCK_FRAMES + 1):
        block_start = block * BLOCK_FRAMES
        low, high = max(start, block_start), min(stop, block_start + BLOCK_FRAMES)
        yield block, slice(low - block_start, high - block_start), slice(low - start, high - start)


class FrameBlocks:
    """A tensor `[rows, C, F, frames]` over a band of frames, kept as blocks of BLOCK_FRAMES."""

    def __init__(self) -> None:
        self.blocks: dict[int, torch.Tensor] = {}

    def put(self, start: int, tensor: torch.Tensor) -> None:
        """Store frames `[start, start + n)` (`start` a multiple of BLOCK_FRAMES)."""
        for offset in range(0, tensor.shape[-1], BLOCK_FRAMES):
            block = tensor[..., offset : offset + BLOCK_FRAMES]
            self.blocks[(start + offset) // BLOCK_FRAMES] = block

    def get(self, start: int, stop: int) -> torch.Tensor:
        """Frames `[start, stop)` within one block, which must be stored: a view."""
        block = start // BLOCK_FRAMES
        offset = block * BLOCK_FRAMES
        if (stop - 1) // BLOCK_FRAMES != block:
            raise ValueError(f"frames [{start}, {stop}) are not within one block")
        return self.blocks[block][..., start - offset : stop - offset]

    def copy_row(self, row: int, start: int, out: torch.Tensor) -> None:
        """Copy frames `[start, start + n)` of `row` into `out` `[C, F, n]`, block by block."""
        for block, in_block, in_range in block_spans(start, start + out.shape[-1]):
            out[..., in_range] = self.blocks[block][row, ..., in_block]

    def new_empty(self, *shape: int) -> torch.Tensor:
        """An uninitialized tensor of `shape` with the blocks' dtype and device."""
        return next(iter(self.blocks.values())).new_empty(shape)

    def drop_before(self, frame: int) -> None:
        """Forget the blocks that end at or before `frame`."""
        for block in [b for b in self.blocks if (b + 1) * BLOCK_FRAMES <= frame]:
            del self.blocks[block]


class OutputSums:
    """Sums and counts of window outputs per frame (MultiDiffusion's mean, paper §3.6)."""

    def __init__(self, rows: int, frame_shape: tuple[int, ...]) -> None:
        self.rows = rows
        self.frame_shape = frame_shape
        self.sums: dict[int, torch.Tensor] = {}
        self.counts: dict[int, torch.Tensor] = {}

    def add(self, row: int, start: int, values: torch.Tensor) -> None:
        """Add a window's output `[C, F, n]` on frames `[start, start + n)` of `row`."""
        for block, in_block, in_range in block_spans(start, start + values.shape[-1]):
            if block not in self.sums:
                self.sums[block] = torch.zeros(self.rows, *self.frame_shape, BLOCK_FRAMES)
                self.counts[block] = torch.zeros(self.rows, BLOCK_FRAMES)
            self.sums[block][row, ..., in_block] += values[..., in_range]
            self.counts[block][row, in_block] += 1

    def mean(self, start: int, stop: int) -> torch.Tensor:
        """`[rows, C, F, stop − start]` for one block's frames: 0 where no window counted."""
        block = start // BLOCK_FRAMES
        inside = slice(start - block * BLOCK_FRAMES, stop - block * BLOCK_FRAMES)
        if block not in self.sums:
            return torch.zeros(self.rows, *self.frame_shape, stop - start)
        counts = self.counts[block][:, inside].clamp(min=1)[:, None, None, :]
        return self.sums[block][..., inside] / counts

    def drop_before(self, frame: int) -> None:
        """Forget the blocks that end at or before `frame`."""
        for block in [b for b in self.sums if (b + 1) * BLOCK_FRAMES <= frame]:
            del self.sums[block], self.counts[block]


@dataclass
class Level:
    """Step n of the loop over the band of frames it is working on.

    Attributes:
        index: n.
        timestep: t_n.
        partition: the model partition of t_n (0 for a single model).
        pairs: the (row, window) pairs of step n with missing content, in frame order.
        sample: x_n over the band (level 0: x1, shared with the sampler).
        outputs: the model outputs of the evaluated windows.
        available: x_n is known on frames `[0, available)`.
        stepped: x_{n+1} is computed on frames `[0, stepped)`.
        next_pair: the first pair not yet evaluated.
        ended: with a `step_end` callback, the `(x_{n+1}, x0_hat)` blocks stepped so far.
    """

    index: int
    timestep: torch.Tensor
    partition: int
    pairs: list[tuple[int, Window]]
    sample: FrameBlocks
    outputs: OutputSums
    available: int = 0
    stepped: int = 0
    next_pair: int = 0
    ended: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)

    def take_ready_pairs(self, window_frames: int) -> list[tuple[int, Window]]:
        """The next pairs whose window lies in `[0, available)`, marked as evaluated."""
        first = self.next_pair
        while (
            self.next_pair < len(self.pairs)
            and self.pairs[self.next_pair][1].start + window_frames <= self.available
        ):
            self.next_pair += 1
        return self.pairs[first : self.next_pair]

    def complete_until(self, padded_frames: int) -> int:
        """Frames `[0, f)` with a complete model output and a known x_n, f on the block grid
        (or the end)."""
        if self.next_pair < len(self.pairs):
            complete = min(self.pairs[self.next_pair][1].used.start, self.available)
        else:
            complete = self.available
        if complete == padded_frames:
            return complete
        return complete // BLOCK_FRAMES * BLOCK_FRAMES

    def first_needed_frame(self) -> int:
        """The first frame of x_n that a later window or step reads."""
        if self.next_pair < len(self.pairs):
            return min(self.stepped, self.pairs[self.next_pair][1].start)
        return self.stepped


class WavefrontSampler:
    """The bridge loop over x1 given block by block; gives x0_hat back block by block.

    Args:
        scheduler: the bridge sampler (its timesteps are set here).
        model_fn: the network on batches of windows (one partition per call).
        region: what is missing, for the masks and for skipping windows without missing
            content.
        plan: the loop's settings; the windows tile its `padded_frames` P of the region's T
            frames, frames T..P−1 being x1's frames i mod T.
        noise: the keyed step noise.
        frame_shape: `(repr_channels, freq)` of one frame.
        step_end: called after each step over all frames (`StepEnd`); the levels then step
            one after the other, over the whole state.
    """

    def __init__(
        self,
        scheduler: BridgeScheduler,
        model_fn: ModelFn,
        region: MissingRegion,
        plan: SamplingPlan,
        noise: KeyedNoise,
        frame_shape: tuple[int, ...],
        step_end: StepEnd | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.model_fn = model_fn
        self.region = region
        self.frames = region.frames
        padded_frames = plan.padded_frames(region.frames)
        self.padded_frames = padded_frames
        self.plan = plan
        self.noise = noise
        self.step_end = step_end
        self.frame_shape = frame_shape
        scheduler.set_timesteps(plan.num_inference_steps)
        missing_frames = region.missing_frames(0, padded_frames)
        self.degraded = FrameBlocks()
        self.levels = [
            Level(
                index=n,
                timestep=timestep,
                partition=int(scheduler.partition_index(float(timestep))),
                pairs=needed_windows(
                    schedule_windows(
                        plan.window_schedule,
                        padded_frames,
                        plan.window_frames,
                        plan.hop_frames,
                        n,
                    ),
                    missing_frames,
                ),
                sample=self.degraded if n == 0 else FrameBlocks(),
                outputs=OutputSums(region.rows, frame_shape),
            )
            for n, timestep in enumerate(scheduler.timesteps)
        ]
        self.pending = FrameQueue()
        self.received = 0
        self.head = min(self.frames, padded_frames - self.frames)
        self.head_frames: list[torch.Tensor] = []

    @property
    def windows(self) -> int:
        """The windows the model will evaluate, all steps together."""
        return sum(len(level.pairs) for level in self.levels)

    def push(self, degraded: torch.Tensor) -> list[torch.Tensor]:
        """Take the next frames of x1 `[rows, C, F, n]`; return the x0_hat frames now finished.

        Returns:
            x0_hat blocks `[rows, C, F, k]`, in frame order, following the previous ones.
        """
        if self.received < self.head:
            self.head_frames.append(degraded[..., : self.head - self.received].clone())
        self.received += degraded.shape[-1]
        self.pending.put(degraded)
        finished = []
        while self.pending.frames >= BLOCK_FRAMES:
            self._enter(self.pending.take(BLOCK_FRAMES))
            finished += self._round()
        return finished

    def finish(self) -> list[torch.Tensor]:
        """After the last frames of x1: pad them cyclically and run the loop to its end.

        Returns:
            The remaining x0_hat blocks; with those of `push`, exactly T frames.
        """
        if self.received != self.frames:
            raise ValueError(f"got {self.received} frames of x1, expected {self.frames}")
        if self.padded_frames > self.frames:
            head = torch.cat(self.head_frames, dim=-1)  # frame T + j is frame j mod T
            self.pending.put(tile_frames(head, self.padded_frames - self.frames))
        finished = []
        while self.pending.frames:
            self._enter(self.pending.take(min(BLOCK_FRAMES, self.pending.frames)))
            finished += self._round()
        while self.levels[-1].stepped < self.padded_frames:
            before = [level.stepped for level in self.levels]
            finished += self._round()
            if [level.stepped for level in self.levels] == before:
                raise RuntimeError("the wavefront sampler stalled; this is a bug in a2sb")
        return finished

    def _enter(self, block: torch.Tensor) -> None:
        """Frames of x1 (or its padding) enter level 0."""
        first = self.levels[0]
        self.degraded.put(first.available, block.contiguous())
        first.available += block.shape[-1]

    def _round(self) -> list[torch.Tensor]:
        """Evaluate every ready window, then step every level as far as it can go."""
        ready = [
            (level, row, window)
            for level in reversed(self.levels)
            for row, window in level.take_ready_pairs(self.plan.window_frames)
        ]
        for partition in dict.fromkeys(level.partition for level, _, _ in ready):
            in_partition = [pair for pair in ready if pair[0].partition == partition]
            for first in range(0, len(in_partition), self.plan.window_batch_size):
                self._evaluate(in_partition[first : first + self.plan.window_batch_size])
        finished = []
        for level in self.levels:
            finished += self._step(level)
            self._forget(level)
        needed = [level.first_needed_frame() for level in self.levels]  # windows read x1 too
        self.degraded.drop_before(min(*needed, self.levels[-1].stepped))
        return finished

    def _evaluate(self, batch: list[tuple[Level, int, Window]]) -> None:
        """One model call on windows of possibly different levels; their outputs are added."""
        channels, freq = self.frame_shape
        if self.plan.condition_on_degraded:
            channels *= 2
        windows = self.degraded.new_empty(len(batch), channels, freq, self.plan.window_frames)
        for (level, row, window), into in zip(batch, windows, strict=True):
            self._copy_window(level, row, window.start, into)
        timesteps = torch.stack([level.timestep for level, _, _ in batch])
        outputs = self.model_fn(windows, timesteps)
        for (level, row, window), output in zip(batch, outputs, strict=True):
            used = output[..., window.used.start - window.start : window.used.stop - window.start]
            level.outputs.add(row, window.used.start, used)

    def _copy_window(self, level: Level, row: int, start: int, into: torch.Tensor) -> None:
        """Level `level`'s x_n on frames `[start, start + W)` of `row` into `into` `[C, F, W]`;
        followed along the channels by x1's frames (`into` `[2C, F, W]`) when the network also
        sees x1."""
        channels = self.frame_shape[0]
        level.sample.copy_row(row, start, into[:channels])
        if self.plan.condition_on_degraded:
            self.degraded.copy_row(row, start, into[channels:])

    def _step(self, level: Level) -> list[torch.Tensor]:
        """Step `level` over its newly complete blocks; the last level returns x0_hat."""
        finished = []
        complete = level.complete_until(self.padded_frames)
        for start in range(level.stepped, complete, BLOCK_FRAMES):
            stop = min(start + BLOCK_FRAMES, complete)
            noise = None
            if self.scheduler.needs_noise(level.timestep):
                noise = self.noise.draw(level.index, start, stop)
            prev_sample, pred_original_sample = step_frames(
                self.scheduler,
                level.outputs.mean(start, stop),
                level.timestep,
                level.sample.get(start, stop),
                self.degraded.get(start, stop),
                self.region.mask(start, stop).bool(),
                noise,
                self.plan.items,
            )
            level.stepped = stop
            if self.step_end is not None:
                level.ended.append((prev_sample, pred_original_sample))
            elif level.index + 1 < len(self.levels):
                self._hand_on(level, start, prev_sample)
            if level.index + 1 == len(self.levels) and start < self.frames:
                finished.append(pred_original_sample[..., : min(stop, self.frames) - start])
        if level.ended and level.stepped == self.padded_frames:
            self._end_step(level)
        return finished

    def _hand_on(self, level: Level, start: int, prev_sample: torch.Tensor) -> None:
        """x_{n+1} on frames `[start, start + k)` becomes the next level's, known up to there."""
        following = self.levels[level.index + 1]
        following.sample.put(start, prev_sample)
        following.available = start + prev_sample.shape[-1]

    def _end_step(self, level: Level) -> None:
        """Step n is done over all frames: call `step_end` and hand on its (replaced) x_{n+1}."""
        samples, pred_original_samples = zip(*level.ended, strict=True)
        level.ended.clear()
        sample = torch.cat(samples, dim=-1)
        tensors = {"sample": sample, "pred_original_sample": torch.cat(pred_original_samples, -1)}
        replaced = self.step_end(level.index, level.timestep, tensors) or {}
        sample.copy_(replaced.get("sample", sample))
        if level.index + 1 < len(self.levels):
            self._hand_on(level, 0, sample)

    def _forget(self, level: Level) -> None:
        """Drop the frames of `level` that it has stepped and no window reads any more, as soon
        as it has stepped, so that they are freed before the next level allocates its new ones
        (about a block per level less at the peak of a round)."""
        if level.index:
            level.sample.drop_before(level.first_needed_frame())
        level.outputs.drop_before(level.stepped)


def sampled(sampler: WavefrontSampler, degraded: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
    """Run `sampler` over x1 given in pieces `[rows, C, F, n]` (T frames in all, any cut).

    Yields:
        x0_hat `[rows, C, F, k]`, in frame order, T frames in all, each as soon as it is done.
    """
    for piece in degraded:
        yield from sampler.push(piece)
    yield from sampler.finish()

"""Order-free noise: every draw of a restoration is keyed by (seed, item, step, block).

Explained in docs/concepts.md, "Keyed noise".

A sampler that walks the frames in blocks (streaming) and one that steps the whole state at
once (in memory) draw their noise in different orders. If both took their draws from one
generator in turn, they would get different numbers. Here the noise of frames
`[b·B, (b + 1)·B)` of batch item `i` at step `n` comes from its own generator, seeded from
(seed, i, n, b), B = `NOISE_BLOCK_FRAMES`: the draw of a frame is the same whatever the block
size, batch size or order in which the frames are processed. The endpoint fill draws under
step `FILL_STEP`. With one generator per item (diffusers' convention), item i is keyed by
(seed_i, 0, n, b) instead: it draws what it would draw restored alone with generator i.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from a2sb.schedulers.bridge_math import check_generators

NOISE_BLOCK_FRAMES = 128
"""Frames per keyed draw: the grid of the keys, fixed so that results never depend on how a
sampler cuts the frames."""

FILL_STEP = -1
"""The step key of the noise that fills the missing region of x1 (paper eq. 8)."""


class KeyedNoise:
    """Standard normal noise over `[items, noise_channels, *frame_shape, frames]`, drawn block by
    block from generators keyed by (seed, item, step, block).

    Args:
        seed: the restoration's seed, item i drawing under the key (seed, i, …); or one seed per
            item, item i drawing under (seed[i], 0, …), as the only item of a restoration with
            that seed (see `from_generator`).
        items: batch items (files).
        noise_channels: channels per item with their own draw (1: the audio channels of a file
            share one draw).
        frame_shape: the shape of one frame of one channel, `(repr_channels, freq)`.
    """

    def __init__(
        self,
        seed: int | Sequence[int],
        items: int,
        noise_channels: int,
        frame_shape: tuple[int, ...],
    ) -> None:
        per_item = not isinstance(seed, int)
        self.item_keys = [(seed[item], 0) if per_item else (seed, item) for item in range(items)]
        self.items = items
        self.noise_channels = noise_channels
        self.frame_shape = tuple(frame_shape)

    @classmethod
    def from_generator(
        cls,
        generator: torch.Generator | list[torch.Generator] | None,
        items: int,
        noise_channels: int,
        frame_shape: tuple[int, ...],
    ) -> KeyedNoise:
        """Keyed noise whose seed is one draw from `generator` (torch's global one when None), so
        that the same generator seed gives the same restoration on every path; with a list of
        generators, one per item, item i's seed is a draw from generator i.

        Raises:
            A2SBInputError: a list that does not hold one generator per item.
        """
        check_generators(generator, items)
        if isinstance(generator, list):
            return cls([seed_from(each) for each in generator], items, noise_channels, frame_shape)
        return cls(seed_from(generator), items, noise_channels, frame_shape)

    def draw(self, step: int, start: int, stop: int) -> torch.Tensor:
        """The noise of frames `[start, stop)` at step `step` (`FILL_STEP` for the fill).

        Returns:
            float32 `[items, noise_channels, *frame_shape, stop - start]`, on the CPU.
        """
        first_block = start // NOISE_BLOCK_FRAMES
        last_block = math.ceil(stop / NOISE_BLOCK_FRAMES)
        blocks = [
            torch.stack([self._block(item, step, block) for item in range(self.items)])
            for block in range(first_block, last_block)
        ]
        offset = first_block * NOISE_BLOCK_FRAMES
        return torch.cat(blocks, dim=-1)[..., start - offset : stop - offset]

    def _block(self, item: int, step: int, block: int) -> torch.Tensor:
        """`[noise_channels, *frame_shape, NOISE_BLOCK_FRAMES]` from the generator of its key."""
        generator = torch.Generator().manual_seed(self._key(item, step, block))
        shape = (self.noise_channels, *self.frame_shape, NOISE_BLOCK_FRAMES)
        return torch.randn(shape, generator=generator)

    def _key(self, item: int, step: int, block: int) -> int:
        """A 64-bit generator seed, well mixed from the item's key, the step and the block."""
        entropy = [*self.item_keys[item], step - FILL_STEP, block]
        low, high = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
        return int(high) << 32 | int(low)


def seed_from(generator: torch.Generator | None) -> int:
    """One draw from `generator` (torch's global one when None): a restoration's seed."""
    return int(torch.randint(0, 2**62, (1,), generator=generator))

"""What is missing in a restoration, as the mask of any range of frames (paper §3.2).

A full mask `[rows, 1, 1024, frames]` of an hour of audio takes gigabytes; what it says takes a
few numbers: the first missing row of each row of the batch (bandwidth extension), or the
frames of the gaps and the recording's bandwidth (inpainting). `MissingRegion` keeps those
numbers and builds the mask of the frames a sampler is working on. Frames past the end (the
cyclic padding of the windows) are frame i mod T, as `tile_frames` makes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from a2sb.degradations import Fill, crossfade_gaps, first_replaced_row, gap_frame_ranges
from a2sb.representations import STFTRepresentation


@dataclass(frozen=True)
class MissingRegion:
    """The missing region of `rows` spectrograms (items · channels) of `frames` frames.

    Attributes:
        rows: batch rows, items · channels.
        freq_bins: rows of the spectrogram (1024).
        frames: T, the frames of the audio (unpadded).
        first_missing_rows: bandwidth extension: per batch row, the first missing
            frequency row (all rows from it up are missing in every frame); None for
            inpainting.
        gap_frames: inpainting: the `[start, end)` frames of each gap, sorted. Empty for
            bandwidth extension.
        gap_rows: inpainting: the rows of a gap that are missing, `[0, gap_rows)`: the
            recording's own band (None: every row). Above it a gap takes its neighbours'
            content (`above_band_from_neighbours`), so a restored gap adds no band the
            recording never had.
    """

    rows: int
    freq_bins: int
    frames: int
    first_missing_rows: tuple[int, ...] | None = None
    gap_frames: tuple[tuple[int, int], ...] = ()
    gap_rows: int | None = None

    @classmethod
    def for_task(
        cls,
        representation: STFTRepresentation,
        task: str,
        cutoffs_hz: Sequence[float] | None,
        gaps: Sequence[tuple[float, float]] | None,
        items: int,
        channels: int,
        num_samples: int,
        fill: Fill = "noise",
    ) -> MissingRegion:
        """What a task leaves missing in `items` items of `channels` channels: above each
        item's cutoff (bandwidth extension; with the prior fill, from 0.9 of it), or inside
        the gaps, below the recording's bandwidth (inpainting: `cutoffs_hz` holds the
        recording's bandwidth, the widest one serving the batch, or is None for a full-band
        recording)."""
        if task == "bandwidth_extension":
            return cls.bandwidth_extension(representation, cutoffs_hz, channels, num_samples, fill)
        bandwidth_hz = max(cutoffs_hz) if cutoffs_hz else None
        return cls.inpainting(representation, gaps, items * channels, num_samples, bandwidth_hz)

    @classmethod
    def bandwidth_extension(
        cls,
        representation: STFTRepresentation,
        cutoffs_hz: Sequence[float],
        channels: int,
        num_samples: int,
        fill: Fill = "noise",
    ) -> MissingRegion:
        """Everything above each item's cutoff is missing (rows from `first_replaced_row`:
        ≥ ⌊n_fft · f / sr⌋ for the noise fill); the channels of an item share its cutoff."""
        first_rows = [first_replaced_row(representation, c, fill) for c in cutoffs_hz]
        return cls(
            rows=len(first_rows) * channels,
            freq_bins=representation.freq_bins,
            frames=representation.frames_for(num_samples),
            first_missing_rows=tuple(row for row in first_rows for _ in range(channels)),
        )

    @classmethod
    def inpainting(
        cls,
        representation: STFTRepresentation,
        gaps: Sequence[tuple[float, float]],
        rows: int,
        num_samples: int,
        bandwidth_hz: float | None = None,
    ) -> MissingRegion:
        """The frames inside the gaps (seconds) are missing in every row, at the frequencies
        up to `bandwidth_hz` (the recording's bandwidth; None: all of them). Above it, rows
        ≥ ⌊n_fft · f / sr⌋ (the bins a bandwidth extension at f replaces), a gap is not
        restored but cross-faded from its neighbours."""
        gap_rows = None
        if bandwidth_hz is not None:
            gap_rows = first_replaced_row(representation, bandwidth_hz)
        return cls(
            rows=rows,
            freq_bins=representation.freq_bins,
            frames=representation.frames_for(num_samples),
            gap_frames=tuple(gap_frame_ranges(representation, gaps, num_samples)),
            gap_rows=gap_rows,
        )

    def mask(self, start: int, stop: int) -> torch.Tensor:
        """The mask of frames `[start, stop)`, 1 = missing.

        Returns:
            float32 `[rows, 1, freq_bins, stop − start]` (an expanded view: write to a copy).
        """
        if self.first_missing_rows is not None:
            first_rows = torch.tensor(self.first_missing_rows)[:, None]
            missing_rows = torch.arange(self.freq_bins)[None] >= first_rows  # [rows, F]
            return missing_rows.float()[:, None, :, None].expand(-1, -1, -1, stop - start)
        missing = self.missing_frames(start, stop).float()[:, None, None, :]
        if not self.band_limited:
            return missing.expand(-1, -1, self.freq_bins, -1)
        in_band = (torch.arange(self.freq_bins) < self.gap_rows).float()
        return missing * in_band[:, None]

    def above_band_from_neighbours(self, spectrum: torch.Tensor, start: int) -> torch.Tensor:
        """The spectrum with the gaps, above the recording's band, taken from their neighbours
        cross-faded across them (`crossfade_gaps`): what the recording holds there, its noise
        floor or nothing, instead of what the gap held or a model would paint.

        Args:
            spectrum: complex `[rows, freq_bins + 1, n]` (with the DC bin) of frames
                `[start, start + n)`, with each gap's neighbours (`prior_ready_frames`).

        Returns:
            `spectrum` itself when the gaps span the whole band, else a copy with bins above
            `gap_rows` replaced in the gaps' frames.
        """
        if not self.reads_neighbours:
            return spectrum
        in_gap = self.missing_frames(start, start + spectrum.shape[-1])  # [rows, n]
        above_band = torch.arange(spectrum.shape[1]) > self.gap_rows  # bin r + 1 is row r
        replaced = in_gap[:, None, :] & above_band[None, :, None]
        return torch.where(replaced, crossfade_gaps(spectrum, in_gap), spectrum)

    @property
    def band_limited(self) -> bool:
        """Whether the gaps are restored below a band, not at every row."""
        return self.gap_rows is not None and self.gap_rows < self.freq_bins

    @property
    def reads_neighbours(self) -> bool:
        """Whether the gaps are filled above the band from their neighbours."""
        return bool(self.gap_frames) and self.band_limited

    def missing_frames(self, start: int, stop: int) -> torch.Tensor:
        """bool `[rows, stop − start]`: True where a frame of a row has a missing entry."""
        if self.first_missing_rows is not None:
            any_missing = torch.tensor([row < self.freq_bins for row in self.first_missing_rows])
            return any_missing[:, None].expand(-1, stop - start)
        frame = torch.arange(start, stop) % self.frames
        missing = torch.zeros(stop - start, dtype=torch.bool)
        for gap_start, gap_end in self.gap_frames:
            missing |= (frame >= gap_start) & (frame < gap_end)
        return missing[None].expand(self.rows, -1)

    def widest_gap(self) -> int:
        """Frames of the longest gap (0 for bandwidth extension): how far the prior fill's
        cross-fade reaches on each side of a gap."""
        return max((end - start for start, end in self.gap_frames), default=0)

    def prior_ready_frames(self, available: int) -> int:
        """With the spectrum known on frames `[0, available)`, the frames `[0, f)` whose prior
        fill can be computed: a gap [s, e) needs its neighbours up to e + (e − s) (or the end)."""
        ready = available
        for gap_start, gap_end in self.gap_frames:
            if min(2 * gap_end - gap_start, self.frames) > available:
                ready = min(ready, gap_start)
        return ready

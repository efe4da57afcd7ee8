"""What is missing, and the degraded endpoint x1 of the bridge (paper §3.2, eq. 8).

A mask M has the spectrogram's shape with one channel, `[batch, 1, freq, frames]`, float32,
1 = missing and 0 = kept; it broadcasts over the representation's channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from diffusers.utils.torch_utils import randn_tensor

from a2sb.errors import A2SBInputError
from a2sb.representations import STFTRepresentation

FILL_NOISE_STD = 0.5
"""Standard deviation of the noise that fills the missing region of x1 (paper eq. 8)."""


def check_cutoff(cutoff_hz: float, sampling_rate: int) -> None:
    """Refuse a bandwidth-extension cutoff outside (0, Nyquist)."""
    nyquist = sampling_rate / 2
    if not 0 < cutoff_hz < nyquist:
        raise A2SBInputError(
            f"cutoff {cutoff_hz:g} Hz is outside (0, {nyquist:g}) Hz, the band of "
            f"{sampling_rate} Hz audio (Nyquist {nyquist:g} Hz); choose a cutoff between 0 and "
            f"{nyquist:g} Hz, or let a2sb detect it (cutoff auto)"
        )


def bandwidth_extension_mask(
    representation: STFTRepresentation, cutoff_hz: float, num_samples: int
) -> torch.Tensor:
    """Everything above `cutoff_hz` is missing: rows r ≥ ⌊n_fft · f / sampling_rate⌋.

    Args:
        representation: gives the rows and frames of the spectrogram.
        cutoff_hz: highest kept frequency, in (0, Nyquist).
        num_samples: length of the audio the mask is for.

    Returns:
        `[1, 1, freq, frames]`; at 4 kHz, rows 185 and above are 1.
    """
    check_cutoff(cutoff_hz, representation.sampling_rate)
    mask = torch.zeros(1, 1, representation.freq_bins, representation.frames_for(num_samples))
    mask[:, :, representation.row_for_frequency(cutoff_hz) :] = 1.0
    return mask


def check_gaps(gaps: Sequence[tuple[float, float]], duration_s: float) -> list[tuple[float, float]]:
    """Refuse gaps that are reversed, empty, outside the audio, or overlapping.

    Args:
        gaps: `(start_s, end_s)` pairs in seconds of the user's timeline.
        duration_s: length of the audio in seconds.

    Returns:
        The gaps sorted by start.
    """
    if len(gaps) == 0:
        raise A2SBInputError("inpainting needs at least one gap; pass gaps as (start_s, end_s)")
    for start_s, end_s in gaps:
        if not start_s < end_s:
            raise A2SBInputError(
                f"gap {start_s:g}-{end_s:g} s is reversed or empty; give its start before its end"
            )
        if start_s < 0 or end_s > duration_s:
            raise A2SBInputError(
                f"gap {start_s:g}-{end_s:g} s lies outside the audio, which lasts "
                f"{duration_s:.3f} s; choose a gap between 0 and {duration_s:.3f} s"
            )
    ordered = sorted(gaps)
    for (start_a, end_a), (start_b, end_b) in zip(ordered, ordered[1:], strict=False):
        if start_b < end_a:
            raise A2SBInputError(
                f"gaps {start_a:g}-{end_a:g} s and {start_b:g}-{end_b:g} s overlap; merge them "
                "into one gap"
            )
    return ordered


def inpainting_mask(
    representation: STFTRepresentation,
    gaps: Sequence[tuple[float, float]],
    num_samples: int,
) -> torch.Tensor:
    """Every frequency of the frames inside the gaps is missing.

    A gap (start_s, end_s) covers frames [⌊start_s · sr / hop⌋, ⌊end_s · sr / hop⌋) — at
    44.1 kHz and hop 512, 86.13 frames per second — and at least one frame.

    Args:
        representation: gives the rows, frames and frame rate of the spectrogram.
        gaps: `(start_s, end_s)` pairs in seconds; validated by `check_gaps`.
        num_samples: length of the audio the mask is for.

    Returns:
        `[1, 1, freq, frames]`.
    """
    frames_per_second = representation.sampling_rate / representation.hop_length
    num_frames = representation.frames_for(num_samples)
    mask = torch.zeros(1, 1, representation.freq_bins, num_frames)
    for start_s, end_s in check_gaps(gaps, num_samples / representation.sampling_rate):
        start_frame = int(start_s * frames_per_second)
        end_frame = max(int(end_s * frames_per_second), start_frame + 1)
        mask[..., start_frame:end_frame] = 1.0
    return mask


def fill_missing(
    x0: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator | None = None,
    noise_std: float = FILL_NOISE_STD,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """The degraded endpoint of the bridge: x1 = x0 · (1 − M) + M · 0.5 · ε (paper eq. 8).

    Args:
        x0: spectrogram tensor `[batch, channels, freq, frames]` (clean, or the degraded input's
            own spectrogram: only its kept part is used).
        mask: `[batch or 1, 1, freq, frames]`, 1 = missing.
        generator: draws ε ~ N(0, I) on every channel.
        noise_std: the 0.5 of eq. 8.
        noise: ε itself, broadcastable to `x0` (e.g. one draw shared by the channels of a
            stereo file); drawn from `generator` when None.

    Returns:
        x1, shaped like `x0`.
    """
    if noise is None:
        noise = randn_tensor(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    return torch.lerp(x0, noise_std * noise, mask)  # x0 + M (0.5 ε − x0)


@dataclass(frozen=True)
class TrainingMaskSampler:
    """Random masks of the training recipe (paper §3.2).

    Each example is, with probability `bandwidth_probability`, a bandwidth-extension mask at a
    cutoff f ~ U[cutoff_range_hz], else an inpainting mask: one gap of ⌊u · frames⌋ frames,
    u ~ U[gap_fraction_range] (3.4 %–54 % of 256 frames ≈ 0.1–1.6 s), at a uniform position.
    """

    bandwidth_probability: float = 0.5
    cutoff_range_hz: tuple[float, float] = (2000.0, 16000.0)
    gap_fraction_range: tuple[float, float] = (0.034, 0.54)

    def __post_init__(self) -> None:
        if not 0 <= self.bandwidth_probability <= 1:
            raise A2SBInputError(
                f"bandwidth_probability {self.bandwidth_probability} must lie in [0, 1]"
            )
        low_hz, high_hz = self.cutoff_range_hz
        if not 0 < low_hz <= high_hz:
            raise A2SBInputError(
                f"cutoff_range_hz {self.cutoff_range_hz} must be increasing and positive"
            )
        low, high = self.gap_fraction_range
        if not 0 < low <= high <= 1:
            raise A2SBInputError(
                f"gap_fraction_range {self.gap_fraction_range} must satisfy 0 < low <= high <= 1"
            )

    def sample(
        self,
        batch_size: int,
        num_frames: int,
        representation: STFTRepresentation,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw `batch_size` masks, `[batch, 1, freq, frames]`, on the generator's device."""
        check_cutoff(self.cutoff_range_hz[1], representation.sampling_rate)
        device = generator.device if generator is not None else torch.device("cpu")
        draws = torch.rand(4, batch_size, generator=generator, device=device, dtype=torch.float64)
        is_bandwidth = draws[0] < self.bandwidth_probability

        low_hz, high_hz = self.cutoff_range_hz
        cutoff_hz = low_hz + (high_hz - low_hz) * draws[1]
        first_missing_row = torch.floor(
            cutoff_hz * representation.config.n_fft / representation.sampling_rate
        )

        low, high = self.gap_fraction_range
        gap_frames = torch.floor((low + (high - low) * draws[2]) * num_frames).clamp(1, num_frames)
        gap_start = torch.floor(draws[3] * (num_frames - gap_frames + 1))

        rows = torch.arange(representation.freq_bins, device=device)[None, :, None]
        frames = torch.arange(num_frames, device=device)[None, None, :]
        bandwidth_masks = rows >= first_missing_row[:, None, None]
        gap_masks = (frames >= gap_start[:, None, None]) & (
            frames < (gap_start + gap_frames)[:, None, None]
        )
        masks = torch.where(is_bandwidth[:, None, None], bandwidth_masks, gap_masks)
        return masks[:, None].float()

"""What is missing, and the degraded endpoint x1 of the bridge (paper §3.2, eq. 8).

A mask M has the spectrogram's shape with one channel, `[batch, 1, freq, frames]`, float32,
1 = missing and 0 = kept; it broadcasts over the representation's channels.

The missing region of x1 is filled with noise (the paper's fill, eq. 8) or with a cheap
estimate from the known content plus a little noise (the prior fill, docs/concepts.md, "The
prior fill"): spectral band replication above a cutoff, the neighbours of a gap cross-faded
across it. The evaluation baselines `baseline:sbr` and `baseline:crossfade` are that estimate,
decoded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from diffusers.utils.torch_utils import randn_tensor

from a2sb.errors import A2SBInputError
from a2sb.representations import STFTRepresentation

Fill = Literal["noise", "prior"]
FILLS: tuple[Fill, ...] = ("noise", "prior")
FILL_NOISE_STD = 0.5
"""Standard deviation of the noise that fills the missing region of x1 (paper eq. 8)."""
PRIOR_NOISE_STD = 0.1
"""Default σ_p of the prior fill: the noise added to the estimate P in the missing region."""
SBR_START_FRACTION = 0.9
"""Band replication replaces the spectrum from 0.9 · f_c up (`first_replaced_row`): the top
tenth of the kept band lies in a resampler's or codec's transition band, too faint to copy and
to keep."""
SBR_GAIN_EXPONENT = 3.0
"""A copy moved from f_src to f_dst is scaled by (f_src / f_dst)^3: −18 dB per octave."""
SBR_PATCH_FRACTION = 1 / 3
"""Width of the replicated patch, as a fraction of the band below 0.9 · f_c (rounded down to
a multiple of n_fft / hop bins): 1.2 kHz at a 4 kHz cutoff, 2.3 kHz at 8 kHz."""


def check_cutoff(cutoff_hz: float, sampling_rate: int) -> None:
    """Refuse a bandwidth-extension cutoff outside (0, Nyquist)."""
    nyquist = sampling_rate / 2
    if not 0 < cutoff_hz < nyquist:
        raise A2SBInputError(
            f"cutoff {cutoff_hz:g} Hz is outside (0, {nyquist:g}) Hz, the band of "
            f"{sampling_rate} Hz audio (Nyquist {nyquist:g} Hz); choose a cutoff between 0 and "
            f"{nyquist:g} Hz, or let a2sb detect it (cutoff auto)"
        )


def first_replaced_row(
    representation: STFTRepresentation, cutoff_hz: float, fill: Fill = "noise"
) -> int:
    """The first row that bandwidth extension at `cutoff_hz` replaces.

    The noise fill (the paper's) replaces rows r ≥ ⌊n_fft · f / sampling_rate⌋, the bins above
    the cutoff. The prior fill replaces from bin k_r = ⌊0.9 · k_c⌋ (`SBR_START_FRACTION`, k_c
    the first bin above the cutoff) on: the top tenth of the kept band lies in a resampler's or
    codec's transition band, too faint to keep, and band replication re-creates it as well.

    Args:
        representation: gives the rows of a frequency.
        cutoff_hz: highest kept frequency, in (0, Nyquist).
        fill: the fill of the bridge's endpoint ("noise" or "prior").

    Returns:
        The row index (row r holds bin r + 1): 185 at 4 kHz, 166 at 4 kHz with the prior fill.
    """
    check_cutoff(cutoff_hz, representation.sampling_rate)
    row = representation.row_for_frequency(cutoff_hz)
    if fill == "prior":
        row = max(1, math.floor(SBR_START_FRACTION * (row + 1))) - 1
    return row


def bandwidth_extension_mask(
    representation: STFTRepresentation, cutoff_hz: float, num_samples: int, fill: Fill = "noise"
) -> torch.Tensor:
    """Everything above `cutoff_hz` is missing: rows from `first_replaced_row` up (with the
    noise fill, r ≥ ⌊n_fft · f / sampling_rate⌋).

    Args:
        representation: gives the rows and frames of the spectrogram.
        cutoff_hz: highest kept frequency, in (0, Nyquist).
        num_samples: length of the audio the mask is for.
        fill: the fill of the bridge's endpoint; the prior fill also replaces the top tenth of
            the kept band.

    Returns:
        `[1, 1, freq, frames]`; at 4 kHz, rows 185 and above are 1 (166 with the prior fill).
    """
    mask = torch.zeros(1, 1, representation.freq_bins, representation.frames_for(num_samples))
    mask[:, :, first_replaced_row(representation, cutoff_hz, fill) :] = 1.0
    return mask


def check_gaps(gaps: Sequence[tuple[float, float]], duration_s: float) -> list[tuple[float, float]]:
    """Refuse gaps that are not finite, reversed, empty, outside the audio, or overlapping.

    Args:
        gaps: `(start_s, end_s)` pairs in seconds of the user's timeline.
        duration_s: length of the audio in seconds.

    Returns:
        The gaps sorted by start.
    """
    if len(gaps) == 0:
        raise A2SBInputError("inpainting needs at least one gap; pass gaps as (start_s, end_s)")
    for start_s, end_s in gaps:
        if not (math.isfinite(start_s) and math.isfinite(end_s)):
            raise A2SBInputError(
                f"gap {start_s:g}-{end_s:g} s is not a pair of finite times; give its start "
                "and end in seconds"
            )
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
    num_frames = representation.frames_for(num_samples)
    mask = torch.zeros(1, 1, representation.freq_bins, num_frames)
    for start_frame, end_frame in gap_frame_ranges(representation, gaps, num_samples):
        mask[..., start_frame:end_frame] = 1.0
    return mask


def gap_frame_ranges(
    representation: STFTRepresentation,
    gaps: Sequence[tuple[float, float]],
    num_samples: int,
) -> list[tuple[int, int]]:
    """The frames `[start, end)` of each gap: `[⌊start_s · sr / hop⌋, ⌊end_s · sr / hop⌋)`, at
    least one frame; sorted, validated by `check_gaps`."""
    frames_per_second = representation.sampling_rate / representation.hop_length
    ranges = []
    for start_s, end_s in check_gaps(gaps, num_samples / representation.sampling_rate):
        start_frame = int(start_s * frames_per_second)
        ranges.append((start_frame, max(int(end_s * frames_per_second), start_frame + 1)))
    return ranges


def fill_missing(
    x0: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator | None = None,
    noise_std: float = FILL_NOISE_STD,
    noise: torch.Tensor | None = None,
    prior: torch.Tensor | None = None,
) -> torch.Tensor:
    """The degraded endpoint of the bridge: x1 = x0 · (1 − M) + M · (P + σ ε).

    With no prior (P = 0) and σ = 0.5 this is the paper's noise fill (eq. 8); with P the
    estimate of `prior_spectrum`, encoded, and σ = σ_p it is the prior fill (docs/concepts.md,
    "The prior fill").

    Args:
        x0: spectrogram tensor `[batch, channels, freq, frames]` (clean, or the degraded input's
            own spectrogram: only its kept part is used).
        mask: `[batch or 1, 1, freq, frames]`, 1 = missing.
        generator: draws ε ~ N(0, I) on every channel.
        noise_std: σ, the 0.5 of eq. 8.
        noise: ε itself, broadcastable to `x0` (e.g. one draw shared by the channels of a
            stereo file); drawn from `generator` when None.
        prior: P, shaped like `x0`; zero when None.

    Returns:
        x1, shaped like `x0`.
    """
    if noise is None:
        noise = randn_tensor(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    fill = noise_std * noise if prior is None else prior + noise_std * noise
    return torch.lerp(x0, fill, mask)  # x0 + M (P + σ ε − x0)


def replicate_band(
    spectrum: torch.Tensor,
    first_replaced_bin: torch.Tensor,
    coherent_step: int,
    patch_fraction: float = SBR_PATCH_FRACTION,
    gain_exponent: float = SBR_GAIN_EXPONENT,
) -> torch.Tensor:
    """Spectral band replication of a complex STFT, one start per batch item.

    Bins k ≥ k_r (`first_replaced_bin`) are replaced by the patch of W bins just below k_r,
    W = max(s, s · ⌊patch_fraction · k_r / s⌋) with s = `coherent_step`, repeated upward until
    Nyquist: bin k takes the complex value — magnitude and phase — of
    k_s = k_r − W + ((k − k_r) mod W), scaled by (k_s / k)^gain_exponent (−18 dB per octave at
    3). Every shift k − k_s is a multiple of s = n_fft / hop, so a copied sinusoid advances its
    phase per hop by whole turns more than at its source: the phase advance of bin k stays that
    of a stationary sinusoid at k, and overlapping frames add up instead of cancelling. Bins
    below k_r are unchanged.

    Args:
        spectrum: complex `[batch, n_fft / 2 + 1, frames]`, DC at index 0.
        first_replaced_bin: `[batch]` integer, k_r per item (≥ 1).
        coherent_step: n_fft / hop (4 at the paper's STFT).
        patch_fraction: W as a fraction of k_r, before rounding to a multiple of s.
        gain_exponent: α of the gain (f_src / f_dst)^α.

    Returns:
        complex, shaped like `spectrum`.
    """
    batch, bins, frames = spectrum.shape
    device = spectrum.device
    first_replaced = first_replaced_bin.to(device).double().clamp(min=1)[:, None]  # k_r
    steps = torch.floor(patch_fraction * first_replaced / coherent_step).clamp(min=1)
    width = steps * coherent_step  # W, [batch, 1]
    bin_index = torch.arange(bins, device=device, dtype=torch.float64)[None]
    source = first_replaced - width + torch.remainder(bin_index - first_replaced, width)
    replaced = (bin_index >= first_replaced) & (source >= 1)
    source = torch.where(replaced, source, bin_index)
    gain = torch.where(replaced, (source / bin_index.clamp(min=1)) ** gain_exponent, 1.0)
    copied = spectrum.gather(1, source.long()[..., None].expand(-1, -1, frames))
    return copied * gain.to(spectrum.real.dtype)[..., None]


def crossfade_gaps(spectrum: torch.Tensor, missing_frames: torch.Tensor) -> torch.Tensor:
    """Fill each run of missing frames with its two neighbours, cross-faded across it.

    A gap of frames [s, e), L = e − s, takes on its left the A_l = min(L, s) frames before it
    repeated forward (frame k ← k − A_l · ⌈(k − s + 1) / A_l⌉: the L frames before the gap when
    there are that many) and on its right the A_r = min(L, T − e) frames after it repeated
    backward (frame k ← k + A_r · ⌈(e − k) / A_r⌉). Copying whole frames of the STFT moves the
    audio by whole hops, so each copy is the STFT of the neighbouring audio shifted in time.
    The two are cross-faded at equal power, |P| = √(g_l² |left|² + g_r² |right|²) with the
    phase of the side whose weight is larger: g_l ∝ cos(πw/2) √(A_l / L) and
    g_r ∝ sin(πw/2) √(A_r / L), w = (k − s + ½) / L, scaled so that g_l² + g_r² = 1. A side
    is trusted in proportion to how much of it there is: with full neighbours this is the
    plain equal-power cross-fade, with audio on one side only that side alone, with none, zero.

    Args:
        spectrum: complex `[batch, bins, frames]`.
        missing_frames: bool `[batch, frames]`, True inside the gaps.

    Returns:
        complex, shaped like `spectrum`; frames outside the gaps are unchanged.
    """
    frames = spectrum.shape[-1]
    gap_start, gap_end = _gap_bounds(missing_frames)
    item, frame = missing_frames.nonzero(as_tuple=True)  # only the missing frames, [N] each
    start, end = gap_start[item, frame], gap_end[item, frame]
    length = end - start
    left_width = torch.minimum(length, start)
    right_width = torch.minimum(length, frames - end)
    left = frame - left_width * _ceil_div(frame - start + 1, left_width.clamp(min=1))
    right = frame + right_width * _ceil_div(end - frame, right_width.clamp(min=1))
    position = ((frame - start).double() + 0.5) / length
    left_weight = torch.cos(math.pi / 2 * position) * (left_width / length).sqrt()
    right_weight = torch.sin(math.pi / 2 * position) * (right_width / length).sqrt()
    total = torch.sqrt(left_weight.square() + right_weight.square()).clamp(min=1e-12)
    dtype = spectrum.real.dtype
    left_weight = (left_weight / total).to(dtype)[:, None]  # [N, 1]
    right_weight = (right_weight / total).to(dtype)[:, None]
    left_frames = spectrum[item, :, left.clamp(0, frames - 1)]  # [N, bins]
    right_frames = spectrum[item, :, right.clamp(0, frames - 1)]
    magnitude = torch.sqrt(
        (left_weight * left_frames.abs()).square() + (right_weight * right_frames.abs()).square()
    )
    phase = torch.sgn(torch.where(left_weight >= right_weight, left_frames, right_frames))
    filled = spectrum.clone()
    filled[item, :, frame] = magnitude * phase
    return filled


def prior_spectrum(
    spectrum: torch.Tensor, mask: torch.Tensor, representation: STFTRepresentation
) -> torch.Tensor:
    """The cheap estimate P of what the mask hides, from the known content alone.

    The rows missing in every frame at the top (bandwidth extension) are re-created by
    `replicate_band` from the first missing one; the frames missing from the lowest row up
    (inpainting, up to the recording's band) by `crossfade_gaps`. The content under the mask
    is zeroed first, so P never depends on it, and P equals the known content outside the
    mask. Missing entries that are neither (no mask of a2sb makes them) stay zero. Both are
    explained in docs/representations.md, "The fill of the missing region: noise or prior".

    Args:
        spectrum: complex `[batch, n_fft / 2 + 1, frames]` with its DC row (the STFT that
            `representation.encode_spectrum` turns into x0).
        mask: `[batch or 1, 1, n_fft / 2, frames]`, 1 = missing (rows are bins 1 and up).
        representation: gives n_fft / hop, the step of a phase-coherent shift.

    Returns:
        complex `[batch, n_fft / 2 + 1, frames]`: the known content with the missing region
        estimated.
    """
    missing = mask[:, 0].expand(spectrum.shape[0], -1, -1) > 0  # [batch, rows, frames]
    missing_frames = missing[:, 0]  # a gap's frames: missing from the lowest row up
    missing_rows = missing.all(dim=2) & ~missing_frames.all(dim=1, keepdim=True)
    missing_with_dc = torch.cat([missing_frames[:, None], missing], dim=1)
    estimate = spectrum.masked_fill(missing_with_dc, 0)
    # Row c is bin c + 1; the cutoff's band is the run of wholly missing rows at the top.
    band_rows = missing_rows.flip(1).long().cumprod(1).sum(1)
    has_band = band_rows > 0
    if has_band.any():
        first_missing_bin = representation.freq_bins - band_rows + 1
        coherent_step = representation.config.n_fft // representation.hop_length
        replicated = replicate_band(estimate, first_missing_bin, coherent_step)
        estimate = torch.where(has_band[:, None, None], replicated, estimate)
    if missing_frames.any():
        estimate = crossfade_gaps(estimate, missing_frames)
    return estimate


def check_fill(fill: str, prior_noise_std: float) -> None:
    """Refuse an unknown fill and a negative or non-finite σ_p."""
    if fill not in FILLS:
        raise A2SBInputError(
            f"unknown fill {fill!r}; choose 'noise' (the paper's, eq. 8) or 'prior' (band "
            "replication / cross-faded neighbours plus noise)"
        )
    if not (math.isfinite(prior_noise_std) and prior_noise_std >= 0):
        raise A2SBInputError(
            f"prior_noise_std {prior_noise_std!r} must be a finite number >= 0; give the "
            f"standard deviation of the noise added to the prior ({PRIOR_NOISE_STD:g} by default)"
        )


@dataclass(frozen=True)
class EndpointFill:
    """How the missing region of the bridge's degraded endpoint x1 is filled.

    Attributes:
        fill: "noise", the paper's x1 = x0 (1 − M) + M · 0.5 ε (eq. 8), or "prior",
            x1 = x0 (1 − M) + M (P + σ_p ε) with P the encoded `prior_spectrum`
            (docs/concepts.md, "The prior fill").
        prior_noise_std: σ_p of the prior fill.
    """

    fill: Fill = "noise"
    prior_noise_std: float = PRIOR_NOISE_STD

    def __post_init__(self) -> None:
        check_fill(self.fill, self.prior_noise_std)

    def endpoint(
        self,
        x0: torch.Tensor,
        mask: torch.Tensor,
        spectrum: torch.Tensor,
        representation: STFTRepresentation,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        batch_shape: tuple[int, ...] | None = None,
    ) -> torch.Tensor:
        """x1 from x0 and its complex spectrum.

        Args:
            x0: `[batch, channels, freq, frames]`, the encoding of `spectrum`.
            mask: `[batch or 1, 1, freq, frames]`, 1 = missing.
            spectrum: complex `[batch, freq + 1, frames]` (read only for the prior fill).
            representation: encodes P.
            generator: draws ε when `noise` is None.
            noise: ε, broadcastable to x0 viewed as `[*batch_shape, channels, freq, frames]`.
            batch_shape: how the batch splits for `noise` (e.g. `(items, audio_channels)`,
                so that the channels of a file share one draw); None: as it is.

        Returns:
            x1, shaped like `x0`.
        """
        prior = None
        if self.fill == "prior":
            prior = representation.encode_spectrum(prior_spectrum(spectrum, mask, representation))
        noise_std = FILL_NOISE_STD if self.fill == "noise" else self.prior_noise_std
        shape = batch_shape or x0.shape[:1]

        def split(tensor: torch.Tensor | None) -> torch.Tensor | None:
            """`[batch, ...]` → `[*shape, ...]`; a mask of batch 1 stays, to broadcast."""
            if tensor is None or tensor.shape[0] != math.prod(shape):
                return tensor
            return tensor.unflatten(0, shape)

        x1 = fill_missing(split(x0), split(mask), generator, noise_std, noise, split(prior))
        return x1.flatten(0, len(shape) - 1)


NOISE_FILL = EndpointFill()
"""The paper's fill (eq. 8), the default of training and of the released checkpoints."""


def _gap_bounds(missing_frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For every frame, the start and (exclusive) end of the run of missing frames holding it
    (meaningless outside the runs): two `[batch, frames]` long tensors."""
    batch, frames = missing_frames.shape
    frame = torch.arange(frames, device=missing_frames.device)[None].expand(batch, -1)
    before = torch.nn.functional.pad(missing_frames, (1, 0))[:, :-1]
    after = torch.nn.functional.pad(missing_frames, (0, 1))[:, 1:]
    starts = torch.where(missing_frames & ~before, frame, -1)
    ends = torch.where(missing_frames & ~after, frame + 1, frames + 1)
    return starts.cummax(1).values, ends.flip(1).cummin(1).values.flip(1)


def _ceil_div(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    return -torch.div(-numerator, denominator, rounding_mode="floor")


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

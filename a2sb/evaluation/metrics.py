"""Objective metrics of the paper (§4.1, §4.6, Fig. 5) on STFT magnitudes, batched in torch.

Every metric compares a reference A (ground truth) with an estimate Â (a restoration), both
magnitude spectrograms `[batch, freq, frames]` made by `magnitude_spectrogram` with the paper's
preset (n_fft 2048, hop 512, periodic Hann, centred). A metric can be restricted to a set of
frequency bins (`frequency_bins`: a band, e.g. up to an excerpt's bandwidth or above a cutoff)
and to a set of frames (e.g. the frames of inpainting gaps). Tensors may live on any device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from a2sb.representations import ComplexSTFT, phase_orthogonalization_error

N_FFT = 2048
"""STFT size of the metrics (paper §4.1)."""
HOP_LENGTH = 512
"""Samples between metric frames."""
LSD_EPS = 1e-10
"""Added to the power |A|² and |Â|² before the logarithm of LSD, so that silent bins are finite."""
PROFILE_EPS = 1e-5
"""Added to band magnitudes before converting them to dB (the magnitude of `LSD_EPS` power)."""


def magnitude_spectrogram(
    waveform: torch.Tensor, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH
) -> torch.Tensor:
    """|STFT| with the representation's transform (periodic Hann, centred, reflect padding).

    Args:
        waveform: `[batch, samples]`.
        n_fft: STFT size.
        hop_length: samples between frames.

    Returns:
        float32 `[batch, n_fft / 2 + 1, 1 + samples // hop_length]`, DC bin included.
    """
    return ComplexSTFT(n_fft=n_fft, hop_length=hop_length).spectrum(waveform).abs()


def frequency_bins(
    n_fft: int,
    sampling_rate: int,
    above_hz: float | None = None,
    up_to_hz: float | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The bins k whose frequency f_k = k · sampling_rate / n_fft lies in (above_hz, up_to_hz].

    Args:
        n_fft: STFT size; there are n_fft / 2 + 1 bins.
        sampling_rate: audio rate.
        above_hz: keep bins strictly above this frequency (None: from DC on). With a
            bandwidth-extension cutoff, these are the missing bins.
        up_to_hz: keep bins at or below this frequency (None: up to Nyquist).
        device: where the mask lives.

    Returns:
        bool `[n_fft / 2 + 1]`.
    """
    frequencies = torch.arange(n_fft // 2 + 1, device=device) * (sampling_rate / n_fft)
    selected = torch.ones_like(frequencies, dtype=torch.bool)
    if above_hz is not None:
        selected &= frequencies > above_hz
    if up_to_hz is not None:
        selected &= frequencies <= up_to_hz
    return selected


def log_spectral_distance(
    reference: torch.Tensor,
    estimate: torch.Tensor,
    bins: torch.Tensor | None = None,
    frames: torch.Tensor | None = None,
    eps: float = LSD_EPS,
) -> torch.Tensor:
    """Log-spectral distance, LSD (paper eq. 21).

    LSD = 1/T Σ_t √( 1/F Σ_f (log10((A²_{f,t} + eps) / (Â²_{f,t} + eps)))² ), over the selected
    bins f and frames t. Â = 10·A everywhere gives 2 (with eps negligible).

    Args:
        reference: A, magnitudes `[batch, freq, frames]`.
        estimate: Â, magnitudes `[batch, freq, frames]`.
        bins: bool `[freq]` (see `frequency_bins`); None = all bins.
        frames: bool `[frames]` or `[batch, frames]`; None = all frames.
        eps: added to both powers.

    Returns:
        float32 `[batch]`.
    """
    reference, estimate = _select_bins(reference, estimate, bins)
    log_ratio = torch.log10(reference.square() + eps) - torch.log10(estimate.square() + eps)
    per_frame = log_ratio.square().mean(dim=1).sqrt()  # [batch, frames]
    if frames is None:
        return per_frame.mean(dim=1)
    weights = _frame_weights(frames, per_frame)
    return (per_frame * weights).sum(dim=1) / weights.sum(dim=1)


def scale_invariant_spectrogram_snr(
    reference: torch.Tensor,
    estimate: torch.Tensor,
    bins: torch.Tensor | None = None,
    frames: torch.Tensor | None = None,
) -> torch.Tensor:
    """SiSpec, the scale-invariant SNR of magnitude spectrograms in dB (paper eq. 22).

    SiSpec = 10·log10(‖n(A)‖² / ‖n(A) − Â‖²) with n(A) = ⟨A, Â⟩ A / ‖A‖², the projection of Â
    on A; sums run over the selected bins and frames. Scaling Â leaves it unchanged; Â = c·A
    gives +inf, and a silent reference gives NaN.

    Args:
        reference: A, magnitudes `[batch, freq, frames]`.
        estimate: Â, magnitudes `[batch, freq, frames]`.
        bins: bool `[freq]`; None = all bins.
        frames: bool `[frames]` or `[batch, frames]`; None = all frames.

    Returns:
        float32 `[batch]`.
    """
    reference, estimate = _select_bins(reference.double(), estimate.double(), bins)
    if frames is not None:
        weights = _frame_weights(frames, reference[:, 0])[:, None, :]
        reference, estimate = reference * weights, estimate * weights
    reference, estimate = reference.flatten(1), estimate.flatten(1)
    scale = (reference * estimate).sum(dim=1) / reference.square().sum(dim=1)
    projection = scale[:, None] * reference  # n(A)
    signal = projection.square().sum(dim=1)
    error = (projection - estimate).square().sum(dim=1)
    return (10 * torch.log10(signal / error)).float()


def phase_error_statistics(
    tensor: torch.Tensor,
    percentiles: Sequence[float] = (50.0, 90.0, 99.0),
    mask: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Mean, percentiles and maximum of the phase-orthogonalization error (paper eq. 18, §4.6).

    e = 2 (√(c² + s²) − 1)² per bin of a factorized spectrogram: how far the generated
    (cos, sin) channels are from the unit circle before the decoder normalises them.

    Args:
        tensor: factorized spectrogram `[batch, 3, freq, frames]` (e.g. a model's x0 estimate).
        percentiles: in [0, 100], linear interpolation between order statistics (as numpy).
        mask: `[batch or 1, 1, freq, frames]`, nonzero where the error counts (e.g. the missing
            region of a degradation mask); None = every bin.

    Returns:
        `{"mean": [batch], "p50": [batch], ..., "max": [batch]}`, float32.
    """
    errors = phase_orthogonalization_error(tensor).float()  # [batch, freq, frames]
    if mask is None:
        selected = torch.ones_like(errors, dtype=torch.bool)
    else:
        selected = (mask[:, 0] != 0).expand_as(errors)
    rows = [errors[item][selected[item]].sort().values for item in range(errors.shape[0])]
    statistics = {"mean": torch.stack([row.mean() for row in rows])}
    for percentile in percentiles:
        statistics[f"p{percentile:g}"] = torch.stack(
            [_quantile_of_sorted(row, percentile / 100) for row in rows]
        )
    statistics["max"] = torch.stack([row[-1] for row in rows])
    return statistics


@dataclass(frozen=True)
class BandProfile:
    """Mean magnitude per frequency band (paper Fig. 5).

    Attributes:
        band_edges_hz: `[bands + 1]`; band i is [edge_i, edge_{i+1}), the last one includes Nyquist.
        magnitude_db: `[batch, bands]`, 20·log10(mean magnitude + 1e-5).
    """

    band_edges_hz: torch.Tensor
    magnitude_db: torch.Tensor


def band_magnitude_profile(
    magnitude: torch.Tensor,
    sampling_rate: int,
    band_width_hz: float = 1000.0,
    frames: torch.Tensor | None = None,
) -> BandProfile:
    """Mean magnitude in dB of each `band_width_hz` band, over all (or the selected) frames.

    Args:
        magnitude: `[batch, n_fft / 2 + 1, frames]` from `magnitude_spectrogram`.
        sampling_rate: audio rate; the bands cover 0 to Nyquist, the last one possibly narrower.
        band_width_hz: width of each band, e.g. 1 kHz.
        frames: bool `[frames]` or `[batch, frames]`; None = all frames.

    Returns:
        `BandProfile` with `magnitude_db` `[batch, ⌈Nyquist / band_width_hz⌉]`.
    """
    nyquist = sampling_rate / 2
    num_bands = math.ceil(nyquist / band_width_hz)
    band_edges_hz = (torch.arange(num_bands + 1) * band_width_hz).clamp_max(nyquist)
    frequencies = torch.linspace(0, nyquist, magnitude.shape[1], device=magnitude.device)
    band_of_bin = (frequencies / band_width_hz).long().clamp_max(num_bands - 1)
    if frames is None:
        per_bin = magnitude.mean(dim=2)  # [batch, freq]
    else:
        weights = _frame_weights(frames, magnitude[:, 0])[:, None, :]
        per_bin = (magnitude * weights).sum(dim=2) / weights.sum(dim=2)
    totals = per_bin.new_zeros(magnitude.shape[0], num_bands).index_add_(1, band_of_bin, per_bin)
    counts = torch.bincount(band_of_bin, minlength=num_bands).to(per_bin.dtype)
    return BandProfile(band_edges_hz, 20 * torch.log10(totals / counts + PROFILE_EPS))


def _select_bins(
    reference: torch.Tensor, estimate: torch.Tensor, bins: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if bins is None:
        return reference, estimate
    bins = bins.to(reference.device)
    return reference[:, bins], estimate[:, bins]


def _frame_weights(frames: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A bool frame selection `[frames]` or `[batch, frames]` as float weights `[batch, frames]`."""
    return frames.to(device=like.device, dtype=like.dtype).expand_as(like)


def _quantile_of_sorted(ordered: torch.Tensor, q: float) -> torch.Tensor:
    """The q-quantile of sorted values, interpolating linearly between order statistics (as
    `torch.quantile`, which refuses more than 2^24 values)."""
    position = q * (ordered.numel() - 1)
    lower = int(position)
    upper = min(lower + 1, ordered.numel() - 1)
    return ordered[lower] + (position - lower) * (ordered[upper] - ordered[lower])

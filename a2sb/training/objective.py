"""The training objective of A2SB (paper §3.2, §3.3, eqs. 8–10).

For clean segments x0 (spectrogram tensors), one training example is

    M ~ TrainingMaskSampler                 bandwidth or inpainting mask, 1 = missing (§3.2)
    x1 = x0 (1 − M) + M · 0.5 ε             degraded endpoint, noise fill (eq. 8)
       or x0 (1 − M) + M (P + σ_p ε)        prior fill: P from the known content
    t ~ U[t_min, t_max)                     the partition's range of time (§3.5)
    x_t = a_t x0 + b_t x1 + σ_SB(t) ε'      bridge marginal (eq. 9)
    target = (x_t − x0) / σ_t               network target (eq. 10), prediction_type "epsilon"
          or x0 − x1                        "prior_residual": the clean spectrum minus the prior
    loss = Σ W (net(x_t[, x1], t) − target)² / Σ W,   W = M (· rows below the true bandwidth)
                                            (· a weight per channel, `bridge.channel_weights`)

so only the missing region is learned; the known region is re-imposed at sampling time anyway.
The prior fill is explained in docs/concepts.md, "The prior fill".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from diffusers.utils.torch_utils import randn_tensor

from a2sb.degradations import NOISE_FILL, EndpointFill, TrainingMaskSampler
from a2sb.representations import STFTRepresentation
from a2sb.schedulers import I2SBScheduler


@dataclass
class BridgeBatch:
    """One batch of network inputs and targets.

    Args:
        noisy_samples: x_t, `[batch, channels, freq, frames]`.
        timesteps: t, `[batch]` float32.
        target: the scheduler's `get_target`, shaped like `noisy_samples`.
        loss_weight: W, `[batch, 1, freq, frames]`, 1 where the loss counts.
        condition: x1 for a network that also sees it, else None.
    """

    noisy_samples: torch.Tensor
    timesteps: torch.Tensor
    target: torch.Tensor
    loss_weight: torch.Tensor
    condition: torch.Tensor | None = None

    @property
    def model_input(self) -> torch.Tensor:
        """x_t, with x1 concatenated along the channels when the network sees it:
        `[batch, channels (· 2), freq, frames]`."""
        if self.condition is None:
            return self.noisy_samples
        return torch.cat([self.noisy_samples, self.condition], dim=1)


def band_limit_weight(
    bandwidth_hz: torch.Tensor, representation: STFTRepresentation, num_frames: int
) -> torch.Tensor:
    """1 on the rows at or below each example's true bandwidth, 0 above it.

    Row r holds bin r + 1; the rows kept are those a bandwidth-extension cutoff at the true
    bandwidth would keep, r < ⌊n_fft · bandwidth / sampling_rate⌋. An infinite bandwidth
    (unknown) keeps every row.

    Args:
        bandwidth_hz: `[batch]`.
        representation: gives the rows and the rate.
        num_frames: frames of the spectrogram.

    Returns:
        `[batch, 1, freq, frames]` float32.
    """
    config = representation.config
    first_excluded = torch.floor(bandwidth_hz.double() * config.n_fft / config.sampling_rate)
    rows = torch.arange(representation.freq_bins, device=bandwidth_hz.device)
    weight = (rows[None, :] < first_excluded[:, None]).float()
    return weight[:, None, :, None].expand(-1, -1, -1, num_frames)


def draw_degradation(
    spectrum: torch.Tensor,
    mask_sampler: TrainingMaskSampler,
    endpoint_fill: EndpointFill,
    representation: STFTRepresentation,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encode clean spectra, draw a mask per example and the degraded endpoint x1, filled
    with noise (eq. 8) or with the prior (docs/concepts.md, "The prior fill") as the pipeline
    fills it.

    Args:
        spectrum: clean complex STFTs `[batch, n_fft / 2 + 1, frames]`.
        mask_sampler: the mask mix of §3.2.
        endpoint_fill: how the missing region of x1 is filled.
        representation: encodes x0 and the prior, gives the rows of a cutoff.
        generator: source of the masks and ε.

    Returns:
        `(x0 [batch, channels, freq, frames], mask [batch, 1, freq, frames], x1 like x0)`.
    """
    x0 = representation.encode_spectrum(spectrum)
    batch, _, _, num_frames = x0.shape
    mask = mask_sampler.sample(batch, num_frames, representation, generator).to(x0.device)
    x1 = endpoint_fill.endpoint(x0, mask, spectrum, representation, generator=generator)
    return x0, mask, x1


def bridge_batch_at(
    x0: torch.Tensor,
    x1: torch.Tensor,
    timesteps: torch.Tensor,
    noise: torch.Tensor,
    loss_weight: torch.Tensor,
    scheduler: I2SBScheduler,
    sees_degraded: bool = False,
) -> BridgeBatch:
    """The network input and target at times `timesteps` (eqs. 9, 10).

    Args:
        x0, x1: clean and degraded spectrograms `[batch, channels, freq, frames]`.
        timesteps: t, `[batch]`, inside (0, 1].
        noise: ε' ~ N(0, I), shaped like x0.
        loss_weight: W, `[batch, 1, freq, frames]`.
        scheduler: the bridge and its prediction type.
        sees_degraded: the network also sees x1 (`BridgeBatch.condition`).
    """
    noisy_samples = scheduler.add_noise(x0, x1, timesteps, noise)  # eq. 9
    target = scheduler.get_target(x0, noisy_samples, timesteps, x1)  # eq. 10, or x0 − x1
    condition = x1 if sees_degraded else None
    return BridgeBatch(noisy_samples, timesteps, target, loss_weight, condition)


def loss_weight_for(
    mask: torch.Tensor, bandwidth_hz: torch.Tensor | None, representation: STFTRepresentation
) -> torch.Tensor:
    """W = M, zeroed above each bandwidth-extension example's true bandwidth when
    `bandwidth_hz` is given.

    A band that the encoder left empty cannot be seen above a cutoff, so bandwidth extension
    is not taught to re-create that emptiness; inside a gap the neighbours show where the
    recording's band ends, so inpainting examples keep their loss there and the model learns
    to leave an empty band empty (an inpainting mask misses row 0 in its gap frames).
    """
    if bandwidth_hz is None:
        return mask
    band_limit = band_limit_weight(bandwidth_hz.to(mask.device), representation, mask.shape[-1])
    is_gap = mask[:, 0, 0, :].amax(dim=-1) > 0  # [batch]
    band_limit = torch.where(is_gap[:, None, None, None], 1.0, band_limit)
    return mask * band_limit


def make_bridge_batch(
    waveforms: torch.Tensor,
    bandwidth_hz: torch.Tensor | None,
    representation: STFTRepresentation,
    mask_sampler: TrainingMaskSampler,
    scheduler: I2SBScheduler,
    generator: torch.Generator,
    t_range: tuple[float, float] = (0.0, 1.0),
    endpoint_fill: EndpointFill = NOISE_FILL,
    sees_degraded: bool = False,
) -> BridgeBatch:
    """Draw masks, degraded endpoints, times and bridge noise for a batch of segments.

    All draws come from `generator` (a CPU generator: the same numbers on every device).

    Args:
        waveforms: clean segments `[batch, samples]` on the training device.
        bandwidth_hz: `[batch]` true bandwidth per segment (inf if unknown), or None for no
            band limit in the loss.
        representation: waveform → `[batch, channels, freq, frames]`.
        mask_sampler: the mask mix of §3.2.
        scheduler: the bridge (eqs. 9, 10) and the training-time draw.
        generator: source of every draw.
        t_range: the range of time the run trains (a partition's, or all of [0, 1)).
        endpoint_fill: how the missing region of x1 is filled (the paper's noise by default).
        sees_degraded: the network also sees x1.
    """
    spectrum = representation.spectrum(waveforms)
    x0, mask, x1 = draw_degradation(
        spectrum, mask_sampler, endpoint_fill, representation, generator
    )
    timesteps = scheduler.sample_training_t(
        x0.shape[0], generator, device=x0.device, t_range=t_range
    )
    noise = randn_tensor(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    loss_weight = loss_weight_for(mask, bandwidth_hz, representation)
    return bridge_batch_at(x0, x1, timesteps, noise, loss_weight, scheduler, sees_degraded)


def masked_mse(
    prediction: torch.Tensor,
    target: torch.Tensor,
    loss_weight: torch.Tensor,
    channel_weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """Σ W (prediction − target)² / Σ W, over every channel, row, frame and batch item.

    Computed in float32. A batch whose weights are all zero gives 0 (and zero gradients).

    Args:
        prediction: the network output, `[batch, channels, freq, frames]`.
        target: the regression target, the same shape.
        loss_weight: `[batch, 1, freq, frames]`, broadcast over the channels.
        channel_weights: one weight per channel multiplying W (None: all 1). A channel of
            weight 0 gets no gradient at all.
    """
    weight = loss_weight.float().expand_as(prediction)
    if channel_weights is not None:
        per_channel = torch.tensor(channel_weights, dtype=torch.float32, device=weight.device)
        weight = weight * per_channel[None, :, None, None]
    squared_error = (prediction.float() - target.float()).square()
    return (weight * squared_error).sum() / weight.sum().clamp_min(1.0)


def bridge_loss(
    model: torch.nn.Module, batch: BridgeBatch, channel_weights: Sequence[float] | None = None
) -> torch.Tensor:
    """The masked loss of the network on one batch (a 0-d float32 tensor), each channel
    weighted by `channel_weights` (None: all 1)."""
    prediction = model(batch.model_input, batch.timesteps).sample
    return masked_mse(prediction, batch.target, batch.loss_weight, channel_weights)


def evenly_spaced_times(t_range: tuple[float, float], count: int = 5) -> list[float]:
    """`count` times at the centres of equal slices of `[t_min, t_max)` (validation times)."""
    t_min, t_max = t_range
    width = (t_max - t_min) / count
    return [round(t_min + (index + 0.5) * width, 6) for index in range(count)]

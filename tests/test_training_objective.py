import math

import pytest
import torch
from synth import synth_music

from a2sb.degradations import TrainingMaskSampler
from a2sb.models import RoPEUNet2DOutput
from a2sb.representations import FactorizedSTFT
from a2sb.schedulers import I2SBScheduler, sigma_fwd
from a2sb.training.objective import (
    band_limit_weight,
    bridge_loss,
    evenly_spaced_times,
    make_bridge_batch,
    masked_mse,
)

REPRESENTATION = FactorizedSTFT(n_fft=256, hop_length=64)


def waveforms(batch: int = 8) -> torch.Tensor:
    return torch.stack([torch.from_numpy(synth_music(960, seed=seed)[0]) for seed in range(batch)])


def bridge_batch(t_range=(0.0, 1.0), bandwidth_hz=None, seed=0):
    return make_bridge_batch(
        waveforms(),
        bandwidth_hz,
        REPRESENTATION,
        TrainingMaskSampler(),
        I2SBScheduler(),
        torch.Generator().manual_seed(seed),
        t_range,
    )


@pytest.mark.parametrize("t_range", [(0.5, 1.0), (0.0, 0.5), (0.2, 0.3)])
def test_partition_training_draws_t_only_inside_its_range(t_range):
    t = I2SBScheduler().sample_training_t(20000, torch.Generator().manual_seed(0), t_range=t_range)
    assert t.min() >= t_range[0] and t.max() < t_range[1]
    assert t.min() < t_range[0] + 0.01 and t.max() > t_range[1] - 0.01
    batch = bridge_batch(t_range)
    assert ((batch.timesteps >= t_range[0]) & (batch.timesteps < t_range[1])).all()


def test_target_is_eq_10_of_the_batch():
    batch = bridge_batch()
    x0 = REPRESENTATION.encode(waveforms())
    sigma = sigma_fwd(batch.timesteps.double()).float()[:, None, None, None]
    torch.testing.assert_close(batch.target, (batch.noisy_samples - x0) / sigma)


def test_loss_weight_is_the_mask_and_mixes_both_kinds():
    batch = bridge_batch(seed=3)
    weight = batch.loss_weight[:, 0]
    whole_frames = weight.amin(dim=1).amax(dim=1) == 1  # inpainting: whole columns missing
    whole_rows = weight.amin(dim=2).amax(dim=1) == 1  # bandwidth: whole rows missing
    assert whole_frames.any() and whole_rows.any()
    assert (whole_frames ^ whole_rows).all()


def test_masked_mse_is_the_mean_over_the_masked_entries():
    prediction = torch.zeros(1, 3, 2, 2)
    target = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    weight = torch.tensor([1.0, 0.0, 0.0, 1.0]).reshape(1, 1, 2, 2)
    assert masked_mse(prediction, target, weight).item() == pytest.approx((1 + 16) / 2)


class ShiftedOutsideTheMask(torch.nn.Module):
    """Returns the target inside the mask plus `shift` times anything outside it."""

    def __init__(self, batch, shift):
        super().__init__()
        self.batch, self.shift = batch, shift

    def forward(self, sample, timestep):
        mask = self.batch.loss_weight
        garbage = torch.randn(sample.shape, generator=torch.Generator().manual_seed(1))
        output = self.batch.target + 0.1 * mask + self.shift * (1 - mask) * garbage
        return RoPEUNet2DOutput(sample=output)


def test_loss_ignores_the_network_output_outside_the_mask():
    batch = bridge_batch()
    losses = [bridge_loss(ShiftedOutsideTheMask(batch, shift), batch) for shift in (0, 1, 1e3)]
    assert losses[0].item() == pytest.approx(0.01, rel=1e-5)
    assert losses[1] == losses[0] and losses[2] == losses[0]


def test_band_limit_weight_keeps_the_rows_below_the_true_bandwidth():
    weight = band_limit_weight(torch.tensor([4000.0, math.inf]), REPRESENTATION, num_frames=3)
    cutoff_row = REPRESENTATION.row_for_frequency(4000)  # ⌊256 · 4000 / 44100⌋ = 23
    assert cutoff_row == 23
    assert weight.shape == (2, 1, 128, 3)
    assert weight[0, 0, :23].eq(1).all() and weight[0, 0, 23:].eq(0).all()
    assert weight[1].eq(1).all()


def test_bandwidth_loss_masking_zeroes_the_weight_above_the_bandwidth():
    batch = bridge_batch(bandwidth_hz=torch.full((8,), 8000.0))
    unlimited = bridge_batch()
    row = REPRESENTATION.row_for_frequency(8000)
    bandwidth = unlimited.loss_weight[:, 0, 0].amax(dim=-1) == 0  # row 0 kept: not a gap
    assert bandwidth.any() and not bandwidth.all()
    assert batch.loss_weight[bandwidth, :, row:].eq(0).all()
    assert torch.equal(batch.loss_weight[:, :, :row], unlimited.loss_weight[:, :, :row])
    assert torch.equal(batch.loss_weight[~bandwidth], unlimited.loss_weight[~bandwidth])


def test_evenly_spaced_validation_times():
    assert evenly_spaced_times((0.5, 1.0)) == [0.55, 0.65, 0.75, 0.85, 0.95]


def test_the_band_limit_of_the_loss_spares_inpainting_examples():
    """Above a file's true bandwidth, bandwidth extension has no loss (the encoder's empty band
    is invisible above a cutoff); inpainting keeps it (the neighbours show the band's top)."""
    from a2sb.training.objective import loss_weight_for

    representation = FactorizedSTFT()
    mask = torch.zeros(2, 1, 1024, 8)
    mask[0, :, 400:] = 1  # bandwidth extension above row 400
    mask[1, :, :, 2:5] = 1  # a gap of 3 frames
    weight = loss_weight_for(mask, torch.tensor([10000.0, 10000.0]), representation)
    top = representation.row_for_frequency(10000)  # 464
    assert weight[0, 0, 400:top].all() and not weight[0, 0, top:].any()
    assert torch.equal(weight[1], mask[1])

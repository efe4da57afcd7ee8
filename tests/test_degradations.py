import pytest
import torch

from a2sb.degradations import (
    TrainingMaskSampler,
    bandwidth_extension_mask,
    fill_missing,
    inpainting_mask,
)
from a2sb.errors import A2SBInputError
from a2sb.representations import FactorizedSTFT

REPRESENTATION = FactorizedSTFT()
SEGMENT = 130_560  # 256 frames


def test_cutoff_4khz_keeps_rows_below_185():
    mask = bandwidth_extension_mask(REPRESENTATION, 4000, SEGMENT)
    assert mask.shape == (1, 1, 1024, 256)
    assert torch.all(mask[..., :185, :] == 0)
    assert torch.all(mask[..., 185:, :] == 1)


@pytest.mark.parametrize("cutoff_hz", [0, -100, 22050, 30000])
def test_cutoff_outside_the_band_is_refused(cutoff_hz):
    with pytest.raises(A2SBInputError, match=rf"cutoff {cutoff_hz:g} Hz is outside \(0, 22050\)"):
        bandwidth_extension_mask(REPRESENTATION, cutoff_hz, SEGMENT)


def test_gap_covers_frames_from_floor_of_start_to_floor_of_end():
    mask = inpainting_mask(REPRESENTATION, [(1.0, 1.5)], SEGMENT)
    missing_frames = mask[0, 0, 0].nonzero().flatten()
    assert missing_frames[0] == 86  # ⌊86.13 · 1.0⌋
    assert missing_frames[-1] == 128  # ⌊86.13 · 1.5⌋ − 1
    assert torch.all(mask[0, 0, :, 86:129] == 1)
    assert mask.sum() == 1024 * (129 - 86)


def test_several_gaps_in_any_order():
    mask = inpainting_mask(REPRESENTATION, [(2.0, 2.1), (0.5, 0.6)], SEGMENT)
    missing_frames = mask[0, 0, 0].nonzero().flatten().tolist()
    assert missing_frames == list(range(43, 51)) + list(range(172, 180))


def test_tiny_gap_still_masks_one_frame():
    mask = inpainting_mask(REPRESENTATION, [(1.0, 1.001)], SEGMENT)
    assert mask[0, 0, 0].sum() == 1


@pytest.mark.parametrize(
    ("gaps", "message"),
    [
        ([(1.0, 0.5)], "reversed or empty"),
        ([(1.0, 1.0)], "reversed or empty"),
        ([(2.5, 3.5)], "outside the audio, which lasts 2.961 s"),
        ([(-0.1, 0.5)], "outside the audio"),
        ([(0.1, 0.5), (0.4, 0.8)], "overlap; merge them"),
        ([], "at least one gap"),
    ],
)
def test_bad_gaps_are_refused(gaps, message):
    with pytest.raises(A2SBInputError, match=message):
        inpainting_mask(REPRESENTATION, gaps, SEGMENT)


def test_fill_keeps_known_content_and_fills_the_rest_with_half_unit_noise():
    x0 = torch.randn(2, 3, 1024, 256, generator=torch.Generator().manual_seed(1))
    mask = bandwidth_extension_mask(REPRESENTATION, 8000, SEGMENT)
    x1 = fill_missing(x0, mask, generator=torch.Generator().manual_seed(2))
    kept = mask.expand_as(x0) == 0
    assert torch.equal(x1[kept], x0[kept])
    filled = x1[~kept]
    assert abs(filled.mean().item()) < 0.01
    assert abs(filled.std().item() - 0.5) < 0.01


def test_fill_is_reproducible_with_a_generator():
    x0 = torch.zeros(1, 3, 1024, 16)
    mask = torch.ones(1, 1, 1024, 16)
    first = fill_missing(x0, mask, generator=torch.Generator().manual_seed(3))
    second = fill_missing(x0, mask, generator=torch.Generator().manual_seed(3))
    third = fill_missing(x0, mask, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, second)
    assert not torch.equal(first, third)


def masks_by_kind(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split masks into bandwidth ones (missing rows at every frame) and gap ones."""
    full_rows = masks[:, 0].all(dim=2).any(dim=1)
    full_frames = masks[:, 0].all(dim=1).any(dim=1)
    is_bandwidth = full_rows & ~full_frames
    return masks[is_bandwidth], masks[~is_bandwidth]


def test_training_masks_lie_in_the_documented_ranges():
    sampler = TrainingMaskSampler()
    masks = sampler.sample(1000, 256, REPRESENTATION, generator=torch.Generator().manual_seed(0))
    assert masks.shape == (1000, 1, 1024, 256)
    bandwidth, gaps = masks_by_kind(masks)
    assert len(bandwidth) + len(gaps) == 1000
    assert abs(len(bandwidth) / 1000 - 0.5) < 0.08  # 5 standard errors
    first_missing_row = 1024 - bandwidth[:, 0, :, 0].sum(dim=1)
    assert first_missing_row.min() >= REPRESENTATION.row_for_frequency(2000)
    assert first_missing_row.max() <= REPRESENTATION.row_for_frequency(16000)
    gap_frames = gaps[:, 0, 0].sum(dim=1)
    assert gap_frames.min() >= int(0.034 * 256)
    assert gap_frames.max() <= int(0.54 * 256)
    # a gap is one contiguous run of frames, missing at every frequency
    frame_is_missing = gaps[:, 0].all(dim=1)
    assert torch.equal(frame_is_missing, gaps[:, 0].any(dim=1))
    edges = (frame_is_missing[:, 1:] != frame_is_missing[:, :-1]).sum(dim=1)
    assert edges.max() <= 2


def test_training_masks_are_reproducible_with_a_generator():
    sampler = TrainingMaskSampler()
    first = sampler.sample(8, 256, REPRESENTATION, generator=torch.Generator().manual_seed(5))
    second = sampler.sample(8, 256, REPRESENTATION, generator=torch.Generator().manual_seed(5))
    third = sampler.sample(8, 256, REPRESENTATION, generator=torch.Generator().manual_seed(6))
    assert torch.equal(first, second)
    assert not torch.equal(first, third)


def test_training_mask_probability_one_gives_only_bandwidth_masks():
    sampler = TrainingMaskSampler(bandwidth_probability=1.0)
    masks = sampler.sample(64, 256, REPRESENTATION, generator=torch.Generator().manual_seed(0))
    bandwidth, gaps = masks_by_kind(masks)
    assert len(gaps) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bandwidth_probability": 1.5}, "must lie in"),
        ({"cutoff_range_hz": (8000.0, 4000.0)}, "must be increasing"),
        ({"gap_fraction_range": (0.0, 0.5)}, "0 < low <= high <= 1"),
    ],
)
def test_bad_training_mask_settings_are_refused(kwargs, message):
    with pytest.raises(A2SBInputError, match=message):
        TrainingMaskSampler(**kwargs)

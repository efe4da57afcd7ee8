import math

import pytest
import torch

from a2sb.evaluation.metrics import (
    band_magnitude_profile,
    frequency_bins,
    log_spectral_distance,
    magnitude_spectrogram,
    phase_error_statistics,
    scale_invariant_spectrogram_snr,
)
from a2sb.representations import FactorizedSTFT


def random_magnitudes(seed=0, shape=(2, 1025, 20)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5


def test_lsd_of_identical_spectrograms_is_zero():
    magnitude = random_magnitudes()
    assert torch.equal(log_spectral_distance(magnitude, magnitude), torch.zeros(2))


def test_lsd_of_ten_times_the_magnitude_is_two():
    magnitude = random_magnitudes()
    torch.testing.assert_close(
        log_spectral_distance(magnitude, 10 * magnitude), torch.full((2,), 2.0)
    )


def test_lsd_hand_computed_two_bins_two_frames():
    reference = torch.ones(1, 2, 2)
    # frame 0: both bins ×10 → √((2² + 2²)/2) = 2; frame 1: bin 0 equal, bin 1 ×100 → √(16/2)
    estimate = torch.tensor([[[10.0, 1.0], [10.0, 100.0]]])
    expected = (2 + math.sqrt(8)) / 2
    torch.testing.assert_close(
        log_spectral_distance(reference, estimate, eps=0.0), torch.tensor([expected])
    )


def test_lsd_of_silence_against_silence_is_zero_and_eps_bounds_a_missing_bin():
    silent = torch.zeros(1, 3, 4)
    assert log_spectral_distance(silent, silent).item() == 0
    # power 1 against 0 with eps 1e-10: log10(1 / 1e-10) = 10 in every bin
    torch.testing.assert_close(
        log_spectral_distance(torch.ones(1, 3, 4), silent), torch.tensor([10.0])
    )


def test_lsd_restricted_to_frames_sees_only_those_frames():
    reference = torch.ones(1, 4, 6)
    estimate = reference.clone()
    estimate[..., 2:4] = 10.0
    frames = torch.zeros(6, dtype=torch.bool)
    frames[2:4] = True
    assert log_spectral_distance(reference, estimate, frames=frames).item() == pytest.approx(2.0)
    assert log_spectral_distance(reference, estimate).item() == pytest.approx(2.0 / 3)


def test_lsd_restricted_to_bins_sees_only_that_band():
    reference = torch.ones(1, 1025, 3)
    estimate = reference.clone()
    estimate[:, 500:] = 10.0
    high_band = frequency_bins(2048, 44100, above_hz=500 * 44100 / 2048 - 1)
    assert log_spectral_distance(reference, estimate, bins=high_band).item() == pytest.approx(2.0)
    assert log_spectral_distance(reference, estimate, bins=~high_band).item() == 0


def test_frequency_bins_at_4khz_split_between_bins_185_and_186():
    above = frequency_bins(2048, 44100, above_hz=4000)
    below = frequency_bins(2048, 44100, up_to_hz=4000)
    assert above.shape == (1025,)
    assert above.nonzero()[0].item() == 186  # 186 · 44100 / 2048 = 4005 Hz
    assert below.nonzero()[-1].item() == 185  # 3984 Hz
    assert torch.equal(above, ~below)


def test_sispec_hand_computed():
    reference = torch.tensor([[[1.0, 0.0]]])
    # n(A) = <A, Â> A / |A|² = (2, 0); n(A) − Â = (0, −1) → 10·log10(4 / 1)
    estimate = torch.tensor([[[2.0, 1.0]]])
    torch.testing.assert_close(
        scale_invariant_spectrogram_snr(reference, estimate), torch.tensor([10 * math.log10(4)])
    )


def test_sispec_is_scale_invariant_and_high_for_a_scaled_copy():
    reference = random_magnitudes(0)
    estimate = reference + 0.05 * random_magnitudes(1)
    torch.testing.assert_close(
        scale_invariant_spectrogram_snr(reference, 0.01 * estimate),
        scale_invariant_spectrogram_snr(reference, estimate),
    )
    assert torch.all(scale_invariant_spectrogram_snr(reference, 3 * reference) > 100)
    assert torch.all(scale_invariant_spectrogram_snr(reference, estimate) < 60)


def test_sispec_restricted_to_frames():
    reference = torch.ones(1, 4, 6)
    estimate = reference.clone()
    estimate[..., :3] = torch.tensor([1.0, 2.0, 1.0, 2.0])[:, None]
    frames = torch.tensor([False, False, False, True, True, True])
    assert scale_invariant_spectrogram_snr(reference, estimate, frames=frames).item() > 100
    assert scale_invariant_spectrogram_snr(reference, estimate).item() < 30


def test_phase_error_of_cos_sin_scaled_by_1_1_is_0_02_everywhere():
    tensor = FactorizedSTFT().encode(
        torch.randn(2, 4096, generator=torch.Generator().manual_seed(0))
    )
    tensor[:, 1:] *= 1.1
    statistics = phase_error_statistics(tensor)
    assert set(statistics) == {"mean", "p50", "p90", "p99", "max"}
    for value in statistics.values():
        torch.testing.assert_close(value, torch.full((2,), 0.02), rtol=1e-4, atol=1e-6)


def test_phase_error_percentiles_interpolate_like_numpy_within_the_mask():
    tensor = torch.zeros(1, 3, 2, 5)
    tensor[0, 1, 0] = 1 + torch.arange(5.0)  # errors 2·k² = 0, 2, 8, 18, 32 in row 0
    tensor[0, 1, 1] = 100.0  # row 1 is masked out
    mask = torch.zeros(1, 1, 2, 5)
    mask[:, :, 0] = 1
    statistics = phase_error_statistics(tensor, percentiles=(50, 90), mask=mask)
    assert statistics["mean"].item() == pytest.approx(12.0)
    assert statistics["p50"].item() == pytest.approx(8.0)
    assert statistics["p90"].item() == pytest.approx(18 + 0.6 * 14)
    assert statistics["max"].item() == pytest.approx(32.0)


def test_band_profile_puts_a_2500_hz_sine_in_the_2_to_3_khz_band():
    time = torch.arange(44100) / 44100
    sine = torch.sin(2 * torch.pi * 2500 * time)[None]
    profile = band_magnitude_profile(magnitude_spectrogram(sine), 44100)
    assert profile.band_edges_hz[:3].tolist() == [0, 1000, 2000]
    assert profile.band_edges_hz[-1].item() == 22050
    assert profile.magnitude_db.shape == (1, 23)
    assert profile.magnitude_db[0].argmax().item() == 2
    assert profile.magnitude_db[0, 10].item() < profile.magnitude_db[0, 2].item() - 60


def test_magnitude_spectrogram_shape_follows_the_paper_preset():
    assert magnitude_spectrogram(torch.zeros(3, 44100)).shape == (3, 1025, 87)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_metrics_run_where_their_inputs_are(device):
    waveform = torch.randn(2, 8192, generator=torch.Generator().manual_seed(0)).to(device)
    reference = magnitude_spectrogram(waveform)
    estimate = 10 * reference
    frames = torch.ones(reference.shape[-1], dtype=torch.bool)
    bins = frequency_bins(2048, 44100, up_to_hz=8000, device=device)
    lsd = log_spectral_distance(reference, estimate, bins=bins, frames=frames)
    assert lsd.device.type == device
    torch.testing.assert_close(lsd.cpu(), torch.full((2,), 2.0))
    assert scale_invariant_spectrogram_snr(reference, estimate).device.type == device
    assert band_magnitude_profile(reference, 44100).magnitude_db.device.type == device
    tensor = FactorizedSTFT().encode(waveform)
    assert phase_error_statistics(tensor)["p99"].device.type == device

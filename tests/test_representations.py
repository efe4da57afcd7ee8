import math

import pytest
import torch
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.representations import (
    ComplexSTFT,
    FactorizedSTFT,
    STFTRepresentation,
    orthogonalize_phase,
    phase_orthogonalization_error,
    representation_from_config,
)

LENGTHS = [1, 300, 1024, 1025, 2047, 9999, 44100 + 77]


def snr_db(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    return 10 * math.log10(reference.pow(2).sum() / (reference - estimate).pow(2).sum())


def music(num_samples: int, channels: int = 2) -> torch.Tensor:
    return torch.from_numpy(synth_music(num_samples, channels=channels, seed=num_samples))


def without_dc_bin(representation: STFTRepresentation, waveform: torch.Tensor) -> torch.Tensor:
    """The waveform less what the STFT's bin 0 holds (which the representation drops)."""
    spectrum = representation.spectrum(waveform)
    dc_only = torch.zeros_like(spectrum)
    dc_only[:, 0] = spectrum[:, 0]
    dc_part = torch.istft(
        dc_only,
        n_fft=2048,
        hop_length=512,
        window=torch.hann_window(2048),
        center=True,
        length=waveform.shape[-1],
    )
    return waveform - dc_part


@pytest.mark.parametrize("representation_class", [FactorizedSTFT, ComplexSTFT])
@pytest.mark.parametrize("num_samples", LENGTHS)
def test_round_trip_with_dc_row_is_exact(representation_class, num_samples):
    representation = representation_class()
    waveform = music(num_samples)
    tensor = representation.encode(waveform)
    dc_row = representation.spectrum(waveform)[:, 0]
    restored = representation.decode(tensor, num_samples, dc_row=dc_row)
    assert restored.shape == waveform.shape
    assert snr_db(waveform, restored) > 80


@pytest.mark.parametrize("num_samples", [2047, 44100 + 77])
def test_round_trip_is_exact_away_from_the_dc_bin(num_samples):
    representation = FactorizedSTFT()
    waveform = music(num_samples)
    restored = representation.decode(representation.encode(waveform), num_samples)
    assert snr_db(without_dc_bin(representation, waveform), restored) > 80


def test_tensor_shape_is_batch_channels_1024_rows_frames():
    waveform = music(10_000)
    assert FactorizedSTFT().encode(waveform).shape == (2, 3, 1024, 1 + 10_000 // 512)
    assert ComplexSTFT().encode(waveform).shape == (2, 2, 1024, 1 + 10_000 // 512)


@pytest.mark.parametrize("num_samples", [1, 511, 512, 1023, 1024, 1025, 130_560])
def test_frames_are_one_plus_samples_over_hop(num_samples):
    representation = FactorizedSTFT()
    expected = 1 + num_samples // 512
    assert representation.frames_for(num_samples) == expected
    assert representation.encode(torch.zeros(1, num_samples)).shape[-1] == expected


def test_1025_bin_stft_gives_1024_rows_with_dc_dropped():
    representation = FactorizedSTFT()
    waveform = music(5000, channels=1)
    spectrum = representation.spectrum(waveform)
    assert spectrum.shape[1] == 1025
    tensor = representation.encode(waveform)
    assert representation.freq_bins == 1024
    # row r holds bin r + 1: row 0 is bin 1, row 1023 is the Nyquist bin
    torch.testing.assert_close(tensor[0, 0, 0], spectrum[0, 1].abs().pow(0.25))
    torch.testing.assert_close(tensor[0, 0, 1023], spectrum[0, 1024].abs().pow(0.25))


def test_4khz_cutoff_first_missing_row_is_185():
    assert FactorizedSTFT().row_for_frequency(4000) == 185


def test_channels_are_quarter_power_magnitude_cos_and_sin_of_the_phase():
    representation = FactorizedSTFT()
    waveform = music(4096, channels=1)
    spectrum = representation.spectrum(waveform)[:, 1:]
    tensor = representation.encode(waveform)
    phase = torch.atan2(spectrum.imag, spectrum.real)
    torch.testing.assert_close(tensor[:, 0], spectrum.abs().pow(0.25))
    torch.testing.assert_close(tensor[:, 1], torch.cos(phase), atol=1e-5, rtol=0)
    torch.testing.assert_close(tensor[:, 2], torch.sin(phase), atol=1e-5, rtol=0)


def test_zero_bin_encodes_as_zero_magnitude_and_phase_one_zero():
    tensor = FactorizedSTFT().encode(torch.zeros(1, 3000))
    assert torch.all(tensor[:, 0] == 0)
    assert torch.all(tensor[:, 1] == 1)
    assert torch.all(tensor[:, 2] == 0)


def test_checkpoint_magnitude_formula_matches_within_tolerance():
    """The released models were trained on m·m^0.25/(m + 1e-9); ours is m^0.25."""
    representation = FactorizedSTFT()
    waveform = music(8192, channels=1)
    magnitude = representation.spectrum(waveform)[:, 1:].abs()
    released = magnitude * magnitude.pow(0.25) / (magnitude + 1e-9)
    torch.testing.assert_close(representation.encode(waveform)[:, 0], released, atol=1e-4, rtol=0)


def test_orthogonalization_puts_pairs_on_the_unit_circle():
    generator = torch.Generator().manual_seed(0)
    cos = torch.randn(1000, generator=generator) * 3
    sin = torch.randn(1000, generator=generator) * 3
    cos_out, sin_out = orthogonalize_phase(cos, sin)
    torch.testing.assert_close(cos_out**2 + sin_out**2, torch.ones(1000))
    # the direction is kept
    torch.testing.assert_close(torch.atan2(sin_out, cos_out), torch.atan2(sin, cos))


def test_orthogonalization_leaves_unit_pairs_unchanged():
    angle = torch.linspace(-math.pi, math.pi, 1001)
    cos_out, sin_out = orthogonalize_phase(torch.cos(angle), torch.sin(angle))
    torch.testing.assert_close(cos_out, torch.cos(angle), atol=1e-6, rtol=0)
    torch.testing.assert_close(sin_out, torch.sin(angle), atol=1e-6, rtol=0)


def test_orthogonalization_maps_zero_pair_to_one_zero():
    cos_out, sin_out = orthogonalize_phase(torch.zeros(3), torch.zeros(3))
    assert torch.equal(cos_out, torch.ones(3))
    assert torch.equal(sin_out, torch.zeros(3))


def test_orthogonalization_error_is_equation_18():
    tensor = torch.zeros(1, 3, 2, 2)
    tensor[0, 1] = torch.tensor([[1.0, 0.6], [0.3, 0.0]])
    tensor[0, 2] = torch.tensor([[0.0, 0.8], [0.4, 2.0]])
    expected = torch.tensor([[[0.0, 0.0], [2 * (0.5 - 1) ** 2, 2 * (2.0 - 1) ** 2]]])
    torch.testing.assert_close(phase_orthogonalization_error(tensor), expected)


def test_decode_orthogonalizes_a_perturbed_phase():
    representation = FactorizedSTFT()
    waveform = music(8192, channels=1)
    tensor = representation.encode(waveform)
    scaled = tensor.clone()
    scaled[:, 1:] *= 1.7  # off the unit circle, same direction
    dc_row = representation.spectrum(waveform)[:, 0]
    restored = representation.decode(scaled, 8192, dc_row=dc_row)
    assert snr_db(waveform, restored) > 80


def test_decode_of_bfloat16_tensor_returns_float32():
    representation = FactorizedSTFT()
    tensor = representation.encode(music(3000)).to(torch.bfloat16)
    assert representation.decode(tensor, 3000).dtype == torch.float32


@pytest.mark.parametrize("representation_class", [FactorizedSTFT, ComplexSTFT])
def test_config_round_trip_rebuilds_the_same_representation(tmp_path, representation_class):
    representation = representation_class(hop_length=256)
    representation.save_config(tmp_path)
    rebuilt = representation_from_config(representation_class.load_config(tmp_path))
    assert type(rebuilt) is representation_class
    assert rebuilt.hop_length == 256
    waveform = music(3000)
    torch.testing.assert_close(rebuilt.encode(waveform), representation.encode(waveform))


def test_unknown_representation_in_config_is_refused():
    with pytest.raises(A2SBInputError, match="unknown representation 'MelSpec'"):
        representation_from_config({"_class_name": "MelSpec"})
    with pytest.raises(A2SBInputError, match="unknown representation None"):
        representation_from_config({"n_fft": 2048})


def test_waveform_without_batch_dimension_is_refused():
    with pytest.raises(A2SBInputError, match=r"\[batch, samples\].*got \(1000,\)"):
        FactorizedSTFT().encode(torch.zeros(1000))


def test_empty_waveform_is_refused():
    with pytest.raises(A2SBInputError, match="at least one sample"):
        FactorizedSTFT().encode(torch.zeros(1, 0))


def test_tensor_of_another_representation_is_refused():
    tensor = ComplexSTFT().encode(torch.zeros(1, 3000))
    with pytest.raises(A2SBInputError, match=r"\[batch, 3, 1024, frames\] for FactorizedSTFT"):
        FactorizedSTFT().decode(tensor, 3000)


def test_invalid_stft_parameters_are_refused():
    with pytest.raises(A2SBInputError, match="n_fft must be even"):
        FactorizedSTFT(n_fft=2047)

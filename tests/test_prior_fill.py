"""The prior fill of the bridge's degraded endpoint and the baselines that share it.

The fill is explained in docs/concepts.md, "The prior fill"."""

import json

import numpy as np
import pytest
import torch
from fakes import RecordingUNet
from synth import synth_music
from training_setup import tiny_config, write_music

from a2sb.degradations import (
    FILL_NOISE_STD,
    SBR_START_FRACTION,
    EndpointFill,
    TrainingMaskSampler,
    bandwidth_extension_mask,
    crossfade_gaps,
    fill_missing,
    first_replaced_row,
    inpainting_mask,
    prior_spectrum,
    replicate_band,
)
from a2sb.errors import A2SBInputError
from a2sb.evaluation.baselines import crossfaded_copy, spectral_band_replication
from a2sb.evaluation.metrics import magnitude_spectrogram
from a2sb.evaluation.protocol import Condition, TaskInfo, degrade_for_condition
from a2sb.pipelines import A2SBPipeline
from a2sb.representations import ComplexSTFT, FactorizedSTFT
from a2sb.schedulers import I2SBScheduler
from a2sb.training import train
from a2sb.training.config import TrainingConfig
from a2sb.training.config_values import config_from_dict
from a2sb.training.objective import make_bridge_batch

RATE = 44100
STFT = ComplexSTFT()
REPRESENTATION = FactorizedSTFT()


def sine(frequency_hz: float, seconds: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * frequency_hz * np.arange(round(seconds * RATE)) / RATE)[None].astype(
        np.float32
    )


def band_level_db(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Mean power of the bins in [low_hz, high_hz), in dB, over the inner frames."""
    power = magnitude_spectrogram(torch.from_numpy(audio))[0, :, 4:-4].square()
    low, high = round(low_hz * 2048 / RATE), round(high_hz * 2048 / RATE)
    return 10 * torch.log10(power[low:high].mean()).item()


# Spectral band replication


def test_sbr_falls_18_db_per_octave_above_the_cutoff():
    noise = np.random.default_rng(0).standard_normal((1, 4 * RATE)).astype(np.float32)
    degraded, task_info = degrade_for_condition(
        noise, RATE, Condition("bandwidth_extension", cutoff_hz=4000)
    )
    restored = spectral_band_replication(degraded, RATE, task_info)
    power = magnitude_spectrogram(torch.from_numpy(restored))[0, :, 4:-4].square().mean(dim=1)
    # the patch of W = 52 bins below bin 167 (0.9 · 4 kHz) repeats from bin 167 on; compare
    # the copies of the whole patch that lie an octave apart: (2)^−3 in amplitude, −18 dB
    first, second = slice(167 + 2 * 52, 167 + 3 * 52), slice(167 + 8 * 52, 167 + 9 * 52)
    centre_ratio = (167 + 8.5 * 52) / (167 + 2.5 * 52)  # 2.05: about an octave
    measured_db = 10 * torch.log10(power[first].mean() / power[second].mean()).item()
    assert measured_db == pytest.approx(60 * np.log10(centre_ratio), abs=0.5)
    assert measured_db / np.log2(centre_ratio) == pytest.approx(18.06, abs=0.6)
    assert 10 * torch.log10(power[100:150].mean() / power[first].mean()) > 5  # quieter above


def test_sbr_keeps_the_band_below_its_start_exactly():
    music = synth_music(2 * RATE, seed=3)
    degraded, task_info = degrade_for_condition(
        music, RATE, Condition("bandwidth_extension", cutoff_hz=4000)
    )
    restored = spectral_band_replication(degraded, RATE, task_info)
    # 0.9 · first missing bin 186 → bins from 167 on are replaced; the Hann main lobe spreads
    # the new band over two bins below them
    kept = slice(0, 165)
    expected = STFT.spectrum(torch.from_numpy(degraded))[:, kept]
    actual = STFT.spectrum(torch.from_numpy(restored))[:, kept]
    torch.testing.assert_close(actual, expected, atol=2e-3 * expected.abs().max().item(), rtol=0)


LINE_HZ = 165 * RATE / 2048
"""3553 Hz, bin 165: inside the patch just below 0.9 · 4 kHz (bin 167) that is copied up."""


def copied_line(cutoff_hz: float = 4000, line_hz: float = LINE_HZ):
    """A stationary line, band-replicated above 4 kHz: the restored STFT (inner frames), the
    bin of the line and the bin of its loudest copy."""
    restored = spectral_band_replication(
        sine(line_hz), RATE, TaskInfo("bandwidth_extension", cutoff_hz=cutoff_hz)
    )
    spectrum = STFT.spectrum(torch.from_numpy(restored))[0, :, 6:-6]
    magnitude = spectrum.abs().mean(dim=1)
    source = int(magnitude[:186].argmax())
    copy = 200 + int(magnitude[200:].argmax())
    return spectrum, source, copy


def test_sbr_copy_of_a_line_is_quieter_by_the_gain_slope():
    spectrum, source, copy = copied_line()
    level_db = 20 * torch.log10(spectrum.abs().mean(dim=1))
    assert (copy - source) % 4 == 0  # a phase-coherent shift
    assert level_db[source] - level_db[copy] == pytest.approx(60 * np.log10(copy / source), abs=0.3)


def test_sbr_copy_of_a_stationary_sinusoid_is_a_stationary_sinusoid():
    spectrum, _, copy = copied_line()
    line = spectrum[copy]
    # constant magnitude (overlapping frames add up rather than beat) ...
    assert line.abs().std() < 1e-3 * line.abs().mean()
    # ... and a constant phase advance per hop
    advance = torch.angle(line[1:] * line[:-1].conj())
    assert advance.std() < 1e-3


def test_replicate_band_handles_one_cutoff_per_item():
    spectrum = torch.ones(2, 1025, 3, dtype=torch.complex64)
    replicated = replicate_band(spectrum, torch.tensor([167, 334]), coherent_step=4)
    for item, (start, width) in enumerate(((167, 52), (334, 108))):  # W = 4 ⌊start / 12⌋
        assert torch.all(replicated[item, :start] == 1)
        destination = torch.arange(start, 1025, dtype=torch.float64)
        source = start - width + (destination - start) % width
        expected = (source / destination) ** 3
        torch.testing.assert_close(replicated[item, start:, 1].real.double(), expected)


# Cross-faded neighbours


def test_crossfade_fills_a_gap_from_both_neighbours():
    before, after = 2.0 + 0j, 1j  # frames before the gap, frames after it
    spectrum = torch.full((1, 5, 40), before, dtype=torch.complex64)
    spectrum[..., 20:] = after
    missing = torch.zeros(1, 40, dtype=torch.bool)
    missing[:, 10:20] = True
    filled = crossfade_gaps(spectrum, missing)[0, 0]
    position = (torch.arange(10) + 0.5) / 10
    expected = torch.sqrt(
        (2 * torch.cos(np.pi / 2 * position)).square() + torch.sin(np.pi / 2 * position).square()
    )
    torch.testing.assert_close(filled[10:20].abs(), expected)
    assert torch.all(filled[10:15].angle() == 0)  # the phase of the nearer side
    torch.testing.assert_close(filled[15:20].angle(), torch.full((5,), np.pi / 2))
    assert torch.all(filled[:10] == before) and torch.all(filled[20:30] == after)


def test_crossfade_with_audio_on_one_side_repeats_that_side():
    spectrum = torch.arange(30.0).expand(1, 3, 30).to(torch.complex64)
    missing = torch.zeros(1, 30, dtype=torch.bool)
    missing[:, :8] = True  # a gap at the start: only the 8 frames after it are copied
    filled = crossfade_gaps(spectrum, missing)
    torch.testing.assert_close(filled[0, 0, :8], spectrum[0, 0, 8:16])


@pytest.mark.parametrize(
    ("baseline", "condition"),
    [
        (spectral_band_replication, Condition("bandwidth_extension", cutoff_hz=5000)),
        (crossfaded_copy, Condition("inpainting", gap_s=0.5)),
    ],
)
def test_baselines_are_the_prior_decoded(baseline, condition):
    music = synth_music(3 * RATE, seed=1)
    degraded, task_info = degrade_for_condition(music, RATE, condition)
    if condition.task == "inpainting":
        mask = inpainting_mask(STFT, task_info.gaps, music.shape[-1])
    else:
        mask = bandwidth_extension_mask(STFT, condition.cutoff_hz, music.shape[-1], fill="prior")
    estimate = prior_spectrum(STFT.spectrum(torch.from_numpy(degraded)), mask, STFT)
    expected = torch.istft(
        estimate, 2048, 512, window=torch.hann_window(2048), length=music.shape[-1]
    )
    restored = baseline(degraded, RATE, task_info)
    np.testing.assert_allclose(restored, expected.numpy(), atol=1e-5)


def test_prior_never_reads_the_content_under_the_mask():
    spectrum = STFT.spectrum(torch.from_numpy(synth_music(RATE, seed=2)))
    masks = [
        bandwidth_extension_mask(STFT, 6000, RATE),
        inpainting_mask(STFT, [(0.4, 0.6)], RATE),
    ]
    for mask in masks:
        missing = torch.cat([mask[:, 0, :1] * mask[:, 0].all(1, keepdim=True), mask[:, 0]], 1)
        scrambled = torch.where(missing > 0, 100 * torch.randn_like(spectrum), spectrum)
        torch.testing.assert_close(
            prior_spectrum(scrambled, mask, STFT), prior_spectrum(spectrum, mask, STFT)
        )


# The endpoint


def test_prior_fill_keeps_the_known_region_and_puts_prior_plus_noise_in_the_missing_one():
    waveform = torch.from_numpy(synth_music(RATE, seed=5))
    spectrum = REPRESENTATION.spectrum(waveform)
    x0 = REPRESENTATION.encode_spectrum(spectrum)
    mask = bandwidth_extension_mask(REPRESENTATION, 4000, RATE)
    noise = torch.randn_like(x0)
    x1 = EndpointFill("prior", 0.2).endpoint(x0, mask, spectrum, REPRESENTATION, noise=noise)
    prior = REPRESENTATION.encode_spectrum(prior_spectrum(spectrum, mask, REPRESENTATION))
    assert torch.equal(x1[..., :185, :], x0[..., :185, :])
    torch.testing.assert_close(x1[..., 185:, :], (prior + 0.2 * noise)[..., 185:, :])


def test_noise_fill_endpoint_is_the_papers_eq_8():
    x0 = torch.randn(2, 3, 64, 16)
    mask = (torch.rand(2, 1, 64, 16) > 0.5).float()
    noise = torch.randn_like(x0)
    spectrum = torch.zeros(2, 65, 16, dtype=torch.complex64)  # never read by the noise fill
    x1 = EndpointFill().endpoint(x0, mask, spectrum, REPRESENTATION, noise=noise)
    assert torch.equal(x1, fill_missing(x0, mask, noise=noise))
    torch.testing.assert_close(x1, x0 * (1 - mask) + mask * FILL_NOISE_STD * noise)


@pytest.mark.parametrize(
    ("fill", "std", "message"),
    [
        ("zeros", 0.1, "unknown fill 'zeros'; choose 'noise'"),
        ("prior", -0.1, "prior_noise_std -0.1 must be a finite number >= 0"),
        ("prior", float("nan"), "prior_noise_std nan must be a finite number >= 0"),
    ],
)
def test_bad_fill_settings_are_refused(fill, std, message):
    with pytest.raises(A2SBInputError, match=message):
        EndpointFill(fill, std)
    with pytest.raises(A2SBInputError, match=message):
        A2SBPipeline(RecordingUNet(), I2SBScheduler(), fill=fill, prior_noise_std=std)


# The pipeline


def prior_pipeline(prior_noise_std: float = 0.0) -> A2SBPipeline:
    """A zero network (x̂0 = x_t) and the deterministic sampler: the bridge never leaves x1."""
    pipe = A2SBPipeline(
        RecordingUNet(scale=0.0),
        I2SBScheduler(ot_ode=True),
        fill="prior",
        prior_noise_std=prior_noise_std,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize(
    ("task", "arguments"),
    [
        ("bandwidth_extension", {"cutoff_hz": 4000}),
        ("inpainting", {"gaps": [(0.5, 0.8)]}),
    ],
)
@pytest.mark.parametrize("channels", [1, 2])
def test_prior_fill_with_a_zero_network_returns_the_prior(task, arguments, channels):
    audio = synth_music(2 * RATE, channels=channels, seed=7)
    latent = prior_pipeline()(
        audio, RATE, task=task, num_inference_steps=3, output_type="latent", **arguments
    ).audios[0]  # [channels, 3, 1024, frames]
    spectrum = REPRESENTATION.spectrum(torch.from_numpy(audio))
    if task == "bandwidth_extension":
        mask = bandwidth_extension_mask(REPRESENTATION, 4000, audio.shape[-1], fill="prior")
    else:
        mask = inpainting_mask(REPRESENTATION, arguments["gaps"], audio.shape[-1])
    prior = REPRESENTATION.encode_spectrum(prior_spectrum(spectrum, mask, REPRESENTATION))
    known = REPRESENTATION.encode_spectrum(spectrum)
    torch.testing.assert_close(latent, torch.lerp(known, prior, mask), atol=1e-5, rtol=0)


def test_zero_network_restores_the_band_like_the_sbr_baseline():
    audio = synth_music(2 * RATE, seed=8)
    degraded, task_info = degrade_for_condition(
        audio, RATE, Condition("bandwidth_extension", cutoff_hz=6000)
    )
    restored = prior_pipeline()(degraded, RATE, cutoff_hz=6000, num_inference_steps=2).audios[0]
    baseline = spectral_band_replication(degraded, RATE, task_info)
    # the same copies from 0.9 f_c up, the same audio below
    np.testing.assert_allclose(restored, baseline, atol=1e-4)


@pytest.mark.parametrize(
    ("fill", "cutoff_hz", "row"), [("noise", 4000, 185), ("prior", 4000, 166), ("prior", 8000, 333)]
)
def test_the_prior_fill_replaces_the_top_tenth_of_the_kept_band(fill, cutoff_hz, row):
    # row r is bin r + 1: the prior fill starts at bin ⌊0.9 · k_c⌋ (k_c = 186 at 4 kHz)
    assert first_replaced_row(REPRESENTATION, cutoff_hz, fill) == row
    if fill == "prior":
        first_missing_bin = REPRESENTATION.row_for_frequency(cutoff_hz) + 1
        assert row + 1 == int(SBR_START_FRACTION * first_missing_bin)


def test_fill_is_saved_and_loaded_with_the_pipeline(tmp_path):
    prior_pipeline(prior_noise_std=0.25).save_pretrained(tmp_path)
    loaded = A2SBPipeline.from_pretrained(tmp_path)
    assert loaded.endpoint_fill == EndpointFill("prior", 0.25)
    assert (loaded.config.fill, loaded.config.prior_noise_std) == ("prior", 0.25)


def test_a_pipeline_saved_before_the_fill_option_loads_as_noise_filled(tmp_path):
    A2SBPipeline(RecordingUNet(), I2SBScheduler()).save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    del index["fill"], index["prior_noise_std"]
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    assert A2SBPipeline.from_pretrained(tmp_path).endpoint_fill == EndpointFill("noise")


def test_forcing_another_fill_than_the_models_is_refused():
    noise_filled = A2SBPipeline(RecordingUNet(), I2SBScheduler())
    with pytest.raises(
        A2SBInputError,
        match=r"trained with fill='noise' \(pipeline config\), so fill='prior' would start",
    ):
        noise_filled(synth_music(RATE), RATE, cutoff_hz=4000, fill="prior")
    with pytest.raises(A2SBInputError, match="unknown fill 'zeros'"):
        noise_filled(synth_music(RATE), RATE, cutoff_hz=4000, fill="zeros")


def test_naming_the_models_own_fill_is_accepted():
    audio = synth_music(RATE, seed=9)
    pipe = prior_pipeline()
    same = pipe(audio, RATE, cutoff_hz=4000, num_inference_steps=2, fill="prior").audios
    unnamed = pipe(audio, RATE, cutoff_hz=4000, num_inference_steps=2).audios
    np.testing.assert_array_equal(same, unnamed)


# Training


def test_training_draws_prior_filled_endpoints():
    waveforms = torch.from_numpy(synth_music(2 * 130_560, seed=6).reshape(2, 130_560))
    sampler = TrainingMaskSampler(bandwidth_probability=0.5)
    fill = EndpointFill("prior", 0.0)

    def batch(endpoint_fill):
        return make_bridge_batch(
            waveforms,
            None,
            REPRESENTATION,
            sampler,
            I2SBScheduler(),
            torch.Generator().manual_seed(0),
            endpoint_fill=endpoint_fill,
        )

    prior_batch, noise_batch = batch(fill), batch(EndpointFill())
    # same masks, times and bridge noise; x_t = a x0 + b x1 + σ ε' differs only through x1
    mask = prior_batch.loss_weight
    assert torch.equal(mask, noise_batch.loss_weight)
    spectrum = REPRESENTATION.spectrum(waveforms)
    x0 = REPRESENTATION.encode_spectrum(spectrum)
    prior = REPRESENTATION.encode_spectrum(prior_spectrum(spectrum, mask, REPRESENTATION))
    scheduler = I2SBScheduler()
    generator = torch.Generator().manual_seed(0)
    sampler.sample(2, x0.shape[-1], REPRESENTATION, generator)
    torch.randn(x0.shape, generator=generator)  # the fill noise, unused with σ_p = 0
    timesteps = scheduler.sample_training_t(2, generator, None, x0.device)
    bridge_noise = torch.randn(x0.shape, generator=generator)
    x1 = x0 * (1 - mask) + mask * prior
    expected = scheduler.add_noise(x0, x1, timesteps, bridge_noise)
    torch.testing.assert_close(prior_batch.noisy_samples, expected)
    assert not torch.allclose(prior_batch.noisy_samples, noise_batch.noisy_samples)


def test_training_config_reads_the_fill():
    config = config_from_dict(
        TrainingConfig, {"endpoint": {"fill": "prior", "prior_noise_std": 0.05}}
    )
    assert config.endpoint == EndpointFill("prior", 0.05)
    with pytest.raises(A2SBInputError, match="config key endpoint.fill is 'zeros'"):
        config_from_dict(TrainingConfig, {"endpoint": {"fill": "zeros"}})


def test_a_prior_fill_run_saves_a_prior_fill_pipeline(tmp_path):
    music = tmp_path / "music"
    write_music(music, count=2)
    overrides = ["max_steps=2", "endpoint.fill=prior", "endpoint.prior_noise_std=0.05"]
    result = train(tiny_config(tmp_path / "run", music, *overrides))
    pipe = A2SBPipeline.from_pretrained(result.pipeline_dir)
    assert pipe.endpoint_fill == EndpointFill("prior", 0.05)
    pipe.set_progress_bar_config(disable=True)
    restored = pipe(synth_music(RATE // 2), RATE, cutoff_hz=4000, num_inference_steps=2)
    assert np.isfinite(restored.audios).all()

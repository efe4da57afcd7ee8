"""A bridge that starts at its prior: a network that also sees x1 and predicts x0 − x1
("prior_residual"), with the prior fill at σ_p = 0. With its output layer at zero, the pipeline
returns the DSP prior itself, whatever the sampler and its noise."""

import numpy as np
import pytest
import torch
from synth import synth_music
from tiny import MICRO_UNET
from training_setup import tiny_config, write_music

from a2sb.errors import A2SBInputError
from a2sb.evaluation.baselines import crossfaded_copy, spectral_band_replication
from a2sb.evaluation.metrics import (
    frequency_bins,
    log_spectral_distance,
    magnitude_spectrogram,
)
from a2sb.evaluation.protocol import Condition, degrade_for_condition
from a2sb.models import RoPEUNet2DModel
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import DBIMScheduler, I2SBScheduler, scheduler_classes
from a2sb.training import train
from a2sb.training.components import build_representation, build_unet

RATE = 44100


def residual_pipeline(zero_output: bool = True, scheduler=None) -> A2SBPipeline:
    """A real (micro) UNet that sees x_t and x1; its last layer zeroed unless told."""
    torch.manual_seed(0)
    unet = RoPEUNet2DModel(**{**MICRO_UNET, "in_channels": 6, "out_channels": 3}).eval()
    if zero_output:
        torch.nn.init.zeros_(unet.conv_out.weight)
        torch.nn.init.zeros_(unet.conv_out.bias)
    pipe = A2SBPipeline(
        unet,
        scheduler or I2SBScheduler(prediction_type="prior_residual"),
        fill="prior",
        prior_noise_std=0.0,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def lsd(reference: np.ndarray, estimate: np.ndarray, above_hz: float | None = None) -> float:
    """LSD (paper eq. 21) of mono audio `[1, samples]`, over the bins above `above_hz`."""
    spectrograms = [magnitude_spectrogram(torch.from_numpy(a)) for a in (reference, estimate)]
    bins = frequency_bins(2048, RATE, above_hz=above_hz)
    return float(log_spectral_distance(*spectrograms, bins=bins)[0])


@pytest.mark.parametrize("scheduler_class", scheduler_classes())
def test_zero_output_layer_reproduces_the_sbr_baseline(scheduler_class):
    clean = synth_music(3 * RATE, seed=3)
    degraded, task_info = degrade_for_condition(
        clean, RATE, Condition("bandwidth_extension", cutoff_hz=4000)
    )
    scheduler = scheduler_class(prediction_type="prior_residual")
    restored = residual_pipeline(scheduler=scheduler)(
        degraded, RATE, cutoff_hz=4000, num_inference_steps=4, generator=torch.manual_seed(1)
    ).audios[0]
    baseline = spectral_band_replication(degraded, RATE, task_info)
    assert abs(lsd(clean, restored) - lsd(clean, baseline)) < 0.01
    np.testing.assert_allclose(restored, baseline, atol=1e-4)


def test_zero_output_layer_reproduces_the_crossfade_baseline():
    clean = synth_music(3 * RATE, seed=4)
    degraded, task_info = degrade_for_condition(clean, RATE, Condition("inpainting", gap_s=0.5))
    restored = residual_pipeline()(
        degraded,
        RATE,
        task="inpainting",
        gaps=task_info.gaps,
        num_inference_steps=3,
        generator=torch.manual_seed(1),
    ).audios[0]
    baseline = crossfaded_copy(degraded, RATE, task_info)
    assert abs(lsd(clean, restored) - lsd(clean, baseline)) < 0.01


def test_a_trained_residual_changes_the_result():
    """The converse: with a nonzero output layer the result leaves the prior."""
    clean = synth_music(3 * RATE, seed=3)
    degraded, task_info = degrade_for_condition(
        clean, RATE, Condition("bandwidth_extension", cutoff_hz=4000)
    )
    restored = residual_pipeline(zero_output=False)(
        degraded, RATE, cutoff_hz=4000, num_inference_steps=2, generator=torch.manual_seed(1)
    ).audios[0]
    baseline = spectral_band_replication(degraded, RATE, task_info)
    assert abs(lsd(clean, restored) - lsd(clean, baseline)) > 0.05


@pytest.mark.parametrize(
    "task_arguments",
    [{"cutoff_hz": 5000}, {"task": "inpainting", "gaps": [(1.0, 1.4), (2.5, 2.6)]}],
)
def test_streamed_and_in_memory_agree_for_a_network_that_sees_x1(tmp_path, task_arguments):
    import soundfile

    audio = synth_music(4 * RATE, channels=2, seed=5)
    source = tmp_path / "in.wav"
    soundfile.write(source, audio.T, RATE, subtype="FLOAT")
    pipe = residual_pipeline(zero_output=False)
    arguments = {
        "num_inference_steps": 3,
        "window_frames": 64,
        "hop_frames": 32,
        **task_arguments,
    }
    in_memory = pipe(audio, RATE, generator=torch.manual_seed(2), **arguments).audios[0]
    pipe.restore_file(
        source, tmp_path / "out.wav", bit_depth="32f", generator=torch.manual_seed(2), **arguments
    )
    streamed, _ = soundfile.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(streamed.T, in_memory, atol=2e-4)


@pytest.mark.parametrize(("fill", "prior_noise_std"), [("noise", 0.1), ("prior", 0.1)])
def test_a_residual_scheduler_with_another_fill_is_refused(fill, prior_noise_std):
    unet = RoPEUNet2DModel(**{**MICRO_UNET, "in_channels": 6, "out_channels": 3})
    with pytest.raises(A2SBInputError, match="prior_residual.*fill='prior', prior_noise_std=0"):
        A2SBPipeline(
            unet,
            I2SBScheduler(prediction_type="prior_residual"),
            fill=fill,
            prior_noise_std=prior_noise_std,
        )


def test_a_network_with_neither_c_nor_2c_inputs_is_refused():
    unet = RoPEUNet2DModel(**{**MICRO_UNET, "in_channels": 4, "out_channels": 3})
    with pytest.raises(A2SBInputError, match="takes 4 input channels.*3, or 6"):
        A2SBPipeline(unet, I2SBScheduler())


def test_residual_pipeline_saves_and_loads_with_its_prediction_type(tmp_path):
    residual_pipeline().save_pretrained(tmp_path)
    loaded = A2SBPipeline.from_pretrained(tmp_path)
    assert loaded.scheduler.config.prediction_type == "prior_residual"
    assert loaded.sees_degraded
    assert (loaded.config.fill, loaded.config.prior_noise_std) == ("prior", 0.0)


def test_swapping_samplers_keeps_the_prediction_type():
    scheduler = I2SBScheduler(prediction_type="prior_residual")
    assert DBIMScheduler.from_config(scheduler.config).config.prediction_type == "prior_residual"


def test_unknown_prediction_type_is_refused():
    with pytest.raises(A2SBInputError, match="prediction_type='v_prediction' is unknown"):
        I2SBScheduler(prediction_type="v_prediction")


def test_residual_target_is_x0_minus_x1_and_step_returns_x1_plus_output():
    scheduler = I2SBScheduler(prediction_type="prior_residual", ot_ode=True)
    scheduler.set_timesteps(4)
    x0, x1 = torch.randn(2, 1, 3, 8, 8).unbind(0)
    x_t = scheduler.add_noise(x0, x1, 0.6, torch.randn_like(x0))
    torch.testing.assert_close(scheduler.get_target(x0, x_t, 0.6, x1), x0 - x1)
    residual = torch.randn_like(x0)
    t = scheduler.timesteps[1]
    step = scheduler.step(residual, t, x_t, degraded_samples=x1)
    torch.testing.assert_close(step.pred_original_sample, x1 + residual, atol=1e-5, rtol=0)
    with pytest.raises(A2SBInputError, match="needs degraded_samples"):
        scheduler.step(residual, t, x_t)


# Training


RESIDUAL_RUN = [
    "endpoint.fill=prior",
    "endpoint.prior_noise_std=0",
    "bridge.prediction_type=prior_residual",
    "model.sees_degraded=true",
]


def test_a_residual_run_trains_from_the_prior_and_saves_what_it_trained(tmp_path):
    music = tmp_path / "music"
    write_music(music, count=2)
    config = tiny_config(
        tmp_path / "run",
        music,
        "max_steps=2",
        'sampling_defaults={"num_inference_steps": 2, "window_schedule": "shifted"}',
        *RESIDUAL_RUN,
    )
    representation = build_representation(config)
    fresh = build_unet(config, representation)
    assert fresh.config.in_channels == 6
    assert not fresh.conv_out.weight.any() and not fresh.conv_out.bias.any()
    result = train(config)
    pipe = A2SBPipeline.from_pretrained(result.pipeline_dir)
    assert pipe.scheduler.config.prediction_type == "prior_residual"
    assert pipe.sees_degraded
    assert pipe.config.sampling_defaults == {"num_inference_steps": 2, "window_schedule": "shifted"}
    assert pipe.unet.conv_out.weight.any()  # trained away from zero


def test_a_residual_run_needs_the_prior_fill_without_noise(tmp_path):
    with pytest.raises(A2SBInputError, match="endpoint.fill: prior and endpoint.prior_noise_std"):
        tiny_config(tmp_path, tmp_path, "bridge.prediction_type=prior_residual")


def test_starting_from_a_pipeline_trained_otherwise_is_refused(tmp_path):
    music = tmp_path / "music"
    write_music(music, count=2)
    noise_run = train(tiny_config(tmp_path / "noise", music, "max_steps=1"))
    config = tiny_config(
        tmp_path / "run", music, f"model.init_from={noise_run.pipeline_dir}", *RESIDUAL_RUN
    )
    with pytest.raises(A2SBInputError, match="was trained with endpoint.fill=noise"):
        build_unet(config, build_representation(config))


def test_a_channel_of_weight_zero_keeps_the_prior(tmp_path):
    """bridge.channel_weights [1, 0, 0]: the phase channels' output stays exactly zero, so the
    restored phase is the prior's."""
    music = tmp_path / "music"
    write_music(music, count=2)
    config = tiny_config(
        tmp_path / "run", music, "max_steps=3", "bridge.channel_weights=[1, 0, 0]", *RESIDUAL_RUN
    )
    pipe = A2SBPipeline.from_pretrained(train(config).pipeline_dir)
    assert pipe.unet.conv_out.weight[0].any()
    assert not pipe.unet.conv_out.weight[1:].any() and not pipe.unet.conv_out.bias[1:].any()


def test_channel_weights_must_match_the_channels(tmp_path):
    config = tiny_config(tmp_path, tmp_path, "bridge.channel_weights=[1, 0]", *RESIDUAL_RUN)
    with pytest.raises(A2SBInputError, match="has 2 weights but the network outputs 3"):
        build_unet(config, build_representation(config))

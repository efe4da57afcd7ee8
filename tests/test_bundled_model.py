"""a2sb-small, the model bundled with the package: it loads offline, restores, and is the
default of `A2SBPipeline.from_pretrained()` and `a2sb restore`."""

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from synth import synth_music

import a2sb
from a2sb.cli import main
from a2sb.models import RoPEUNet2DModel
from a2sb.notices import notice_once
from a2sb.official import OFFICIAL_REPO_ID
from a2sb.pipelines import A2SBPipeline, bundled_model

RATE = 44100


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No network: the Hub client refuses every request, and so would any socket."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("the bundled model must load without the network")

    monkeypatch.setattr("socket.socket.connect", no_network)


def test_the_bundled_model_loads_offline_from_inside_the_package():
    pipeline = A2SBPipeline.from_pretrained()

    folder = bundled_model.bundled_model_folder()
    assert folder.is_relative_to(Path(a2sb.__file__).parent)
    assert isinstance(pipeline.unet, RoPEUNet2DModel)
    assert pipeline.unet.dtype == torch.float32
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    assert weights.stat().st_size <= 30_000_000
    assert (folder / "README.md").read_text().count("a2sb-small") > 1


def test_the_name_a2sb_small_loads_the_same_weights():
    default = A2SBPipeline.from_pretrained()
    named = A2SBPipeline.from_pretrained("a2sb-small")
    for (name, weight), (_, other) in zip(
        default.unet.state_dict().items(), named.unet.state_dict().items(), strict=True
    ):
        assert torch.equal(weight, other), name


def test_the_bundled_model_restores_a_stereo_clip_keeping_the_known_band():
    pipeline = A2SBPipeline.from_pretrained()
    music = synth_music(RATE // 2, RATE, channels=2, seed=3)

    output = pipeline(
        music,
        RATE,
        cutoff_hz=4000,
        num_inference_steps=3,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    )

    restored = output.audios[0]
    assert restored.shape == music.shape
    assert np.isfinite(restored).all()
    frequencies = np.fft.rfftfreq(music.shape[-1], 1 / RATE)
    input_spectrum = np.abs(np.fft.rfft(music, axis=-1))
    restored_spectrum = np.abs(np.fft.rfft(restored, axis=-1))
    known = (frequencies > 200) & (frequencies < 3500)
    error = np.abs(restored_spectrum[:, known] - input_spectrum[:, known]).mean()
    assert error < 0.05 * input_spectrum[:, known].mean()
    assert restored_spectrum[:, frequencies > 5000].mean() > 0


def test_which_model_is_used_is_said_once(caplog):
    notice_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="a2sb.pipelines.pipeline_a2sb"):
        A2SBPipeline.from_pretrained()
        A2SBPipeline.from_pretrained()
    notices = [record.message for record in caplog.records if "a2sb-small" in record.message]
    assert len(notices) == 1
    assert f"--model {OFFICIAL_REPO_ID}" in notices[0]
    assert "non-commercial" in notices[0]
    assert f"model card: {bundled_model.bundled_model_folder() / 'README.md'}" in notices[0]


def test_a_restore_without_model_uses_the_bundled_model(tmp_path, capsys):
    song = tmp_path / "song.wav"
    soundfile.write(song, synth_music(RATE // 4, RATE, seed=1).T, RATE)

    code = main(["restore", str(song), "--cutoff", "4k", "--steps", "2"])

    assert code == 0
    assert "loading a2sb-small" in capsys.readouterr().err
    restored, rate = soundfile.read(tmp_path / "song.a2sb.wav")
    assert rate == RATE
    assert restored.shape == (RATE // 4,)


def test_quiet_shows_the_results_only_not_which_model_is_used(tmp_path, capsys):
    song = tmp_path / "song.wav"
    soundfile.write(song, synth_music(RATE // 4, RATE, seed=1).T, RATE)
    notice_once.cache_clear()
    assert main(["restore", str(song), "--cutoff", "4k", "-q", "--dtype", "fp32"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines()[-1] == "1 file: 1 restored, 0 skipped, 0 failed"
    notice_once.cache_clear()
    assert main(["restore", str(song), "--cutoff", "4k", "--overwrite", "--dtype", "fp32"]) == 0
    assert "Using a2sb-small, the small model bundled with a2sb" in capsys.readouterr().err


def test_a_missing_bundled_model_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled_model, "files", lambda package: tmp_path)
    with pytest.raises(a2sb.A2SBInputError, match="reinstall a2sb"):
        A2SBPipeline.from_pretrained()


def test_the_bundled_model_starts_at_its_prior():
    """v2: x1 is the DSP prior (no fill noise), the network sees it and predicts a residual."""
    pipeline = A2SBPipeline.from_pretrained()
    assert (pipeline.config.fill, pipeline.config.prior_noise_std) == ("prior", 0.0)
    assert pipeline.scheduler.config.prediction_type == "prior_residual"
    assert pipeline.sees_degraded


V1_FOLDER = Path(__file__).resolve().parents[1] / "recipes" / "a2sb_small" / "a2sb-small-v1"


def test_the_first_a2sb_small_still_loads_by_path_and_restores():
    """v1, saved before the prediction type and the x1 input existed: noise fill, epsilon."""
    v1 = A2SBPipeline.from_pretrained(V1_FOLDER)
    assert v1.config.fill == "noise"
    assert v1.scheduler.config.prediction_type == "epsilon"
    assert not v1.sees_degraded
    v1.set_progress_bar_config(disable=True)
    music = synth_music(RATE // 2, RATE, seed=4)
    restored = v1(music, RATE, cutoff_hz=5000, num_inference_steps=2).audios
    assert restored.shape == (1, 1, RATE // 2) and np.isfinite(restored).all()

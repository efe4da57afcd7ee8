import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from faults import tmpfs
from safetensors.torch import load_file
from synth import synth_music
from tiny import TRAINING_UNET
from training_setup import tiny_config, tiny_overrides, write_music

from a2sb.cli import main
from a2sb.errors import A2SBInputError, A2SBWriteError
from a2sb.models import A2SBPartitionedModel
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler
from a2sb.training import Trainer, train
from a2sb.training import trainer as trainer_module
from a2sb.training.checkpoints import resolve_resume
from a2sb.training.validation import build_validation_set, validation_losses

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny convolutions run ~10× faster on one thread than on contended cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data") / "music"
    write_music(folder)
    return folder


def fixed_validation_loss(trainer: Trainer) -> float:
    trainer.unet.eval()
    losses = validation_losses(
        trainer.unet,
        build_validation_set(trainer.config, trainer.scan.files),
        trainer.representation,
        trainer.config.masks,
        trainer.scheduler,
        seed=0,
        batch_size=8,
        band_limited=False,
    )
    trainer.unet.train()
    return losses["validation/loss"]


def test_a_few_steps_decrease_the_loss_on_a_tiny_set(tmp_path, music):
    settings = ["max_steps=10", "optimizer.name=adam", "optimizer.learning_rate=1e-2"]
    validation = ["validation.t_values=[0.7, 0.9]", "validation.num_segments=4"]
    trainer = Trainer(tiny_config(tmp_path / "run", music, *settings, *validation))
    before = fixed_validation_loss(trainer)
    trainer.train()
    assert fixed_validation_loss(trainer) < 0.95 * before


def test_checkpoints_rotate_and_each_holds_a_pipeline(tmp_path, music):
    output = tmp_path / "run"
    train(
        tiny_config(output, music, "checkpointing.interval_steps=1", "checkpointing.total_limit=2")
    )
    checkpoints = sorted(path.name for path in (output / "checkpoints").iterdir())
    assert checkpoints == ["step-00000003", "step-00000004"]
    for name in checkpoints:
        assert (output / "checkpoints" / name / "pipeline" / "model_index.json").is_file()
        assert (output / "checkpoints" / name / "random_states_0.pkl").is_file()


def test_resumed_run_repeats_the_losses_of_the_uninterrupted_one(tmp_path, music):
    settings = [
        "checkpointing.interval_steps=2",
        "gradient_accumulation_steps=2",
        "ema.enabled=true",
    ]
    whole = train(tiny_config(tmp_path / "whole", music, *settings))
    train(tiny_config(tmp_path / "split", music, *settings, "max_steps=2"))
    resumed = train(
        tiny_config(tmp_path / "split", music, *settings, "checkpointing.resume_from=latest")
    )
    assert list(resumed.losses) == [3, 4]
    assert resumed.losses == {step: whole.losses[step] for step in (3, 4)}
    whole_weights = load_file(tmp_path / "whole/pipeline/unet/diffusion_pytorch_model.safetensors")
    split_weights = load_file(tmp_path / "split/pipeline/unet/diffusion_pytorch_model.safetensors")
    for name, value in whole_weights.items():
        assert torch.equal(split_weights[name], value), name


def test_two_processes_keep_the_same_weights_and_write_one_checkpoint(tmp_path, music):
    (tmp_path / "music").symlink_to(music)
    environment = {
        **os.environ,
        "ACCELERATE_USE_CPU": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(REPO_ROOT / "tests" / "training_two_ranks.py"), str(tmp_path / "run"), str(tmp_path),
    ]  # fmt: skip
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    reports = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [report["world_size"] for report in reports] == [2, 2]
    assert reports[0]["first_loss"] != reports[1]["first_loss"]  # each rank saw its own data
    weights = [load_file(tmp_path / f"rank{rank}.safetensors") for rank in (0, 1)]
    for name, value in weights[0].items():
        assert torch.equal(weights[1][name], value), name
    checkpoints = list((tmp_path / "run" / "checkpoints").iterdir())
    assert [path.name for path in checkpoints] == ["step-00000002"]
    assert {path.name for path in checkpoints[0].glob("random_states_*")} == {
        "random_states_0.pkl",
        "random_states_1.pkl",
    }
    assert (tmp_path / "run" / "pipeline" / "model_index.json").is_file()


def test_module_entry_point_trains_and_reports_bad_input(tmp_path, music):
    environment = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    overrides = tiny_overrides(tmp_path / "run", music)
    command = [sys.executable, "-m", "a2sb.training", *overrides, "max_steps=1"]
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert (tmp_path / "run" / "pipeline" / "model_index.json").is_file()
    refused = subprocess.run(
        [*command, "data.folders=[]"], env=environment, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2
    assert "a2sb: no audio given for data: set data.folders" in refused.stderr.splitlines()[-1]


def test_cli_trains_and_writes_a_pipeline_that_restores_a_clip(tmp_path, music):
    output = tmp_path / "run"
    config = tmp_path / "train.yaml"
    config.write_text("bridge:\n  t_range: [0.0, 1.0]\nmodel_card:\n  license: cc-by-sa-4.0\n")
    overrides = [
        f"output_dir={output}",
        f"data.folders=[{music}]",
        "data.segment_samples=960",
        "data.num_workers=0",
        "representation.n_fft=256",
        "representation.hop_length=64",
        *(f"model.unet.{key}={json.dumps(value)}" for key, value in TRAINING_UNET.items()),
        "max_steps=2",
        "batch_size=2",
        "tracking.report_to=none",
        "progress_bar=false",
        "validation.interval_steps=1",
    ]
    assert main(["train", "--config", str(config), *overrides]) == 0
    card = (output / "pipeline" / "README.md").read_text()
    assert "license: cc-by-sa-4.0" in card
    assert "| Steps | 2 |" in card and "| Diffusion-time range | [0, 1) |" in card
    pipeline = A2SBPipeline.from_pretrained(output / "pipeline")
    pipeline.set_progress_bar_config(disable=True)
    assert pipeline.representation.config.n_fft == 256
    audio = synth_music(4000)
    restored = pipeline(
        audio, 44100, cutoff_hz=4000, num_inference_steps=2, window_frames=32, hop_frames=16
    ).audios
    assert restored.shape == (1, 1, 4000)
    assert np.isfinite(restored).all()


def test_partition_run_saves_its_range_in_the_card(tmp_path, music):
    result = train(tiny_config(tmp_path / "run", music, "bridge.t_range=[0.5, 1.0]", "max_steps=1"))
    card = (result.pipeline_dir / "README.md").read_text()
    assert "covers only t ∈ [0.5, 1)" in card


def test_fine_tuning_starts_from_the_pretrained_weights(tmp_path, music):
    pretrained = train(tiny_config(tmp_path / "pre", music, "max_steps=1")).pipeline_dir
    trainer = Trainer(
        tiny_config(
            tmp_path / "fine", music, f"model.init_from={pretrained}", "bridge.t_range=[0.5, 1]"
        )
    )
    saved = A2SBPipeline.from_pretrained(pretrained).unet.state_dict()
    for name, value in trainer.unet.state_dict().items():
        assert torch.equal(value, saved[name])


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty_folder", "no audio files"),
        ("unreadable", "none of the 2 audio files of data can be used"),
        ("missing_manifest", "manifest .* does not exist"),
        ("bad_segment", "gives 15 frames, but the UNet needs a multiple of 4"),
        ("bad_unet_key", "unknown config key.*model.unet.channels"),
    ],
)
def test_bad_data_and_config_are_refused_before_training(tmp_path, music, setup, message):
    folder = tmp_path / "music"
    folder.mkdir()
    overrides = []
    if setup == "unreadable":
        (folder / "a.wav").write_bytes(b"garbage")
        (folder / "b.wav").write_bytes(b"garbage too")
    if setup == "missing_manifest":
        overrides = ["data.folders=[]", f"data.manifest={tmp_path / 'train.csv'}"]
    if setup in ("bad_segment", "bad_unet_key"):
        folder = music
        overrides = (
            ["data.segment_samples=900"] if setup == "bad_segment" else ["model.unet.channels=3"]
        )
    with pytest.raises(A2SBInputError, match=message):
        Trainer(tiny_config(tmp_path / "run", folder, *overrides))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_push_to_hub_without_a_token_is_refused_before_training(tmp_path, music, monkeypatch):
    monkeypatch.setattr("a2sb.training.hub.get_token", lambda: None)
    config = tiny_config(
        tmp_path / "run", music, "hub.push_to_hub=true", "hub.hub_model_id=me/a2sb"
    )
    with pytest.raises(A2SBInputError, match="needs a Hugging Face token"):
        Trainer(config)


def test_pipeline_holds_the_ema_weights_when_kept(tmp_path, music):
    trainer = Trainer(tiny_config(tmp_path / "run", music, "ema.enabled=true", "ema.decay=0.5"))
    result = trainer.train()
    saved = list(A2SBPipeline.from_pretrained(result.pipeline_dir).unet.parameters())
    averages = trainer.ema.shadow_params
    current = list(trainer.unet.parameters())
    assert all(torch.equal(a, b) for a, b in zip(saved, averages, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(averages, current, strict=True))


def test_partition_run_starts_from_its_partition_of_a_partitioned_model(tmp_path, music):
    first = train(tiny_config(tmp_path / "a", music, "max_steps=1", "seed=1")).pipeline_dir
    second = train(tiny_config(tmp_path / "b", music, "max_steps=1", "seed=2")).pipeline_dir
    pipelines = [A2SBPipeline.from_pretrained(folder) for folder in (first, second)]
    partitions = [pipeline.unet for pipeline in pipelines]
    A2SBPipeline(
        A2SBPartitionedModel.from_partitions(partitions),
        I2SBScheduler(t_cutoffs=[0.5]),
        pipelines[0].config.representation_config,
    ).save_pretrained(tmp_path / "joined")
    init = f"model.init_from={tmp_path / 'joined'}"
    trainer = Trainer(tiny_config(tmp_path / "high", music, init, "bridge.t_range=[0.5, 1.0]"))
    for name, value in trainer.unet.state_dict().items():
        assert torch.equal(value, partitions[1].state_dict()[name])
    with pytest.raises(A2SBInputError, match=r"spans several partitions"):
        Trainer(tiny_config(tmp_path / "mid", music, init, "bridge.t_range=[0.25, 0.75]"))


def test_init_from_a_pipeline_of_another_representation_is_refused(tmp_path, music):
    pretrained = train(tiny_config(tmp_path / "pre", music, "max_steps=1")).pipeline_dir
    init = f"model.init_from={pretrained}"
    with pytest.raises(A2SBInputError, match="set representation.* to the pipeline's values"):
        Trainer(tiny_config(tmp_path / "fine", music, init, "representation.magnitude_power=0.5"))


def test_validation_restores_clips_and_scores_them(tmp_path, music):
    restoration = [
        "validation.interval_steps=1",
        "validation.num_segments=2",
        "validation.restored_clips=1",
        "validation.restoration_steps=2",
        "max_steps=1",
    ]
    result = train(tiny_config(tmp_path / "run", music, *restoration))
    assert 0 < result.validation["validation/restored_lsd"] < 20
    assert np.isfinite(result.validation["validation/restored_sispec"])
    assert np.isfinite(result.validation["validation/loss"])


def test_partition_run_skips_the_restoration_check(tmp_path, music):
    restoration = ["validation.interval_steps=1", "validation.restored_clips=1", "max_steps=1"]
    partition = "bridge.t_range=[0.5, 1.0]"
    result = train(tiny_config(tmp_path / "run", music, partition, *restoration))
    assert "validation/restored_lsd" not in result.validation
    assert "validation/loss" in result.validation


def test_more_restored_clips_than_segments_is_refused(tmp_path, music):
    too_many = ["validation.num_segments=2", "validation.restored_clips=3"]
    with pytest.raises(A2SBInputError, match="restored_clips 3 must lie in"):
        tiny_config(tmp_path / "run", music, *too_many)


def test_a_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, music):
    output = tmp_path / "run"
    with tmpfs(output / "checkpoints", size="6m") as checkpoints:  # one 4.1 MB checkpoint fits
        config = tiny_config(output, music, "max_steps=2", "checkpointing.interval_steps=1")
        with pytest.raises(A2SBWriteError) as raised:
            train(config)
        expected = (
            re.escape(
                f"cannot write {checkpoints / 'step-00000002'}: no space left on the device ("
            )
            + r"\d+"
            + re.escape(
                " KiB free); free some space there, or write elsewhere (the checkpoint "
                f"{checkpoints / 'step-00000001'} is intact: resume from it with "
                "checkpointing.resume_from=latest)"
            )
        )
        assert re.fullmatch(expected, str(raised.value)), raised.value
        assert os.listdir(checkpoints) == ["step-00000001"]
        assert resolve_resume(output, "latest") == checkpoints / "step-00000001"
        A2SBPipeline.from_pretrained(checkpoints / "step-00000001" / "pipeline")


def test_a_failed_save_is_one_line_from_a2sb_train(tmp_path, music, monkeypatch, capsys):
    real_write_step = trainer_module.write_step

    def write_step_on_a_full_disk(folder: Path, step: int) -> None:
        if step == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write_step(folder, step)

    monkeypatch.setattr(trainer_module, "write_step", write_step_on_a_full_disk)
    output = tmp_path / "run"
    overrides = [*tiny_overrides(output, music), "max_steps=2", "checkpointing.interval_steps=1"]
    assert main(["train", *overrides]) == 1
    checkpoints = output / "checkpoints"
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"a2sb: cannot write {checkpoints / 'step-00000002'}: no space left on the device; "
        f"free some space there, or write elsewhere (the checkpoint "
        f"{checkpoints / 'step-00000001'} is intact: resume from it with "
        "checkpointing.resume_from=latest)"
    )
    assert os.listdir(checkpoints) == ["step-00000001"]


def test_a_kill_during_a_save_leaves_a_run_that_resumes_exactly(tmp_path, music, monkeypatch):
    settings = ["checkpointing.interval_steps=1", "max_steps=3"]
    whole = train(tiny_config(tmp_path / "whole", music, *settings))
    split = tmp_path / "split"
    real_write_step = trainer_module.write_step

    def interrupted_at_step_2(folder: Path, step: int) -> None:
        if step == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the save
        real_write_step(folder, step)

    monkeypatch.setattr(trainer_module, "write_step", interrupted_at_step_2)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(split, music, *settings))
    checkpoints = split / "checkpoints"
    assert os.listdir(checkpoints) == ["step-00000001"]
    monkeypatch.undo()
    # What SIGKILL leaves (no clean-up): a partial folder without its training_state.json.
    shutil.copytree(checkpoints / "step-00000001", checkpoints / ".step-00000002.partial")
    (checkpoints / ".step-00000002.partial" / "training_state.json").unlink()

    resumed = train(tiny_config(split, music, *settings, "checkpointing.resume_from=latest"))
    assert resumed.losses == {step: whole.losses[step] for step in (2, 3)}
    assert sorted(os.listdir(checkpoints)) == ["step-00000001", "step-00000002", "step-00000003"]

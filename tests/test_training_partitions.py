import json

import pytest
import torch
from fakes import micro_unet
from synth import synth_music

from a2sb.cli import main
from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel
from a2sb.pipelines import A2SBPipeline
from a2sb.representations import FactorizedSTFT
from a2sb.schedulers import I2SBScheduler
from a2sb.training import assemble_partitions


def saved_pipeline(folder, seed, representation=None, beta_max=1.0):
    representation_config = json.loads((representation or FactorizedSTFT()).to_json_string())
    pipeline = A2SBPipeline(
        micro_unet(seed), I2SBScheduler(beta_max=beta_max), representation_config
    )
    pipeline.save_pretrained(folder)
    return folder


def test_assembled_pipeline_routes_each_time_to_its_partition(tmp_path):
    low, high = saved_pipeline(tmp_path / "low", 0), saved_pipeline(tmp_path / "high", 1)
    pipeline = assemble_partitions([low, high], [0.5])
    assert isinstance(pipeline.unet, A2SBPartitionedModel)
    assert list(pipeline.scheduler.config.t_cutoffs) == [0.5]
    sample = torch.randn(2, 3, 64, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for t, seed in ((0.2, 0), (0.7, 1)):
            partition = pipeline.scheduler.partition_index(t)
            routed = pipeline.unet(sample, torch.tensor([t, t]), partition=partition).sample
            expected = micro_unet(seed)(sample, torch.tensor([t, t])).sample
            torch.testing.assert_close(routed, expected)


def test_cli_assembles_a_pipeline_that_loads_and_restores(tmp_path, capsys):
    low, high = saved_pipeline(tmp_path / "low", 0), saved_pipeline(tmp_path / "high", 1)
    output = tmp_path / "joined"
    command = ["assemble-partitions", str(low), str(high), "--t-cutoffs", "0.5"]
    assert main([*command, "--output", str(output)]) == 0
    assert "2 partitions (cutoffs 0.5)" in capsys.readouterr().out
    pipeline = A2SBPipeline.from_pretrained(output)
    pipeline.set_progress_bar_config(disable=True)
    assert isinstance(pipeline.unet, A2SBPartitionedModel)
    audio = synth_music(6000)
    fast = {"num_inference_steps": 2, "window_frames": 32, "hop_frames": 16}
    assert pipeline(audio, 44100, cutoff_hz=4000, **fast).audios.shape == (1, 1, 6000)


def test_partitions_with_different_representations_are_refused(tmp_path):
    low = saved_pipeline(tmp_path / "low", 0)
    high = saved_pipeline(tmp_path / "high", 1, FactorizedSTFT(magnitude_power=0.5))
    with pytest.raises(A2SBInputError, match="partitions must share one representation"):
        assemble_partitions([low, high], [0.5])


def test_partitions_of_different_bridges_are_refused(tmp_path):
    low = saved_pipeline(tmp_path / "low", 0)
    high = saved_pipeline(tmp_path / "high", 1, beta_max=2.0)
    with pytest.raises(A2SBInputError, match="different bridges"):
        assemble_partitions([low, high], [0.5])


@pytest.mark.parametrize(
    ("cutoffs", "message"),
    [([0.5, 0.7], "2 pipelines need 1 t-cutoff"), ([1.5], "must be strictly increasing")],
)
def test_wrong_cutoffs_are_refused(tmp_path, cutoffs, message):
    low, high = saved_pipeline(tmp_path / "low", 0), saved_pipeline(tmp_path / "high", 1)
    with pytest.raises(A2SBInputError, match=message):
        assemble_partitions([low, high], cutoffs)


def test_a_folder_that_is_not_a_pipeline_is_refused(tmp_path):
    low = saved_pipeline(tmp_path / "low", 0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(A2SBInputError, match="not an A2SB pipeline folder"):
        assemble_partitions([low, tmp_path / "empty"], [0.5])


def test_cli_refuses_to_write_over_an_input(tmp_path, capsys):
    low, high = saved_pipeline(tmp_path / "low", 0), saved_pipeline(tmp_path / "high", 1)
    command = ["assemble-partitions", str(low), str(high), "--t-cutoffs", "0.5"]
    assert main([*command, "--output", str(low)]) == 2
    assert "is one of the input pipelines" in capsys.readouterr().err

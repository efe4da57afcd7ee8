"""A2SBPartitionedModel: a container of K UNets; routing belongs to the scheduler (paper §3.5)."""

import json

import pytest
import torch
from conftest import TINY_CONFIG, randomized

from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel, RoPEUNet2DModel
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler


def _partitioned(count: int = 2) -> A2SBPartitionedModel:
    models = [randomized(RoPEUNet2DModel(**TINY_CONFIG), seed=k).eval() for k in range(count)]
    return A2SBPartitionedModel.from_partitions(models)


def test_forward_runs_the_partition_it_is_given(tiny_input):
    model = _partitioned(3)
    t = torch.tensor([0.7, 0.2])
    with torch.no_grad():
        for index in range(3):
            expected = model.partitions[index](tiny_input, t).sample
            torch.testing.assert_close(model(tiny_input, t, partition=index).sample, expected)


def test_the_scheduler_says_which_partition_serves_t():
    scheduler = I2SBScheduler(t_cutoffs=[0.3, 0.6])
    t = torch.tensor([0.0, 0.29, 0.3, 0.45, 0.6, 0.61, 1.0])
    assert scheduler.partition_index(t).tolist() == [0, 0, 1, 1, 2, 2, 2]
    assert scheduler.partition_index(0.3) == 1


def test_a_partition_that_does_not_exist_is_refused(tiny_input):
    with pytest.raises(A2SBInputError, match=r"partition 2 does not exist; .* partitions 0\.\.1"):
        _partitioned(2)(tiny_input, 0.5, partition=2)


def test_the_model_holds_no_cutoffs():
    model = _partitioned(2)
    assert model.config.num_partitions == 2
    assert model.config.t_cutoffs is None


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_partitions_are_refused(count):
    with pytest.raises(A2SBInputError, match="must be at least 2"):
        A2SBPartitionedModel(num_partitions=count, unet_config=TINY_CONFIG)


def test_an_old_config_with_cutoffs_still_loads(tmp_path):
    model = _partitioned(2)
    model.save_pretrained(tmp_path)
    config_file = tmp_path / "config.json"
    config = json.loads(config_file.read_text())
    del config["num_partitions"]
    config_file.write_text(json.dumps({**config, "t_cutoffs": [0.5]}))  # as a2sb 0.1 saved it
    loaded = A2SBPartitionedModel.from_pretrained(tmp_path)
    assert len(loaded.partitions) == 2 and loaded.config.t_cutoffs == [0.5]
    A2SBPipeline(loaded, I2SBScheduler(t_cutoffs=[0.5]))  # agrees: accepted
    with pytest.raises(A2SBInputError, match=r"saved with t_cutoffs \[0.5\] but the scheduler"):
        A2SBPipeline(loaded, I2SBScheduler(t_cutoffs=[0.4]))


@pytest.mark.parametrize("t_cutoffs", [[0.6, 0.3], [0.5, 0.5], [0.0], [1.0], [-0.2]])
def test_bad_legacy_cutoffs_are_refused(t_cutoffs):
    with pytest.raises(A2SBInputError) as error:
        A2SBPartitionedModel(t_cutoffs=t_cutoffs, unet_config=TINY_CONFIG)
    assert "must be strictly increasing and lie inside (0, 1)" in str(error.value)


def test_a_pipeline_refuses_a_scheduler_with_other_partitions():
    with pytest.raises(A2SBInputError, match=r"has 2 partitions but the scheduler's t_cutoffs"):
        A2SBPipeline(_partitioned(2), I2SBScheduler(t_cutoffs=[0.3, 0.6]))


def test_from_partitions_refuses_different_architectures():
    models = [
        RoPEUNet2DModel(**TINY_CONFIG),
        RoPEUNet2DModel(**{**TINY_CONFIG, "layers_per_block": 1}),
    ]
    with pytest.raises(A2SBInputError) as error:
        A2SBPartitionedModel.from_partitions(models)
    assert "must share one RoPEUNet2DModel config" in str(error.value)


def test_partitioned_model_saves_and_loads(tiny_input, tmp_path):
    model = _partitioned(2)
    model.save_pretrained(tmp_path)
    loaded = A2SBPartitionedModel.from_pretrained(tmp_path)
    assert loaded.config.unet_config["block_out_channels"] == TINY_CONFIG["block_out_channels"]
    t = torch.tensor([0.9, 0.1])
    with torch.no_grad():
        for index in (0, 1):
            torch.testing.assert_close(
                loaded(tiny_input, t, partition=index).sample,
                model(tiny_input, t, partition=index).sample,
                rtol=0,
                atol=0,
            )


def test_each_partition_saves_and_loads_alone(tiny_input, tmp_path):
    model = _partitioned(2)
    model.partitions[1].save_pretrained(tmp_path)
    alone = RoPEUNet2DModel.from_pretrained(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(
            alone(tiny_input, 0.8).sample,
            model(tiny_input, 0.8, partition=1).sample,
            rtol=0,
            atol=0,
        )

import pytest
import torch
from conftest import TINY_CONFIG, randomized

from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel, RoPEUNet2DModel


def _partitioned(t_cutoffs: list[float]) -> A2SBPartitionedModel:
    models = [
        randomized(RoPEUNet2DModel(**TINY_CONFIG), seed=k).eval() for k in range(len(t_cutoffs) + 1)
    ]
    return A2SBPartitionedModel.from_partitions(models, t_cutoffs)


def _record_calls(model: A2SBPartitionedModel) -> list[tuple[int, list[float]]]:
    """Record (partition, timesteps it received) for every partition call."""
    calls = []
    for index, partition in enumerate(model.partitions):
        partition.register_forward_hook(
            lambda module, args, output, index=index: calls.append((index, args[1].tolist()))
        )
    return calls


def test_partition_index_counts_cutoffs_at_or_below_t():
    model = _partitioned([0.3, 0.6])
    t = torch.tensor([0.0, 0.29, 0.3, 0.45, 0.6, 0.61, 1.0])
    assert model.partition_index(t).tolist() == [0, 0, 1, 1, 2, 2, 2]
    assert model.partition_index(0.3).item() == 1


@pytest.mark.parametrize(("t", "partition"), [(0.0, 0), (0.4999, 0), (0.5, 1), (0.75, 1), (1.0, 1)])
def test_released_two_split_routes_t_to_its_partition(tiny_input, t, partition):
    model = _partitioned([0.5])
    calls = _record_calls(model)
    with torch.no_grad():
        model(tiny_input, t)
    assert calls == [(partition, [pytest.approx(t)] * 2)]


def test_mixed_batch_runs_each_sample_in_its_partition(tiny_input):
    model = _partitioned([0.5])
    calls = _record_calls(model)
    t = torch.tensor([0.7, 0.2])
    with torch.no_grad():
        output = model(tiny_input, t).sample
        upper = model.partitions[1](tiny_input[:1], t[:1]).sample
        lower = model.partitions[0](tiny_input[1:], t[1:]).sample
    assert sorted(calls[:2]) == [(0, [pytest.approx(0.2)]), (1, [pytest.approx(0.7)])]
    torch.testing.assert_close(output[:1], upper)
    torch.testing.assert_close(output[1:], lower)


@pytest.mark.parametrize("t_cutoffs", [[0.6, 0.3], [0.5, 0.5], [0.0], [1.0], [-0.2]])
def test_bad_cutoffs_are_refused(t_cutoffs):
    with pytest.raises(A2SBInputError) as error:
        A2SBPartitionedModel(t_cutoffs=t_cutoffs, unet_config=TINY_CONFIG)
    assert "must be strictly increasing and lie inside (0, 1)" in str(error.value)


def test_from_partitions_needs_one_cutoff_fewer_than_models():
    models = [RoPEUNet2DModel(**TINY_CONFIG) for _ in range(2)]
    with pytest.raises(A2SBInputError) as error:
        A2SBPartitionedModel.from_partitions(models, [0.3, 0.6])
    assert "2 partitions need 1 t_cutoffs, got 2" in str(error.value)


def test_from_partitions_refuses_different_architectures():
    models = [
        RoPEUNet2DModel(**TINY_CONFIG),
        RoPEUNet2DModel(**{**TINY_CONFIG, "layers_per_block": 1}),
    ]
    with pytest.raises(A2SBInputError) as error:
        A2SBPartitionedModel.from_partitions(models, [0.5])
    assert "must share one RoPEUNet2DModel config" in str(error.value)


def test_partitioned_model_saves_and_loads(tiny_input, tmp_path):
    model = _partitioned([0.5])
    model.save_pretrained(tmp_path)
    loaded = A2SBPartitionedModel.from_pretrained(tmp_path)
    assert loaded.config.t_cutoffs == [0.5]
    assert loaded.config.unet_config["block_out_channels"] == TINY_CONFIG["block_out_channels"]
    t = torch.tensor([0.9, 0.1])
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(tiny_input, t).sample, model(tiny_input, t).sample, rtol=0, atol=0
        )


def test_each_partition_saves_and_loads_alone(tiny_input, tmp_path):
    model = _partitioned([0.5])
    model.partitions[1].save_pretrained(tmp_path)
    alone = RoPEUNet2DModel.from_pretrained(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(
            alone(tiny_input, 0.8).sample, model(tiny_input, 0.8).sample, rtol=0, atol=0
        )

"""Build `RoPEUNet2DModel`s (and partitioned ensembles) from released A2SB state dicts.

The config is read off the tensor shapes (`infer_config`), every key and shape is checked
against the one the config implies before anything is loaded, and the constants of the release
(time multipliers, rotary frequencies) are checked and dropped.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from a2sb.errors import A2SBInputError
from a2sb.models.embeddings import rotary_frequencies, time_multipliers
from a2sb.models.partitioned import A2SBPartitionedModel
from a2sb.models.unet_rope import RoPEUNet2DModel
from a2sb.official.checkpoint_file import checkpoint_paths, load_official_checkpoint
from a2sb.official.key_map import (
    NETWORK_PREFIX,
    RELEASED_TIME_EMBEDDING_DIM,
    TIME_MULTIPLIERS_KEY,
    official_key_map,
    official_rotary_keys,
)
from a2sb.official.release_layout import order_partitions_by_name


def infer_config(
    state_dict: Mapping[str, torch.Tensor],
    num_attention_heads: int = 8,
    time_embedding_dim: int = RELEASED_TIME_EMBEDDING_DIM,
) -> dict:
    """Read the `RoPEUNet2DModel` config off the shapes of an official state dict (no prefix).

    The attention head count is not visible in the weights and is passed in; the split of the
    conditioning channels between time and frequency embedding needs `time_embedding_dim`.
    """
    needed = [
        "input_projection.weight",
        "output_projection.2.weight",
        "enc_blocks.0.0.emb_layers.1.weight",
    ]
    absent = [key for key in needed if key not in state_dict]
    if absent:
        raise A2SBInputError(
            f"checkpoint is not an A2SB network: missing keys {absent}; "
            "pass a released A2SB checkpoint (A2SB_*_release.ckpt)"
        )
    num_levels = 0
    while f"ds_layers.{num_levels}.op.weight" in state_dict:
        num_levels += 1
    input_weight = state_dict["input_projection.weight"]
    block_out_channels = [input_weight.shape[0]] + [
        state_dict[f"ds_layers.{level}.op.weight"].shape[0] for level in range(num_levels)
    ]
    attention_levels = [
        level for level in range(num_levels) if f"enc_blocks.{level}.1.gnorm.weight" in state_dict
    ]
    resnets_in_level0 = {
        key.split(".")[2]
        for key in state_dict
        if key.startswith("enc_blocks.0.") and ".in_layers." in key
    }
    conditioning_channels = state_dict["enc_blocks.0.0.emb_layers.1.weight"].shape[1]
    return {
        "in_channels": input_weight.shape[1],
        "out_channels": state_dict["output_projection.2.weight"].shape[0],
        "block_out_channels": block_out_channels,
        "layers_per_block": len(resnets_in_level0),
        "attention_levels": attention_levels,
        "num_attention_heads": num_attention_heads,
        "time_embedding_dim": time_embedding_dim,
        "frequency_embedding_dim": conditioning_channels - time_embedding_dim,
        "norm_num_groups": 32,
    }


def _describe(keys: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _check_official_keys(
    state_dict: Mapping[str, torch.Tensor], model: RoPEUNet2DModel, key_map: Mapping[str, str]
) -> None:
    """Refuse a state dict whose keys or shapes differ from those the config implies."""
    expected_shapes = {
        official: tuple(model.state_dict()[ours].shape) for official, ours in key_map.items()
    }
    expected_shapes.update({key: (16,) for key in official_rotary_keys(model.config)})
    missing = sorted(set(expected_shapes) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected_shapes))
    misshaped = sorted(
        f"{key} {list(state_dict[key].shape)} (expected {list(expected_shapes[key])})"
        for key in set(expected_shapes) & set(state_dict)
        if tuple(state_dict[key].shape) != expected_shapes[key]
    )
    problems = []
    if missing:
        problems.append(f"missing keys: {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_describe(unexpected)}")
    if misshaped:
        problems.append(f"wrong shapes: {_describe(misshaped)}")
    if problems:
        raise A2SBInputError(
            "checkpoint does not match the A2SB network architecture ("
            + "; ".join(problems)
            + "); pass an unmodified released A2SB checkpoint"
        )
    for key in official_rotary_keys(model.config):
        if not torch.allclose(state_dict[key].float(), rotary_frequencies(), rtol=1e-6, atol=1e-5):
            raise A2SBInputError(
                f"{key} is not π·linspace(1, 32, 16): this network uses other rotary "
                "frequencies, which RoPEUNet2DModel does not support"
            )


def convert_official_state_dict(
    state_dict: Mapping[str, torch.Tensor], num_attention_heads: int = 8
) -> RoPEUNet2DModel:
    """Build a `RoPEUNet2DModel` from an official state dict (a release file's `state_dict`).

    Accepts keys with or without the `vf_model.` prefix; `t_to_emb.multipliers` is checked
    against linspace(0.5, 16, 64) and dropped, as are the constant `pos_emb.freqs`.
    The returned model shares storage with `state_dict` (no copy) and is in eval mode.

    Raises:
        A2SBInputError: missing, unexpected or mis-shaped keys, or constants that differ from
            those of the released network.
    """
    network = {}
    time_embedding_dim = RELEASED_TIME_EMBEDDING_DIM
    for key, tensor in state_dict.items():
        if key == TIME_MULTIPLIERS_KEY:
            time_embedding_dim = 2 * tensor.shape[-1]
            _check_time_multipliers(tensor)
        else:
            network[key.removeprefix(NETWORK_PREFIX)] = tensor
    config = infer_config(network, num_attention_heads, time_embedding_dim)
    with torch.device("meta"):
        model = RoPEUNet2DModel(**config)
    key_map = official_key_map(model.config)
    _check_official_keys(network, model, key_map)
    model.load_state_dict(
        {ours: network[official].float() for official, ours in key_map.items()},
        strict=True,
        assign=True,
    )
    return model.eval()


def _check_time_multipliers(multipliers: torch.Tensor) -> None:
    expected = time_multipliers(2 * multipliers.shape[-1])
    if not torch.allclose(multipliers.reshape(-1).float(), expected, rtol=1e-6, atol=1e-6):
        raise A2SBInputError(
            f"{TIME_MULTIPLIERS_KEY} is not linspace(0.5, 16, {expected.numel()}): this network "
            "uses another time embedding, which RoPEUNet2DModel does not support"
        )


def convert_official_checkpoints(
    paths: Sequence[str | Path],
    t_cutoffs: Sequence[float] | None = None,
    num_attention_heads: int = 8,
    trust_checkpoint: bool = False,
) -> tuple[RoPEUNet2DModel | A2SBPartitionedModel, list[float]]:
    """Convert one release file to a `RoPEUNet2DModel`, or several to an `A2SBPartitionedModel`.

    Returns `(model, t_cutoffs)`: the cutoffs (empty for one file) belong to the scheduler,
    which routes each t to its partition.

    Args:
        paths: release `.ckpt` files. One file is one model. Several are partitions: without
            `t_cutoffs` their order and cutoffs come from the t-ranges in their names
            (`*_twosplit_0.0_0.5_*`, `*_twosplit_0.5_1.0_*` → cutoff 0.5); with `t_cutoffs`
            they are taken in the given order.
        t_cutoffs: K − 1 increasing cutoffs in (0, 1) for K files.
        num_attention_heads: heads of every attention (8 in the released checkpoints; the
            weights do not show it).
        trust_checkpoint: unpickle fully instead of `weights_only` (see `load_official_checkpoint`).
    """
    paths = checkpoint_paths(paths)
    if t_cutoffs is None and len(paths) > 1:
        paths, t_cutoffs = order_partitions_by_name(paths)
    if t_cutoffs is not None and len(t_cutoffs) != len(paths) - 1:
        raise A2SBInputError(
            f"{len(paths)} checkpoints need {len(paths) - 1} t-cutoffs, got {len(t_cutoffs)}; "
            "give one cutoff between each pair of consecutive partitions"
        )
    models = [
        convert_official_state_dict(
            load_official_checkpoint(path, trust_checkpoint), num_attention_heads
        )
        for path in paths
    ]
    if len(models) == 1:
        return models[0], []
    return A2SBPartitionedModel.from_partitions(models), list(t_cutoffs)

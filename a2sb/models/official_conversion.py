"""Load NVIDIA's released A2SB checkpoints (Lightning `.ckpt` pickles) into `RoPEUNet2DModel`.

The released files hold `{"state_dict": {"vf_model.<name>": tensor, …, "t_to_emb.multipliers":
[1, 64]}}` (fp32). `official_module_pairs` is the one place where official module names meet
ours; everything else (both directions of the key map, the expected key set) derives from it.

Two constants of the released state dict are not parameters of `RoPEUNet2DModel`; they are
checked on load and dropped, and `to_official_state_dict` writes them back:
- `t_to_emb.multipliers` = linspace(0.5, 16, 64) (time embedding, `embeddings.time_embedding`),
- `*.pos_emb.freqs` = π·linspace(1, 32, 16) in every attention (`embeddings.rotary_frequencies`).

Release file names carry the t-range of their partition (`A2SB_twosplit_0.5_1.0_release.ckpt`).
"""

import math
import pickle
import re
import zipfile
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path

import torch

from a2sb.errors import A2SBInputError
from a2sb.models.embeddings import rotary_frequencies, time_multipliers
from a2sb.models.partitioned import A2SBPartitionedModel
from a2sb.models.unet_rope import RoPEUNet2DModel

NETWORK_PREFIX = "vf_model."
TIME_MULTIPLIERS_KEY = "t_to_emb.multipliers"
ROTARY_FREQUENCIES_PART = "pos_emb.freqs"
RELEASED_TIME_EMBEDDING_DIM = 128

RESNET_PARTS = {
    "in_layers.0": "norm1",
    "in_layers.2": "conv1",
    "emb_layers.1": "conditioning_proj",
    "out_norm": "norm2",
    "out_rest.2": "conv2",
}
ATTENTION_PARTS = {"gnorm": "norm", "q_proj": "to_q", "k_proj": "to_k", "v_proj": "to_v"}

_REFUSED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")
_T_RANGE_IN_NAME = re.compile(r"_(\d+(?:\.\d+)?)_(\d+(?:\.\d+)?)(?=[_.]|$)")


def official_module_pairs(config: Mapping) -> list[tuple[str, str, dict[str, str] | None]]:
    """Every module of the network as (official name, our name, parts map).

    The parts map renames the sub-modules of a residual block (`RESNET_PARTS`) or an attention
    (`ATTENTION_PARTS`); None means a plain conv or norm whose weight and bias keep their names.
    Official levels interleave blocks ([Res, Attn, Res, Attn] → indices 0, 1, 2, 3); ours keep
    `resnets` and `attentions` apart.

    Args:
        config: a `RoPEUNet2DModel` config (`block_out_channels`, `layers_per_block`,
            `attention_levels`).
    """
    num_levels = len(config["block_out_channels"]) - 1
    blocks_per_level = config["layers_per_block"]
    pairs: list[tuple[str, str, dict[str, str] | None]] = [("input_projection", "conv_in", None)]

    def level_pairs(official: str, ours: str, has_attention: bool) -> None:
        for block in range(blocks_per_level):
            if has_attention:
                pairs.append((f"{official}.{2 * block}", f"{ours}.resnets.{block}", RESNET_PARTS))
                pairs.append(
                    (f"{official}.{2 * block + 1}", f"{ours}.attentions.{block}", ATTENTION_PARTS)
                )
            else:
                pairs.append((f"{official}.{block}", f"{ours}.resnets.{block}", RESNET_PARTS))

    for level in range(num_levels):
        has_attention = level in config["attention_levels"]
        level_pairs(f"enc_blocks.{level}", f"encoder_levels.{level}", has_attention)
        pairs.append((f"ds_layers.{level}.op", f"downsamplers.{level}", None))
    pairs += [
        ("middle_block.0", "middle.resnets.0", RESNET_PARTS),
        ("middle_block.1", "middle.attentions.0", ATTENTION_PARTS),
        ("middle_block.2", "middle.resnets.1", RESNET_PARTS),
    ]
    for step in range(num_levels):
        has_attention = num_levels - 1 - step in config["attention_levels"]
        level_pairs(f"dec_blocks.{step}", f"decoder_levels.{step}", has_attention)
        pairs.append((f"us_layers.{step}.conv", f"upsamplers.{step}.conv", None))
    pairs += [
        ("output_projection.0", "norm_out", None),
        ("output_projection.2", "conv_out", None),
    ]
    return pairs


def official_key_map(config: Mapping) -> dict[str, str]:
    """Official parameter name → our parameter name, for every parameter of the network.

    Invert it (`{ours: official for official, ours in …}`) for the other direction. The constant
    `pos_emb.freqs` entries have no counterpart and are not in the map.
    """
    key_map = {}
    for official, ours, parts in official_module_pairs(config):
        renames = parts.items() if parts is not None else [("", "")]
        for official_part, our_part in renames:
            official_module = f"{official}.{official_part}".rstrip(".")
            our_module = f"{ours}.{our_part}".rstrip(".")
            for tensor in ("weight", "bias"):
                key_map[f"{official_module}.{tensor}"] = f"{our_module}.{tensor}"
    return key_map


def official_rotary_keys(config: Mapping) -> list[str]:
    """The official `*.pos_emb.freqs` keys: one per attention block."""
    return [
        f"{official}.{ROTARY_FREQUENCIES_PART}"
        for official, _, parts in official_module_pairs(config)
        if parts is ATTENTION_PARTS
    ]


def to_official_state_dict(model: RoPEUNet2DModel) -> dict[str, torch.Tensor]:
    """Our state dict under the official key names, with the constant rotary frequencies added
    (without the `vf_model.` prefix and `t_to_emb.multipliers` of the release files)."""
    ours_to_official = {ours: official for official, ours in official_key_map(model.config).items()}
    state_dict = {ours_to_official[name]: tensor for name, tensor in model.state_dict().items()}
    device = model.conv_in.weight.device
    for key in official_rotary_keys(model.config):
        state_dict[key] = rotary_frequencies(device)
    return state_dict


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


def load_official_checkpoint(
    path: str | Path, trust_checkpoint: bool = False
) -> dict[str, torch.Tensor]:
    """Read the state dict of a release file (Lightning `.ckpt` or a bare state dict).

    The pickle is read with `weights_only=True` (tensors and plain containers only) and
    memory-mapped when the file is in the zip format. If it holds anything else, loading stops
    with an error naming the opt-in: `trust_checkpoint=True` unpickles the file fully, which can
    run arbitrary code — use it only for a file you trust.
    """
    path = Path(path)
    if not path.is_file():
        raise A2SBInputError(f"checkpoint {path} does not exist; check the path")
    try:
        checkpoint = torch.load(
            path,
            map_location="cpu",
            weights_only=not trust_checkpoint,
            mmap=zipfile.is_zipfile(path),
        )
    except (
        pickle.UnpicklingError,
        ImportError,
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
    ) as error:
        refused_global = _REFUSED_GLOBAL.search(str(error))
        if refused_global is None:
            raise A2SBInputError(
                f"checkpoint {path} could not be read ({type(error).__name__}: "
                f"{_short_reason(error)}); pass a PyTorch/Lightning checkpoint file"
            ) from error
        raise A2SBInputError(
            f"checkpoint {path} holds more than tensors ({refused_global.group(1)}), which "
            "weights-only loading refuses; if you trust this file, pass --trust-checkpoint "
            "(trust_checkpoint=True in Python) to unpickle it fully"
        ) from error
    state_dict = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or not all(
        isinstance(value, torch.Tensor) for value in state_dict.values()
    ):
        raise A2SBInputError(
            f"checkpoint {path} holds no state dict of tensors; pass a Lightning checkpoint "
            "with a 'state_dict' entry or a bare state dict"
        )
    return state_dict


def _short_reason(error: Exception) -> str:
    """The telling line of a loading error (torch's weights-only errors bury it mid-text)."""
    detail = str(error).split("WeightsUnpickler error:", 1)[-1]
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    return lines[0] if lines else "no details"


def t_range_from_name(path: str | Path) -> tuple[float, float] | None:
    """The t-range written in a release file name: `A2SB_twosplit_0.5_1.0_release.ckpt` →
    (0.5, 1.0); None when the name holds no `_<start>_<end>` pair in [0, 1]."""
    for start, end in _T_RANGE_IN_NAME.findall(Path(path).name):
        if 0.0 <= float(start) < float(end) <= 1.0:
            return float(start), float(end)
    return None


def order_partitions_by_name(paths: Sequence[str | Path]) -> tuple[list[Path], list[float]]:
    """Order release files by the t-range in their names; return them and the cutoffs.

    The ranges must tile [0, 1] without gaps or overlaps: [0, c_1), [c_1, c_2), …, [c_{K−1}, 1].
    """
    ranges = {Path(path): t_range_from_name(path) for path in paths}
    unnamed = [str(path) for path, t_range in ranges.items() if t_range is None]
    if unnamed:
        raise A2SBInputError(
            f"no t-range (like _0.5_1.0_) in the file name of {', '.join(unnamed)}; "
            "pass the cutoffs explicitly with --t-cutoffs (t_cutoffs=...)"
        )
    ordered = sorted(ranges, key=lambda path: ranges[path])
    bounds = [ranges[path] for path in ordered]
    tiles = bounds[0][0] == 0.0 and bounds[-1][1] == 1.0
    tiles = tiles and all(
        math.isclose(previous[1], current[0]) for previous, current in pairwise(bounds)
    )
    if not tiles:
        described = ", ".join(
            f"{path.name} [{start}, {end}]"
            for path, (start, end) in zip(ordered, bounds, strict=True)
        )
        raise A2SBInputError(
            f"the t-ranges of the checkpoints do not tile [0, 1] contiguously ({described}); "
            "pass one file per range so that the ranges join up from 0 to 1, or give --t-cutoffs"
        )
    return ordered, [start for start, _ in bounds[1:]]


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
    paths = [Path(path) for path in paths]
    if not paths:
        raise A2SBInputError("no checkpoint given; pass at least one release .ckpt file")
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

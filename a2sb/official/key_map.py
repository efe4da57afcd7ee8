"""The key map between NVIDIA's released A2SB state dicts and `RoPEUNet2DModel`.

The released files hold `{"state_dict": {"vf_model.<name>": tensor, …, "t_to_emb.multipliers":
[1, 64]}}` (fp32). `official_module_pairs` is the one place where official module names meet
ours; everything else (both directions of the key map, the expected key set) derives from it.

Two constants of the released state dict are not parameters of `RoPEUNet2DModel`; they are
checked on load and dropped (`a2sb.official.conversion`), and `to_official_state_dict` writes
the rotary ones back:
- `t_to_emb.multipliers` = linspace(0.5, 16, 64) (time embedding, `embeddings.time_embedding`),
- `*.pos_emb.freqs` = π·linspace(1, 32, 16) in every attention (`embeddings.rotary_frequencies`).
"""

from collections.abc import Mapping

import torch

from a2sb.models.embeddings import rotary_frequencies
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

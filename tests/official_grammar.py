"""Released A2SB state dicts at any size, written from the key grammar of
`shared/reference/official-a2sb-keys.txt` and independent of `a2sb.official`."""

import math

import torch


def official_shapes(
    channels: list[int],
    attention_levels: list[int],
    res_blocks: int = 2,
    conditioning_channels: int = 144,
    in_channels: int = 3,
    out_channels: int = 3,
) -> dict[str, tuple[int, ...]]:
    """Key → shape of the released network (no `vf_model.` prefix)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def affine(name: str, width: int) -> None:
        shapes[f"{name}.weight"] = (width,)
        shapes[f"{name}.bias"] = (width,)

    def conv(name: str, out_width: int, in_width: int, kernel: int) -> None:
        shapes[f"{name}.weight"] = (out_width, in_width, kernel, kernel)
        shapes[f"{name}.bias"] = (out_width,)

    def resnet(prefix: str, width: int) -> None:
        affine(f"{prefix}.in_layers.0", width)
        conv(f"{prefix}.in_layers.2", width, width, 3)
        conv(f"{prefix}.emb_layers.1", 2 * width, conditioning_channels, 1)
        affine(f"{prefix}.out_norm", width)
        conv(f"{prefix}.out_rest.2", width, width, 3)

    def attention(prefix: str, width: int) -> None:
        affine(f"{prefix}.gnorm", width)
        for projection in ("q_proj", "k_proj", "v_proj"):
            conv(f"{prefix}.{projection}", width, width, 1)
        shapes[f"{prefix}.pos_emb.freqs"] = (16,)

    def level(prefix: str, width: int, has_attention: bool) -> None:
        index = 0
        for _ in range(res_blocks):
            resnet(f"{prefix}.{index}", width)
            index += 1
            if has_attention:
                attention(f"{prefix}.{index}", width)
                index += 1

    levels = len(channels) - 1
    for lvl in range(levels):
        level(f"enc_blocks.{lvl}", channels[lvl], lvl in attention_levels)
        conv(f"ds_layers.{lvl}.op", channels[lvl + 1], channels[lvl], 3)
    for step in range(levels):
        level(f"dec_blocks.{step}", channels[levels - step], levels - 1 - step in attention_levels)
        conv(f"us_layers.{step}.conv", channels[levels - 1 - step], channels[levels - step], 3)
    conv("input_projection", channels[0], in_channels, 3)
    resnet("middle_block.0", channels[-1])
    attention("middle_block.1", channels[-1])
    resnet("middle_block.2", channels[-1])
    affine("output_projection.0", channels[0])
    conv("output_projection.2", out_channels, channels[0], 3)
    return shapes


def official_state_dict(
    channels: list[int], attention_levels: list[int], seed: int = 0
) -> dict[str, torch.Tensor]:
    """Seeded random tensors under the released names; `pos_emb.freqs` hold their constant."""
    generator = torch.Generator().manual_seed(seed)
    state_dict = {}
    for key, shape in official_shapes(channels, attention_levels).items():
        if key.endswith("pos_emb.freqs"):
            state_dict[key] = math.pi * torch.linspace(1, 32, 16)
        else:
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            state_dict[key] = torch.randn(shape, generator=generator) / math.sqrt(fan_in)
    return state_dict


def release_file_content(state_dict: dict[str, torch.Tensor]) -> dict:
    """Wrap a network state dict as the release `.ckpt` files do."""
    wrapped = {f"vf_model.{key}": tensor for key, tensor in state_dict.items()}
    wrapped["t_to_emb.multipliers"] = torch.linspace(0.5, 16, 64)[None]
    return {"state_dict": wrapped}

"""Networks of a2sb: the RoPE UNet, its time-partitioned ensemble, and the release converter."""

from a2sb.models.official_conversion import (
    convert_official_checkpoints,
    convert_official_state_dict,
    load_official_checkpoint,
    official_key_map,
    to_official_state_dict,
)
from a2sb.models.partitioned import A2SBPartitionedModel
from a2sb.models.unet_rope import RoPEUNet2DModel, RoPEUNet2DOutput

__all__ = [
    "A2SBPartitionedModel",
    "RoPEUNet2DModel",
    "RoPEUNet2DOutput",
    "convert_official_checkpoints",
    "convert_official_state_dict",
    "load_official_checkpoint",
    "official_key_map",
    "to_official_state_dict",
]

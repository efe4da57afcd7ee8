"""Networks of a2sb: the RoPE UNet and its time-partitioned ensemble.

NVIDIA's released checkpoints are converted to these by `a2sb.official`.
"""

from a2sb.models.partitioned import A2SBPartitionedModel
from a2sb.models.unet_rope import RoPEUNet2DModel, RoPEUNet2DOutput

__all__ = ["A2SBPartitionedModel", "RoPEUNet2DModel", "RoPEUNet2DOutput"]

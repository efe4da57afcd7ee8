"""Stand-in networks for pipeline tests: cheap, with outputs known in advance."""

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

from a2sb.models import RoPEUNet2DModel, RoPEUNet2DOutput

MICRO_UNET = {
    "block_out_channels": (8, 8, 8, 8, 8, 64),
    "attention_levels": (),
    "num_attention_heads": 1,
    "norm_num_groups": 8,
    "time_embedding_dim": 16,
    "frequency_embedding_dim": 4,
}
"""The smallest real RoPEUNet2DModel: attention only in the middle, a second per few windows."""


def micro_unet(seed: int = 0) -> RoPEUNet2DModel:
    torch.manual_seed(seed)
    return RoPEUNet2DModel(**MICRO_UNET).eval()


class RecordingUNet(ModelMixin, ConfigMixin):
    """Returns `scale · sample` and records the shape and timesteps of every call."""

    size_multiple = 32
    """As the real UNet's five levels ask."""

    @register_to_config
    def __init__(self, in_channels: int = 3, scale: float = 0.0):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.calls: list[tuple[tuple[int, ...], list[float]]] = []

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, return_dict: bool = True):
        self.calls.append((tuple(sample.shape), timestep.flatten().tolist()))
        output = sample * self.config.scale + self.anchor
        return RoPEUNet2DOutput(sample=output) if return_dict else (output,)

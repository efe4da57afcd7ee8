"""`A2SBPartitionedModel`: one UNet per range of diffusion time (paper §3.5).

With cutoffs c_1 < … < c_{K−1} in (0, 1), partition k serves t ∈ [c_k, c_{k+1}) (c_0 = 0,
c_K = 1, the last range closed at 1): its index is the number of cutoffs ≤ t. The released
2-split uses c_1 = 0.5: t ∈ [0, 0.5) → 0, t ∈ [0.5, 1] → 1.
"""

import json
from collections.abc import Mapping, Sequence
from itertools import pairwise

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from a2sb.errors import A2SBInputError
from a2sb.models.unet_rope import RoPEUNet2DModel, RoPEUNet2DOutput


def unet_config_dict(config: Mapping) -> dict:
    """The constructor arguments of a `RoPEUNet2DModel` config as JSON types (lists, not tuples)."""
    public = {key: value for key, value in config.items() if not key.startswith("_")}
    return json.loads(json.dumps(public))


def check_t_cutoffs(t_cutoffs: Sequence[float]) -> None:
    """Refuse cutoffs that are not strictly increasing inside (0, 1)."""
    inside = all(0.0 < cutoff < 1.0 for cutoff in t_cutoffs)
    increasing = all(low < high for low, high in pairwise(t_cutoffs))
    if not (inside and increasing):
        raise A2SBInputError(
            f"t_cutoffs {list(t_cutoffs)} must be strictly increasing and lie inside (0, 1), "
            "e.g. [0.5] for two partitions"
        )


class A2SBPartitionedModel(ModelMixin, ConfigMixin):
    """K `RoPEUNet2DModel`s of one architecture, each trained for one range of t.

    `forward(sample, timestep)` routes every sample to the partition of its t, so offload hooks
    that wrap `forward` see one model. Each `partitions[k]` is a plain `RoPEUNet2DModel`
    (it can be saved and loaded alone); the whole saves and loads with
    `save_pretrained`/`from_pretrained`.

    Args:
        t_cutoffs: c_1 < … < c_{K−1} in (0, 1); K = len(t_cutoffs) + 1 partitions.
        unet_config: constructor arguments shared by all partitions (paper defaults if None).
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(self, t_cutoffs: Sequence[float] = (0.5,), unet_config: dict | None = None):
        super().__init__()
        check_t_cutoffs(t_cutoffs)
        self.partitions = nn.ModuleList(
            RoPEUNet2DModel(**(unet_config or {})) for _ in range(len(t_cutoffs) + 1)
        )
        self.register_to_config(unet_config=unet_config_dict(self.partitions[0].config))

    @classmethod
    def from_partitions(
        cls, models: Sequence[RoPEUNet2DModel], t_cutoffs: Sequence[float]
    ) -> "A2SBPartitionedModel":
        """Join K models of one architecture with K − 1 cutoffs, without copying weights.

        Args:
            models: partition k serves t ∈ [t_cutoffs[k−1], t_cutoffs[k]).
            t_cutoffs: strictly increasing, inside (0, 1).
        """
        if len(t_cutoffs) != len(models) - 1:
            raise A2SBInputError(
                f"{len(models)} partitions need {len(models) - 1} t_cutoffs, "
                f"got {len(t_cutoffs)}: {list(t_cutoffs)}"
            )
        configs = [unet_config_dict(model.config) for model in models]
        if any(config != configs[0] for config in configs):
            raise A2SBInputError(
                "the partitions have different architectures; all partitions of an "
                "A2SBPartitionedModel must share one RoPEUNet2DModel config"
            )
        with torch.device("meta"):
            partitioned = cls(t_cutoffs=list(t_cutoffs), unet_config=configs[0])
        partitioned.partitions = nn.ModuleList(models)
        return partitioned.train(models[0].training)

    @property
    def size_multiple(self) -> int:
        """Rows and frames of `sample` must be multiples of this (the partitions' UNet's)."""
        return self.partitions[0].size_multiple

    def partition_index(self, timestep: torch.Tensor | float) -> torch.Tensor:
        """Index of the partition for each t: the number of cutoffs ≤ t.

        Args:
            timestep: t, a float or a tensor of any shape.

        Returns:
            int64 tensor of the shape of `timestep`.
        """
        timestep = torch.as_tensor(timestep)
        if timestep.dtype != torch.float64:
            timestep = timestep.float()
        cutoffs = torch.tensor(self.config.t_cutoffs, dtype=timestep.dtype, device=timestep.device)
        return torch.searchsorted(cutoffs, timestep.contiguous(), right=True)

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float,
        return_dict: bool = True,
    ) -> RoPEUNet2DOutput | tuple[torch.Tensor]:
        """Run each sample through the partition of its t.

        Args:
            sample: x_t, `[batch, 3, freq, frames]`.
            timestep: t ∈ [0, 1], a float, a 0-d tensor, or `[batch]`; samples of one batch
                may fall in different partitions.
            return_dict: return a `RoPEUNet2DOutput` (else a 1-tuple).

        Returns:
            `[batch, 3, freq, frames]`.
        """
        batch = sample.shape[0]
        timestep = torch.as_tensor(timestep, device=sample.device)
        if timestep.numel() not in (1, batch) or timestep.ndim > 1:
            raise A2SBInputError(
                f"timestep has shape {list(timestep.shape)} for a batch of {batch}; "
                f"pass one t per sample ([{batch}]) or a single t"
            )
        timestep = timestep.reshape(-1).expand(batch)
        index = self.partition_index(timestep)
        used = index.unique().tolist()
        if len(used) == 1:
            output = self.partitions[used[0]](sample, timestep, return_dict=False)[0]
        else:
            output = None
            for partition in used:
                rows = (index == partition).nonzero().squeeze(1)
                partition_model = self.partitions[partition]
                part = partition_model(sample[rows], timestep[rows], return_dict=False)[0]
                if output is None:
                    output = part.new_empty((batch, *part.shape[1:]))
                output[rows] = part
        if not return_dict:
            return (output,)
        return RoPEUNet2DOutput(sample=output)

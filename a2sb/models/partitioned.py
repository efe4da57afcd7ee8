"""`A2SBPartitionedModel`: one UNet per range of diffusion time (paper §3.5).

The model is a container of K `RoPEUNet2DModel`s of one architecture; which partition serves
a time t is the scheduler's answer (`scheduler.partition_index(t)`, from its `t_cutoffs`), and
the caller passes that index to `forward`. Configs saved before the scheduler owned the cutoffs
hold `t_cutoffs` here too: they still load, and a pipeline refuses them if they disagree with
its scheduler's.
"""

import json
from collections.abc import Mapping, Sequence
from itertools import pairwise

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from a2sb.errors import A2SBInputError
from a2sb.models.aligned_loading import AlignedLoadingMixin
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


class A2SBPartitionedModel(AlignedLoadingMixin, ModelMixin, ConfigMixin):
    """K `RoPEUNet2DModel`s of one architecture, each trained for one range of t.

    `forward(sample, timestep, partition=k)` runs partition k, so offload hooks that wrap
    `forward` see one model. Each `partitions[k]` is a plain `RoPEUNet2DModel` (it can be saved
    and loaded alone); the whole saves and loads with `save_pretrained`/`from_pretrained`.

    Args:
        num_partitions: K, at least 2.
        unet_config: constructor arguments shared by all partitions (paper defaults if None).
        t_cutoffs: only in configs saved by a2sb 0.1, when the model held the cutoffs; gives
            K = len(t_cutoffs) + 1 and is checked against the pipeline's scheduler. None now.
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        num_partitions: int | None = None,
        unet_config: dict | None = None,
        t_cutoffs: Sequence[float] | None = None,
    ):
        super().__init__()
        if t_cutoffs is not None:
            check_t_cutoffs(t_cutoffs)
            num_partitions = num_partitions or len(t_cutoffs) + 1
            if num_partitions != len(t_cutoffs) + 1:
                raise A2SBInputError(
                    f"the model config names {num_partitions} partitions but t_cutoffs "
                    f"{list(t_cutoffs)} make {len(t_cutoffs) + 1}; fix the config"
                )
        if num_partitions is None or num_partitions < 2:
            raise A2SBInputError(
                f"num_partitions={num_partitions} must be at least 2; one model for all of "
                "[0, 1] is a plain RoPEUNet2DModel"
            )
        self.partitions = nn.ModuleList(
            RoPEUNet2DModel(**(unet_config or {})) for _ in range(num_partitions)
        )
        self.register_to_config(
            num_partitions=num_partitions, unet_config=unet_config_dict(self.partitions[0].config)
        )

    @classmethod
    def from_partitions(cls, models: Sequence[RoPEUNet2DModel]) -> "A2SBPartitionedModel":
        """Join K ≥ 2 models of one architecture, without copying weights.

        Args:
            models: partition k serves the scheduler's k-th range of t.
        """
        configs = [unet_config_dict(model.config) for model in models]
        if any(config != configs[0] for config in configs):
            raise A2SBInputError(
                "the partitions have different architectures; all partitions of an "
                "A2SBPartitionedModel must share one RoPEUNet2DModel config"
            )
        with torch.device("meta"):
            partitioned = cls(num_partitions=len(models), unet_config=configs[0])
        partitioned.partitions = nn.ModuleList(models)
        return partitioned.train(models[0].training)

    @property
    def size_multiple(self) -> int:
        """Rows and frames of `sample` must be multiples of this (the partitions' UNet's)."""
        return self.partitions[0].size_multiple

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float,
        partition: int,
        return_dict: bool = True,
    ) -> RoPEUNet2DOutput | tuple[torch.Tensor]:
        """Run the batch through partition `partition`.

        Args:
            sample: x_t, `[batch, 3, freq, frames]`.
            timestep: t ∈ [0, 1], a float, a 0-d tensor, or `[batch]`, all inside the range
                that the scheduler gives `partition`.
            partition: the index that `scheduler.partition_index(t)` returns.
            return_dict: return a `RoPEUNet2DOutput` (else a 1-tuple).

        Returns:
            `[batch, 3, freq, frames]`.
        """
        if isinstance(partition, bool) or not 0 <= int(partition) < len(self.partitions):
            raise A2SBInputError(
                f"partition {partition} does not exist; this model has partitions "
                f"0..{len(self.partitions) - 1}"
            )
        return self.partitions[int(partition)](sample, timestep, return_dict=return_dict)

"""`RoPEUNet2DModel`: the A2SB spectrogram UNet (paper §3.4), able to run the released weights.

Topology (L levels, channels c_0 … c_L):
    conv3×3 in → c_0
    encoder level l = 0 … L−1: [Res, (Attn), Res, (Attn)] at c_l, then stride-2 conv c_l → c_{l+1};
        skip_l = that output
    middle: [Res, Attn, Res] at c_L
    decoder step j = 0 … L−1: h += skip_{L−1−j}; [Res, (Attn), Res, (Attn)] at c_{L−j}, with
        attention where encoder level L−1−j has it; nearest ×2 then conv3×3 c_{L−j} → c_{L−1−j}
    out = conv3×3(SiLU(GN(h))) → out_channels
Every block at a resolution with H frequency rows is conditioned on that resolution's map
`[batch, frequency_embedding_dim + time_embedding_dim, H, 1]` (see `embeddings`).
"""

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from a2sb.errors import A2SBInputError
from a2sb.models.aligned_loading import AlignedLoadingMixin
from a2sb.models.embeddings import ROTARY_DIM, conditioning_map, time_embedding
from a2sb.models.unet_rope_blocks import GroupNorm32, UNetLevel, Upsample
from a2sb.notices import warn_once

logger = logging.getLogger(__name__)

ONEDNN_BF16_NOTICE = (
    "oneDNN's bf16 convolutions returned non-finite values for a finite input on the CPU; "
    "that call was recomputed with torch's exact native kernels (about 190x slower). If this "
    "repeats, restore in fp32 on the CPU (--dtype fp32)"
)
"""Shown once: oneDNN's bf16 kernels (fast on the CPU) have returned NaN for some shapes."""


@dataclass
class RoPEUNet2DOutput(BaseOutput):
    """Output of `RoPEUNet2DModel`.

    Args:
        sample: the network output, `[batch, out_channels, freq, frames]`.
    """

    sample: torch.Tensor


class RoPEUNet2DModel(AlignedLoadingMixin, ModelMixin, ConfigMixin):
    """UNet on `[batch, 3, freq, frames]` spectrograms with frequency/time conditioning and RoPE.

    The defaults are the paper's configuration (565,544,851 parameters), which the released
    checkpoints use; `a2sb.official` converts them.

    Args:
        in_channels: channels of `sample` (3: magnitude^0.25, cos θ, sin θ).
        out_channels: channels of the output.
        block_out_channels: c_0 … c_L; L = len − 1 is the number of down/up-sampling levels.
        layers_per_block: residual blocks per encoder and decoder level.
        attention_levels: encoder levels (0-based) with an attention after each residual block;
            the mirrored decoder levels get them too; the middle always has one.
        num_attention_heads: heads of every attention; each head needs ≥ 64 channels.
        time_embedding_dim: channels of the sinusoidal diffusion-time embedding.
        frequency_embedding_dim: channels of the frequency-row embedding.
        dropout: dropout inside residual blocks.
        norm_num_groups: groups of every GroupNorm.
        norm_eps: epsilon of every GroupNorm.
    """

    _supports_gradient_checkpointing = True

    @property
    def size_multiple(self) -> int:
        """Rows and frames of `sample` must be multiples of this: 2 ** (down-sampling levels)."""
        return 2 ** (len(self.config.block_out_channels) - 1)

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        block_out_channels: tuple[int, ...] = (128, 256, 512, 768, 1024, 2048),
        layers_per_block: int = 2,
        attention_levels: tuple[int, ...] = (3, 4),
        num_attention_heads: int = 8,
        time_embedding_dim: int = 128,
        frequency_embedding_dim: int = 16,
        dropout: float = 0.1,
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
    ):
        super().__init__()
        _check_config(
            block_out_channels,
            attention_levels,
            num_attention_heads,
            time_embedding_dim,
            frequency_embedding_dim,
            norm_num_groups,
        )
        num_levels = len(block_out_channels) - 1
        conditioning_channels = time_embedding_dim + frequency_embedding_dim

        def level(channels: int, num_res_blocks: int, num_attention_blocks: int) -> UNetLevel:
            return UNetLevel(
                channels,
                num_res_blocks,
                num_attention_blocks,
                num_attention_heads,
                conditioning_channels,
                dropout,
                norm_num_groups,
                norm_eps,
            )

        def attention_blocks(encoder_level: int) -> int:
            return layers_per_block if encoder_level in attention_levels else 0

        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], kernel_size=3, padding=1)
        self.encoder_levels = nn.ModuleList(
            level(block_out_channels[lvl], layers_per_block, attention_blocks(lvl))
            for lvl in range(num_levels)
        )
        self.downsamplers = nn.ModuleList(
            nn.Conv2d(block_out_channels[lvl], block_out_channels[lvl + 1], 3, stride=2, padding=1)
            for lvl in range(num_levels)
        )
        self.middle = level(block_out_channels[-1], num_res_blocks=2, num_attention_blocks=1)
        self.decoder_levels = nn.ModuleList(
            level(
                block_out_channels[num_levels - step],
                layers_per_block,
                attention_blocks(num_levels - 1 - step),
            )
            for step in range(num_levels)
        )
        self.upsamplers = nn.ModuleList(
            Upsample(block_out_channels[level + 1], block_out_channels[level])
            for level in reversed(range(num_levels))
        )
        self.norm_out = GroupNorm32(norm_num_groups, block_out_channels[0], eps=norm_eps)
        self.conv_out = nn.Conv2d(block_out_channels[0], out_channels, kernel_size=3, padding=1)
        self.gradient_checkpointing = False

    @property
    def num_levels(self) -> int:
        """Number of down/up-sampling levels L; freq and frames must be multiples of 2**L."""
        return len(self.config.block_out_channels) - 1

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float,
        return_dict: bool = True,
    ) -> RoPEUNet2DOutput | tuple[torch.Tensor]:
        """Run the network.

        Args:
            sample: x_t, `[batch, in_channels, freq, frames]`, freq and frames multiples of
                2**num_levels (32 for the paper configuration).
            timestep: diffusion time t ∈ [0, 1] (0 clean, 1 degraded): a float, a 0-d tensor,
                or `[batch]`.
            return_dict: return a `RoPEUNet2DOutput` (else a 1-tuple).

        Returns:
            The network output, `[batch, out_channels, freq, frames]`, in the model's dtype.
        """
        timestep = self._check_inputs(sample, timestep)
        sample = sample.to(self.conv_in.weight.dtype)
        rows = sample.shape[2]
        time_features = time_embedding(timestep, self.config.time_embedding_dim)
        conditionings = [
            conditioning_map(time_features, rows >> level, self.config.frequency_embedding_dim).to(
                sample.dtype
            )
            for level in range(self.num_levels + 1)
        ]

        output = self._network(sample, conditionings)
        if _needs_exact_rerun(sample, output):
            warn_once(logger.name, ONEDNN_BF16_NOTICE)
            with torch.backends.mkldnn.flags(enabled=False, allow_tf32=False):
                output = self._network(sample, conditionings)
        if not return_dict:
            return (output,)
        return RoPEUNet2DOutput(sample=output)

    def _network(self, sample: torch.Tensor, conditionings: list[torch.Tensor]) -> torch.Tensor:
        """The UNet proper: `[batch, in_channels, freq, frames]` → `[batch, out_channels, …]`."""
        # Blocks run from here rather than from a level's own forward: a nested call would keep
        # each level's input alive while the level runs (a 128 MB map at level 0 of the paper
        # configuration on a [1, 3, 1024, 256] input).
        hidden_states = self.conv_in(sample)
        skips = []
        for level, (blocks, downsample) in enumerate(
            zip(self.encoder_levels, self.downsamplers, strict=True)
        ):
            for block in blocks.blocks():
                hidden_states = self._run_block(block, hidden_states, conditionings[level])
            hidden_states = downsample(hidden_states)
            skips.append(hidden_states)
        for block in self.middle.blocks():
            hidden_states = self._run_block(block, hidden_states, conditionings[-1])
        for step, (blocks, upsample) in enumerate(
            zip(self.decoder_levels, self.upsamplers, strict=True)
        ):
            hidden_states = hidden_states + skips.pop()
            for block in blocks.blocks():
                hidden_states = self._run_block(block, hidden_states, conditionings[-1 - step])
            hidden_states = upsample(hidden_states)
        return self.conv_out(F.silu(self.norm_out(hidden_states)))

    def _run_block(
        self, block: nn.Module, hidden_states: torch.Tensor, conditioning: torch.Tensor
    ) -> torch.Tensor:
        """Run one block; under gradient checkpointing, recompute it in the backward pass."""
        if torch.is_grad_enabled() and self.gradient_checkpointing:
            return self._gradient_checkpointing_func(block, hidden_states, conditioning)
        return block(hidden_states, conditioning)

    def _check_inputs(self, sample: torch.Tensor, timestep: torch.Tensor | float) -> torch.Tensor:
        """Validate shapes; return t as an fp32 `[batch]` tensor on the sample's device."""
        multiple = 2**self.num_levels
        expected = f"[batch, {self.config.in_channels}, freq, frames]"
        if sample.ndim != 4 or sample.shape[1] != self.config.in_channels:
            raise A2SBInputError(
                f"sample has shape {list(sample.shape)} but the model takes {expected}; "
                f"pass a 4-D tensor with {self.config.in_channels} channels"
            )
        batch, _, rows, frames = sample.shape
        if rows % multiple or frames % multiple or rows == 0 or frames == 0:
            raise A2SBInputError(
                f"sample has {rows} frequency rows and {frames} frames; both must be positive "
                f"multiples of {multiple} (2**{self.num_levels} levels); pad or crop the input"
            )
        timestep = torch.as_tensor(timestep, dtype=torch.float32, device=sample.device)
        if timestep.numel() not in (1, batch) or timestep.ndim > 1:
            raise A2SBInputError(
                f"timestep has shape {list(timestep.shape)} for a batch of {batch}; "
                f"pass one t per sample ([{batch}]) or a single t"
            )
        return timestep.reshape(-1).expand(batch)


def _check_config(
    block_out_channels: tuple[int, ...],
    attention_levels: tuple[int, ...],
    num_attention_heads: int,
    time_embedding_dim: int,
    frequency_embedding_dim: int,
    norm_num_groups: int,
) -> None:
    """Refuse configurations the architecture cannot build, naming the fix."""
    num_levels = len(block_out_channels) - 1
    if num_levels < 1:
        raise A2SBInputError(
            f"block_out_channels {list(block_out_channels)} needs at least two entries "
            "(input level and one downsampled level)"
        )
    if any(channels % norm_num_groups for channels in block_out_channels):
        raise A2SBInputError(
            f"block_out_channels {list(block_out_channels)} must all be multiples of "
            f"norm_num_groups={norm_num_groups}"
        )
    if any(level not in range(num_levels) for level in attention_levels):
        raise A2SBInputError(
            f"attention_levels {list(attention_levels)} must lie in 0..{num_levels - 1} "
            f"for {num_levels} levels"
        )
    encoder_attended = [block_out_channels[level] for level in attention_levels]
    decoder_attended = [block_out_channels[level + 1] for level in attention_levels]
    attended = [*encoder_attended, *decoder_attended, block_out_channels[-1]]
    for channels in attended:
        if channels % num_attention_heads or channels // num_attention_heads < ROTARY_DIM:
            raise A2SBInputError(
                f"{channels} channels cannot be split into {num_attention_heads} attention heads "
                f"of at least {ROTARY_DIM} channels; use fewer heads or wider attention levels"
            )
    if time_embedding_dim % 2 or frequency_embedding_dim % 2:
        raise A2SBInputError(
            f"time_embedding_dim ({time_embedding_dim}) and frequency_embedding_dim "
            f"({frequency_embedding_dim}) must be even (sines and cosines)"
        )


def _needs_exact_rerun(sample: torch.Tensor, output: torch.Tensor) -> bool:
    """Whether a bf16 call on the CPU went wrong in oneDNN: a finite input, a non-finite output.

    oneDNN's bf16 convolutions are about 1.48x faster than fp32 on a CPU with AVX-512 BF16, but
    an earlier version of this network saw them return NaN on narrow maps (2 frames wide, on
    two threads); torch's native bf16 kernels are exact but about 190x slower
    (`benchmarks/cpu_formats.py`).
    """
    if sample.device.type != "cpu" or sample.dtype != torch.bfloat16:
        return False
    if not torch.backends.mkldnn.is_available() or not torch.backends.mkldnn.enabled:
        return False
    return not bool(torch.isfinite(output).all()) and bool(torch.isfinite(sample).all())

"""Building blocks of `RoPEUNet2DModel` (paper §3.4): norm, residual block, RoPE attention, levels.

Every block keeps the tensor layout `[batch, channels, freq, frames]`. The conditioning map of a
level is `[batch, 144, freq, 1]` (band + time embedding, see `embeddings.conditioning_map`) and is
broadcast over frames.
"""

import torch
import torch.nn.functional as F
from torch import nn

from a2sb.models.embeddings import apply_axial_rotary, axial_rotary_angles


class GroupNorm32(nn.GroupNorm):
    """GroupNorm whose statistics and affine are computed in fp32, then cast back.

    Keeps bf16/fp16 runs stable; in fp32 it is exactly `nn.GroupNorm`.
    """

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        normalized = F.group_norm(
            hidden_states.float(), self.num_groups, self.weight.float(), self.bias.float(), self.eps
        )
        return normalized.to(hidden_states.dtype)


class ResidualBlock(nn.Module):
    """Residual block with scale-shift conditioning on band and time embeddings.

    h = conv1(SiLU(GN(x)));  (scale, shift) = conv1×1(SiLU(cond));
    h = conv2(Dropout(SiLU(GN(h)·(1 + scale) + shift)));  out = x + h.
    `conv2` starts at zero, so a fresh block is the identity.
    """

    def __init__(
        self,
        channels: int,
        conditioning_channels: int,
        dropout: float,
        norm_num_groups: int,
        norm_eps: float,
    ):
        super().__init__()
        self.norm1 = GroupNorm32(norm_num_groups, channels, eps=norm_eps)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conditioning_proj = nn.Conv2d(conditioning_channels, 2 * channels, kernel_size=1)
        self.norm2 = GroupNorm32(norm_num_groups, channels, eps=norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, hidden_states: torch.Tensor, conditioning: torch.Tensor) -> torch.Tensor:
        """`hidden_states` `[batch, C, freq, frames]`, `conditioning` `[batch, 144, freq, 1]`."""
        # Fresh intermediates are updated in place, so that besides the input at most two
        # full-size maps are alive in inference; under autograd, PyTorch keeps what the backward
        # pass needs.
        h = self.conv1(F.silu(self.norm1(hidden_states), inplace=True))
        scale, shift = self.conditioning_proj(F.silu(conditioning)).chunk(2, dim=1)
        h = self.norm2(h).mul_(1 + scale).add_(shift)
        h = self.conv2(self.dropout(F.silu(h, inplace=True)))
        return h.add_(hidden_states)


class RoPEAttention(nn.Module):
    """Multi-head self-attention over all freq × frames positions with 2-D axial rotary embedding.

    q, k, v = 1×1 convs of GN(x); channel c of the map is channel c mod d of head ⌊c / d⌋;
    the first 64 channels of every head of q and k are rotated by their (row, column) position
    (`embeddings.apply_axial_rotary`); out = softmax(q kᵀ / √d) v. There is no output
    projection and no residual: the result replaces the stream (as in the released network).
    """

    def __init__(self, channels: int, num_heads: int, norm_num_groups: int, norm_eps: float):
        super().__init__()
        self.num_heads = num_heads
        self.norm = GroupNorm32(norm_num_groups, channels, eps=norm_eps)
        self.to_q = nn.Conv2d(channels, channels, kernel_size=1)
        self.to_k = nn.Conv2d(channels, channels, kernel_size=1)
        self.to_v = nn.Conv2d(channels, channels, kernel_size=1)

    def _split_heads(self, features: torch.Tensor) -> torch.Tensor:
        """`[batch, heads·d, freq, frames]` → `[batch, heads, freq, frames, d]`."""
        return features.unflatten(1, (self.num_heads, -1)).permute(0, 1, 3, 4, 2)

    def forward(
        self, hidden_states: torch.Tensor, conditioning: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`hidden_states` `[batch, C, freq, frames]` → `[batch, C, freq, frames]`.

        `conditioning` is ignored (attention is not conditioned); it is accepted so that every
        block of a level is called the same way.
        """
        batch, channels, height, width = hidden_states.shape
        normalized = self.norm(hidden_states)
        angles = axial_rotary_angles(height, width, hidden_states.device)
        query = apply_axial_rotary(self._split_heads(self.to_q(normalized)), angles)
        key = apply_axial_rotary(self._split_heads(self.to_k(normalized)), angles)
        value = self._split_heads(self.to_v(normalized)).contiguous()
        attended = F.scaled_dot_product_attention(
            query.flatten(2, 3), key.flatten(2, 3), value.flatten(2, 3)
        )
        # contiguous: with one head the reshape would be a channels-last view, on which
        # oneDNN's bf16 stride-2 convolution on the CPU returns NaN for narrow maps.
        return (
            attended.unflatten(2, (height, width))
            .permute(0, 1, 4, 2, 3)
            .reshape(batch, channels, height, width)
            .contiguous()
        )


class UNetLevel(nn.Module):
    """The blocks of one resolution at a fixed channel count: residual block i, then attention i.

    Encoder and decoder levels are [Res, Attn, Res, Attn] (attention levels) or [Res, Res];
    the middle is [Res, Attn, Res]. Resampling lives outside. The model runs the blocks itself
    (`blocks()`), so that no caller keeps a level's input alive while the level runs.
    """

    def __init__(
        self,
        channels: int,
        num_res_blocks: int,
        num_attention_blocks: int,
        num_heads: int,
        conditioning_channels: int,
        dropout: float,
        norm_num_groups: int,
        norm_eps: float,
    ):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResidualBlock(channels, conditioning_channels, dropout, norm_num_groups, norm_eps)
            for _ in range(num_res_blocks)
        )
        self.attentions = nn.ModuleList(
            RoPEAttention(channels, num_heads, norm_num_groups, norm_eps)
            for _ in range(num_attention_blocks)
        )

    def blocks(self) -> list[ResidualBlock | RoPEAttention]:
        """The blocks in the order they run; each is called as `block(hidden_states, cond)`."""
        ordered: list[ResidualBlock | RoPEAttention] = []
        for index, resnet in enumerate(self.resnets):
            ordered.append(resnet)
            if index < len(self.attentions):
                ordered.append(self.attentions[index])
        return ordered


NEAREST_X2_TAP_FOLDING = (((1, 0, 0), (0, 1, 1)), ((1, 1, 0), (0, 0, 1)))
"""P[parity, folded tap, kernel tap]: after nearest ×2, output row 2i (parity 0) reads input rows
(i−1, i) with taps (w₀, w₁ + w₂); output row 2i+1 (parity 1) reads rows (i, i+1) with taps
(w₀ + w₁, w₂). The same holds for columns."""


class Upsample(nn.Module):
    """Nearest-neighbour ×2 in freq and frames, then a 3×3 conv to the next level's channels.

    Computed without building the ×2 map: y = conv3×3(nearest×2(x)) equals, for each output
    parity (a, b), a 2×2 conv of x with the folded kernel K_ab[u, v] = Σ_kl P[a,u,k]·P[b,v,l]·w[k,l]
    (P = `NEAREST_X2_TAP_FOLDING`): y[2i+a, 2j+b] = (K_ab ⋆ pad₁(x))[i+a, j+b]. The same linear
    map with 4/9 of the multiply-adds and no full-size ×2 input.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """`[batch, C_in, freq, frames]` → `[batch, C_out, 2·freq, 2·frames]`."""
        batch, in_channels, height, width = hidden_states.shape
        out_channels = self.conv.out_channels
        weight = self.conv.weight
        folding = torch.tensor(NEAREST_X2_TAP_FOLDING, dtype=weight.dtype, device=weight.device)
        folding = torch.einsum("auk,bvl->abkluv", folding, folding).reshape(2, 2, 9, 4)
        taps = weight.reshape(out_channels * in_channels, 9)
        upsampled = hidden_states.new_empty(batch, out_channels, height, 2, width, 2)
        for row_parity in range(2):
            for col_parity in range(2):
                kernel = taps @ folding[row_parity, col_parity]
                parity = F.conv2d(
                    hidden_states,
                    kernel.view(out_channels, in_channels, 2, 2),
                    self.conv.bias,
                    padding=1,
                )
                upsampled[:, :, :, row_parity, :, col_parity] = parity[
                    :, :, row_parity : row_parity + height, col_parity : col_parity + width
                ]
        return upsampled.view(batch, out_channels, 2 * height, 2 * width)

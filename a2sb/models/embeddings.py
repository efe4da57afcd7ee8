"""Position and time embeddings of the A2SB UNet (paper §3.4).

Three fixed (weightless) encodings, each written once here:
- the diffusion-time embedding, 128 channels that depend on t only,
- the frequency (band) embedding, 16 channels that depend on the frequency row only,
- the 2-D axial rotary angles applied to queries and keys in attention.
Their constants are those of the released checkpoints; changing them breaks the weights.
"""

import math

import torch

TIME_EMBEDDING_MIN_MULTIPLIER = 0.5
TIME_EMBEDDING_MAX_MULTIPLIER = 16.0
FREQUENCY_EMBEDDING_PI = 3.14
"""The released network writes π as the literal 3.14 in the frequency embedding; kept for parity."""

ROTARY_FREQUENCIES_PER_AXIS = 16
ROTARY_MAX_FREQUENCY = 32.0
ROTARY_DIM = 4 * ROTARY_FREQUENCIES_PER_AXIS
"""Channels per head that are rotated: 2 axes × 16 frequencies × 2 (pairs)."""


def time_multipliers(time_embedding_dim: int, device: torch.device | None = None) -> torch.Tensor:
    """m = linspace(0.5, 16, time_embedding_dim / 2) in fp32, `[time_embedding_dim / 2]`."""
    return torch.linspace(
        TIME_EMBEDDING_MIN_MULTIPLIER,
        TIME_EMBEDDING_MAX_MULTIPLIER,
        time_embedding_dim // 2,
        device=device,
    )


def time_embedding(timestep: torch.Tensor, time_embedding_dim: int = 128) -> torch.Tensor:
    """Sinusoidal embedding of the diffusion time t ∈ [0, 1] (raw t, not ×1000).

    e(t) = [sin(t·m_1), …, sin(t·m_n), cos(t·m_1), …, cos(t·m_n)],
    m = linspace(0.5, 16, n), n = time_embedding_dim / 2: all sines, then all cosines.

    Args:
        timestep: t, `[batch]`.
        time_embedding_dim: 2n channels (128 in the released checkpoints).

    Returns:
        `[batch, time_embedding_dim]` in fp32.
    """
    angles = timestep.float()[:, None] * time_multipliers(time_embedding_dim, timestep.device)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def frequency_embedding(
    rows: int, frequency_embedding_dim: int = 16, device: torch.device | None = None
) -> torch.Tensor:
    """Embedding of the frequency row r of a feature map with `rows` rows.

    a_{k,r} = k·r·2·3.14 / (3·rows), k = 1..n, r = 0..rows−1, n = frequency_embedding_dim / 2;
    channels [cos a_{1,r}, …, cos a_{n,r}, sin a_{1,r}, …, sin a_{n,r}].

    Returns:
        `[frequency_embedding_dim, rows]` in fp32.
    """
    harmonics = torch.arange(
        1, frequency_embedding_dim // 2 + 1, device=device, dtype=torch.float32
    )
    row = torch.arange(rows, device=device, dtype=torch.float32)
    angles = harmonics[:, None] * row[None, :] * (2 * FREQUENCY_EMBEDDING_PI / (3 * rows))
    return torch.cat([angles.cos(), angles.sin()], dim=0)


def conditioning_map(
    time_features: torch.Tensor, rows: int, frequency_embedding_dim: int = 16
) -> torch.Tensor:
    """Conditioning of a level with `rows` frequency rows: frequency channels, then time channels.

    The map varies only along frequency, so it is built with one column and broadcast over
    frames by its users (identical math to the full `[batch, 144, rows, frames]` map).

    Args:
        time_features: `time_embedding(t)`, `[batch, time_embedding_dim]`.
        rows: frequency rows H of the level.

    Returns:
        `[batch, frequency_embedding_dim + time_embedding_dim, rows, 1]` in fp32.
    """
    batch, time_dim = time_features.shape
    frequency = frequency_embedding(rows, frequency_embedding_dim, time_features.device)
    frequency = frequency[None, :, :, None].expand(batch, -1, -1, -1)
    time = time_features[:, :, None, None].expand(-1, -1, rows, -1)
    return torch.cat([frequency, time], dim=1)


def rotary_frequencies(device: torch.device | None = None) -> torch.Tensor:
    """ω = π·linspace(1, 32, 16): the angular frequencies of the axial rotary embedding, `[16]`."""
    return math.pi * torch.linspace(
        1.0, ROTARY_MAX_FREQUENCY, ROTARY_FREQUENCIES_PER_AXIS, device=device
    )


def axial_rotary_angles(
    height: int, width: int, device: torch.device | None = None
) -> torch.Tensor:
    """Angles of the 32 rotated channel pairs at every position of a `height × width` map.

    p_row = linspace(−1, 1, height), p_col = linspace(−1, 1, width);
    pair i < 16 turns by ω_i·p_row, pair 16 + i by ω_i·p_col.

    Returns:
        `[height, width, 32]` in fp32.
    """
    omega = rotary_frequencies(device)
    row_angles = torch.linspace(-1.0, 1.0, height, device=device)[:, None] * omega
    col_angles = torch.linspace(-1.0, 1.0, width, device=device)[:, None] * omega
    return torch.cat(
        [
            row_angles[:, None, :].expand(height, width, -1),
            col_angles[None, :, :].expand(height, width, -1),
        ],
        dim=-1,
    )


def apply_axial_rotary(features: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate the first 64 channels of every head as 32 interleaved pairs (2-D RoPE).

    For pair p = (x_{2p}, x_{2p+1}) and angle θ_p:
    (x_{2p}, x_{2p+1}) ← (x_{2p}·cos θ_p − x_{2p+1}·sin θ_p, x_{2p+1}·cos θ_p + x_{2p}·sin θ_p);
    channels 64 and up pass through.

    Args:
        features: queries or keys, `[batch, heads, height, width, head_dim]`, head_dim ≥ 64.
        angles: `axial_rotary_angles(height, width)`, `[height, width, 32]`.

    Returns:
        Same shape and dtype as `features`.
    """
    rotated, passed = features[..., :ROTARY_DIM], features[..., ROTARY_DIM:]
    pairs = rotated.unflatten(-1, (ROTARY_DIM // 2, 2))
    even, odd = pairs.unbind(-1)
    cos, sin = angles.cos().to(features.dtype), angles.sin().to(features.dtype)
    turned = torch.stack([even * cos - odd * sin, odd * cos + even * sin], dim=-1).flatten(-2)
    return torch.cat([turned, passed], dim=-1)

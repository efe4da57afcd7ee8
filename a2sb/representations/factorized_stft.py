"""The factorized STFT of A2SB: magnitude^0.25, cos φ, sin φ (paper §3.1, §3.3)."""

from __future__ import annotations

import torch
from diffusers.configuration_utils import register_to_config

from a2sb.representations.base import STFTRepresentation

PHASE_EPS = 1e-8
"""Below this norm a (cos, sin) pair carries no direction and becomes (1, 0)."""


def orthogonalize_phase(
    cos: torch.Tensor, sin: torch.Tensor, eps: float = PHASE_EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Project each (cos, sin) pair onto the unit circle (paper eqs. 13–16).

    (c, s) ← (c, s) / ‖(c, s)‖; a pair with norm below `eps` has no direction and becomes
    (1, 0), the phase of a zero bin.

    Args:
        cos: the cosine channel, any shape.
        sin: the sine channel, the same shape.

    Returns:
        `(cos, sin)` with cos² + sin² = 1 everywhere.
    """
    power = cos * cos + sin * sin
    degenerate = power < eps * eps
    inverse_norm = power.clamp_min_(eps * eps).rsqrt_()
    return (
        (cos * inverse_norm).masked_fill_(degenerate, 1.0),
        (sin * inverse_norm).masked_fill_(degenerate, 0.0),
    )


def phase_orthogonalization_error(tensor: torch.Tensor) -> torch.Tensor:
    """How far the (cos, sin) channels are from the unit circle, per bin (paper eq. 18).

    e = 2 (√(c² + s²) − 1)²

    Args:
        tensor: factorized spectrogram `[batch, 3, freq, frames]`.

    Returns:
        `[batch, freq, frames]`.
    """
    return 2 * (torch.hypot(tensor[:, 1], tensor[:, 2]) - 1) ** 2


class FactorizedSTFT(STFTRepresentation):
    """Three channels per bin: |S|^0.25, cos θ, sin θ, with θ = atan2(Im S, Re S).

    The power 0.25 compresses the magnitude's dynamic range; the phase is stored as a point of
    the unit circle, which the decoder re-normalises (phase orthogonalization) before the
    inverse STFT. A zero bin encodes as (0, 1, 0). The released checkpoints computed the
    magnitude channel as m·m^0.25 / (m + 1e-9), which equals m^0.25 except in bins quieter
    than ~1e-9; this class uses the exact power so that decode inverts encode.

    Args:
        n_fft: STFT size (and Hann window length).
        hop_length: samples between frames.
        sampling_rate: audio rate the representation is defined for.
        magnitude_power: p in |S|^p; decode raises to 1/p.
    """

    channels = 3

    @register_to_config
    def __init__(
        self,
        n_fft: int = 2048,
        hop_length: int = 512,
        sampling_rate: int = 44100,
        magnitude_power: float = 0.25,
    ):
        super().__init__(n_fft=n_fft, hop_length=hop_length, sampling_rate=sampling_rate)

    def spectrum_to_tensor(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Complex `[batch, freq, frames]` → `[batch, 3, freq, frames]` (m^p, cos θ, sin θ).

        With P = Re² + Im²: m^p = P^(p/2), cos θ = Re / √P, sin θ = Im / √P; (1, 0) where P = 0.
        """
        real, imag = torch.view_as_real(spectrum).unbind(-1)
        power = real * real + imag * imag
        zero = power == 0
        inverse_magnitude = power.masked_fill(zero, 1.0).rsqrt_()
        return torch.stack(
            [
                power.pow_(self.config.magnitude_power / 2),
                (real * inverse_magnitude).masked_fill_(zero, 1.0),
                imag * inverse_magnitude,
            ],
            dim=1,
        )

    def tensor_to_spectrum(self, tensor: torch.Tensor) -> torch.Tensor:
        """`[batch, 3, freq, frames]` → complex `[batch, freq, frames]`.

        m̂ = sign(y)·|y|^(1/p) of channel 0, then the phase is orthogonalized (eqs. 13–16).
        """
        compressed = tensor[:, 0]
        magnitude = compressed.abs().pow(1 / self.config.magnitude_power) * compressed.sign()
        cos, sin = orthogonalize_phase(tensor[:, 1], tensor[:, 2])
        return torch.complex(magnitude * cos, magnitude * sin)

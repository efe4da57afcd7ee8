"""The plain two-channel STFT (Re S, Im S), for comparison with the factorized one (paper §4.5)."""

from __future__ import annotations

import torch
from diffusers.configuration_utils import register_to_config

from a2sb.representations.base import STFTRepresentation


class ComplexSTFT(STFTRepresentation):
    """Two channels per bin: the real and imaginary parts of the STFT, unscaled.

    Args:
        n_fft: STFT size (and Hann window length).
        hop_length: samples between frames.
        sampling_rate: audio rate the representation is defined for.
    """

    channels = 2

    @register_to_config
    def __init__(self, n_fft: int = 2048, hop_length: int = 512, sampling_rate: int = 44100):
        super().__init__(n_fft=n_fft, hop_length=hop_length, sampling_rate=sampling_rate)

    def spectrum_to_tensor(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Complex `[batch, freq, frames]` → `[batch, 2, freq, frames]` (Re, Im)."""
        return torch.stack([spectrum.real, spectrum.imag], dim=1)

    def tensor_to_spectrum(self, tensor: torch.Tensor) -> torch.Tensor:
        """`[batch, 2, freq, frames]` → complex `[batch, freq, frames]`."""
        return torch.complex(tensor[:, 0], tensor[:, 1])

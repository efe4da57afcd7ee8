"""Waveform ⇄ spectrogram-tensor transforms, swappable by configuration.

Every representation has `encode(waveform) -> tensor`, `decode(tensor, length) -> waveform`,
`channels`, `freq_bins`, `hop_length`, `frames_for(samples)` and `row_for_frequency(hz)`.
`representation_from_config` rebuilds one from a saved `representation_config.json`;
`StreamedSpectrum` and `OverlapAddDecoder` run the STFT and its inverse block by block.
"""

from __future__ import annotations

from typing import Any

from a2sb.errors import A2SBInputError
from a2sb.representations.base import STFTRepresentation
from a2sb.representations.complex_stft import ComplexSTFT
from a2sb.representations.factorized_stft import (
    FactorizedSTFT,
    orthogonalize_phase,
    phase_orthogonalization_error,
)
from a2sb.representations.streamed_stft import OverlapAddDecoder, StreamedSpectrum

REPRESENTATIONS: dict[str, type[STFTRepresentation]] = {
    "FactorizedSTFT": FactorizedSTFT,
    "ComplexSTFT": ComplexSTFT,
}
"""The representations a saved configuration may name, by class name."""


def representation_from_config(config: dict[str, Any]) -> STFTRepresentation:
    """Rebuild a representation from its saved configuration.

    Args:
        config: the contents of a `representation_config.json`, which names the class in
            `_class_name` (as `save_config` writes it).
    """
    class_name = config.get("_class_name")
    if class_name not in REPRESENTATIONS:
        raise A2SBInputError(
            f"unknown representation {class_name!r} in the configuration; "
            f"known: {', '.join(REPRESENTATIONS)}"
        )
    return REPRESENTATIONS[class_name].from_config(config)


__all__ = [
    "REPRESENTATIONS",
    "ComplexSTFT",
    "FactorizedSTFT",
    "OverlapAddDecoder",
    "STFTRepresentation",
    "StreamedSpectrum",
    "orthogonalize_phase",
    "phase_orthogonalization_error",
    "representation_from_config",
]

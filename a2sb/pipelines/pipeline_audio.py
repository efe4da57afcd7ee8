"""Audio arrays at the pipeline's boundary: what `__call__` takes in and gives back."""

from __future__ import annotations

import numpy as np
import torch

from a2sb.errors import A2SBInputError
from a2sb.io.audio import check_waveform, resample


def batch_at_rate(
    audio: np.ndarray | torch.Tensor, sampling_rate: int, model_rate: int
) -> np.ndarray:
    """Validate the input and bring it to `[batch, channels, samples]` float32 at `model_rate`.

    Args:
        audio: `[samples]`, `[channels, samples]` or `[batch, channels, samples]`, float.
        sampling_rate: its rate, a positive integer.
        model_rate: the representation's rate (44.1 kHz); resampled with soxr.
    """
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().float().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, None]
    elif audio.ndim == 2:
        audio = audio[None]
    elif audio.ndim != 3:
        raise A2SBInputError(
            f"audio has shape {audio.shape}; pass [samples], [channels, samples] or "
            "[batch, channels, samples]"
        )
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int) or sampling_rate <= 0:
        raise A2SBInputError(
            f"sampling_rate={sampling_rate!r} must be a positive integer (samples per second)"
        )
    for item in audio:
        check_waveform(item, name="the input audio")
    return np.stack([resample(item, sampling_rate, model_rate) for item in audio])


def resampled_to_length(
    waveform: torch.Tensor, model_rate: int, rate: int, length: int
) -> torch.Tensor:
    """`[items, channels, samples]` at `model_rate` → at `rate`, exactly `length` samples long
    (the input's duration; a resampler's rounding is cropped or padded away)."""
    if rate != model_rate:
        resampled = [resample(item, model_rate, rate) for item in waveform.numpy()]
        waveform = torch.from_numpy(np.stack(resampled))
    waveform = waveform[..., :length]
    return torch.nn.functional.pad(waveform, (0, length - waveform.shape[-1]))

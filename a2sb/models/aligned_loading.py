"""Loaded weights in memory of their own, so that a reloaded model computes bit for bit alike.

safetensors maps the weights file, so a loaded tensor can start at any byte of it; CPU kernels
then take unaligned code paths whose rounding differs (by an ulp) from that of the same model
built in memory. `AlignedLoadingMixin.from_pretrained` copies such tensors once after loading.
"""

import torch


def own_weight_memory(module: torch.nn.Module) -> torch.nn.Module:
    """Copy every CPU parameter and buffer that is not 64-byte aligned into fresh memory."""
    for tensor in [*module.parameters(), *module.buffers()]:
        if tensor.device.type == "cpu" and tensor.data_ptr() % 64:
            tensor.data = tensor.data.clone()
    return module


class AlignedLoadingMixin:
    """For a diffusers `ModelMixin`: `from_pretrained` returns weights in aligned memory."""

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        return own_weight_memory(super().from_pretrained(*args, **kwargs))

"""Where and in which precision `a2sb restore` runs the model: `--device`, `--dtype`."""

from __future__ import annotations

import torch

from a2sb.errors import A2SBInputError

TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
"""`--dtype` names and the weights' dtype they load."""


def resolve_device_kind(requested: str, force_cpu: bool = False) -> str:
    """ "cuda", "mps" or "cpu": what `--device` asks for, checked against this machine.

    Args:
        requested: "auto", "cuda", "mps" or "cpu".
        force_cpu: make "auto" choose the CPU (as `accelerate launch --cpu` asks).

    Raises:
        A2SBInputError: the requested accelerator is not available.
    """
    if requested == "auto":
        if force_cpu:
            return "cpu"
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise A2SBInputError(
            f"--device cuda: CUDA is not available (torch {torch.__version__} finds no NVIDIA "
            "GPU); use --device cpu, or --device auto to take what this machine has"
        )
    if requested == "mps" and not torch.backends.mps.is_available():
        raise A2SBInputError(
            "--device mps: Apple's MPS is not available on this machine; use --device cpu, or "
            "--device auto to take what this machine has"
        )
    return requested


def process_device(kind: str, local_process_index: int) -> torch.device:
    """The device of one process: its own GPU (by local rank) for "cuda", else `kind`."""
    if kind == "cuda":
        return torch.device("cuda", local_process_index)
    return torch.device(kind)

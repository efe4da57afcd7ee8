"""Where and in which precision `a2sb restore` runs the model: `--device`, `--dtype`."""

from __future__ import annotations

from pathlib import Path

import torch

from a2sb.errors import A2SBInputError
from a2sb.names import TORCH_DTYPE_NAMES

TORCH_DTYPES = {name: getattr(torch, dtype) for name, dtype in TORCH_DTYPE_NAMES.items()}
"""`--dtype` names and the weights' dtype they load (`--dtype auto` resolves to one of them)."""

BF16_INSTRUCTIONS = {"avx512_bf16", "amx_bf16"}
"""CPU flags of the instructions that make oneDNN's bf16 kernels faster than fp32."""


def cpu_flags() -> set[str]:
    """The feature flags of the first CPU in /proc/cpuinfo (empty where there is none)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def cpu_runs_bf16_fast(flags: set[str]) -> bool:
    """Whether bf16 runs on oneDNN's kernels with AVX-512 BF16 here (a2sb-small's UNet 1.48x
    faster than fp32, docs/performance.md), not on torch's slow native ones."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and bool(flags & BF16_INSTRUCTIONS)


def resolve_dtype(requested: str, device: torch.device) -> str:
    """ "fp32", "bf16" or "fp16": what `--dtype` asks for, "auto" resolved for `device`.

    "auto" is bf16 on a CPU whose oneDNN kernels run it fast (AVX-512 BF16; the UNet recomputes
    any non-finite result with exact kernels), fp32 everywhere else.
    """
    if requested != "auto":
        return requested
    if device.type == "cpu" and cpu_runs_bf16_fast(cpu_flags()):
        return "bf16"
    return "fp32"


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

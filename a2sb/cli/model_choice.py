"""Which model the command line loads, and loading it: shared by `a2sb restore` and `a2sb app`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers.utils import logging as diffusers_logging

from a2sb.cli.console import Console
from a2sb.cli.devices import TORCH_DTYPES, resolve_dtype
from a2sb.errors import A2SBInputError, first_line
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.bundled_model import BUNDLED_MODEL_NAME
from a2sb.pipelines.pipeline_sources import looks_like_hub_id


@dataclass(frozen=True)
class ModelChoice:
    """The model options of a command.

    Attributes:
        model: a folder, a Hub id or the bundled model's name.
        release_variant: for the released model: "twosplit" or "onesplit".
        trust_checkpoint: unpickle a released checkpoint fully if it must.
        dtype: "auto", "fp32", "bf16" or "fp16" (`a2sb.cli.devices.resolve_dtype`).
        device: "auto", "cuda", "mps" or "cpu".
    """

    model: str = BUNDLED_MODEL_NAME
    release_variant: str = "twosplit"
    trust_checkpoint: bool = False
    dtype: str = "auto"
    device: str = "auto"


def check_model_source(model: str) -> None:
    """Refuse a `--model` that names a local path that does not exist.

    A Hub id is `owner/name` (`looks_like_hub_id`); anything else (`./x`, `/x/y`, `a/b/c`,
    `~/x`) is a path, except the name of the bundled model.
    """
    if model == BUNDLED_MODEL_NAME:
        return
    if not Path(model).expanduser().exists() and not looks_like_hub_id(model):
        raise A2SBInputError(
            f"--model {model}: no such folder; check the path, or give a Hub id (owner/name) "
            f"or {BUNDLED_MODEL_NAME}"
        )


FP16_ON_CPU = (
    "warning: --dtype fp16 on the CPU runs torch's slow half-precision kernels (a2sb-small: "
    "about 190x slower than fp32 on a 2-core x86 CPU, docs/performance.md); use fp32, or bf16 "
    "(oneDNN's kernels: faster than fp32 on CPUs with AVX-512 BF16)"
)


def load_pipeline(choice: ModelChoice, device: torch.device, console: Console) -> A2SBPipeline:
    """The pipeline of `choice` on `device` in its dtype ("auto" resolved for the device), its
    progress bar set for this process; fp16 on the CPU is loaded as asked, with a warning that it
    is far slower there."""
    dtype = resolve_dtype(choice.dtype, device)
    console.say(f"loading {choice.model} on {device} ({dtype})")
    if device.type == "cpu" and dtype == "fp16":
        console.write(FP16_ON_CPU)
    if console.quiet:
        diffusers_logging.disable_progress_bar()
    try:
        pipeline = A2SBPipeline.from_pretrained(
            choice.model,
            release_variant=choice.release_variant,
            trust_checkpoint=choice.trust_checkpoint,
            dtype=TORCH_DTYPES[dtype],
        )
    except OSError as error:
        reason = first_line(error)
        raise A2SBInputError(
            f"cannot load the model {choice.model} ({reason}); check the Hub id or "
            "the folder, and the network (or pass a local folder)"
        ) from error
    pipeline.to(device)
    pipeline.set_progress_bar_config(
        desc=console.prefix,
        leave=False,
        position=2 * console.process_index + 1,
        disable=console.quiet,
    )
    return pipeline

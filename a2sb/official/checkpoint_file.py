"""Read the state dict of a checkpoint file safely: `weights_only` unless the caller trusts it.

A pickle can run code when it is unpickled. Release files are read with `weights_only=True`
(tensors and plain containers only); anything more stops loading with an error naming the
explicit opt-in, `trust_checkpoint=True` (`--trust-checkpoint` on the command line).
"""

import pickle
import re
import zipfile
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import torch

from a2sb.errors import A2SBInputError

_REFUSED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


def load_official_checkpoint(
    path: str | Path, trust_checkpoint: bool = False
) -> dict[str, torch.Tensor]:
    """Read the state dict of a release file (Lightning `.ckpt` or a bare state dict).

    The pickle is read with `weights_only=True` (tensors and plain containers only) and
    memory-mapped when the file is in the zip format. If it holds anything else, loading stops
    with an error naming the opt-in: `trust_checkpoint=True` unpickles the file fully, which can
    run arbitrary code — use it only for a file you trust.
    """
    path = check_checkpoint_exists(path)
    try:
        checkpoint = torch.load(
            path,
            map_location="cpu",
            weights_only=not trust_checkpoint,
            mmap=zipfile.is_zipfile(path),
        )
    except (
        pickle.UnpicklingError,
        ImportError,
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
    ) as error:
        refused_global = _REFUSED_GLOBAL.search(str(error))
        if refused_global is None:
            raise A2SBInputError(
                f"checkpoint {path} could not be read ({type(error).__name__}: "
                f"{_short_reason(error)}); pass a PyTorch/Lightning checkpoint file"
            ) from error
        raise A2SBInputError(
            f"checkpoint {path} holds more than tensors ({refused_global.group(1)}), which "
            "weights-only loading refuses; if you trust this file, pass --trust-checkpoint "
            "(trust_checkpoint=True in Python) to unpickle it fully"
        ) from error
    state_dict = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or not all(
        isinstance(value, torch.Tensor) for value in state_dict.values()
    ):
        raise A2SBInputError(
            f"checkpoint {path} holds no state dict of tensors; pass a Lightning checkpoint "
            "with a 'state_dict' entry or a bare state dict"
        )
    return state_dict


def check_checkpoint_exists(path: str | Path) -> Path:
    """`path` as a `Path`, refused unless it is a file."""
    path = Path(path)
    if not path.is_file():
        raise A2SBInputError(f"checkpoint {path} does not exist; check the path")
    return path


def checkpoint_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """One path or several as a list of `Path`s, refused when there is none."""
    paths = [paths] if isinstance(paths, str | PathLike) else list(paths)
    if not paths:
        raise A2SBInputError("no checkpoint given; pass at least one release .ckpt file")
    return [Path(path) for path in paths]


def _short_reason(error: Exception) -> str:
    """The telling line of a loading error (torch's weights-only errors bury it mid-text)."""
    detail = str(error).split("WeightsUnpickler error:", 1)[-1]
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    return lines[0] if lines else "no details"

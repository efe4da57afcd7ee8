"""Checkpoint folders of a run: `OUTPUT_DIR/checkpoints/step-00001000/`.

Each holds the Accelerate state (weights, optimizer, EMA, every rank's random states),
`training_state.json` with the step, and `pipeline/`, a ready `A2SBPipeline` of that step.
A checkpoint is written into a hidden `.step-00001000.partial/` renamed once complete
(`a2sb.io.atomic_output`), so a full disk or a kill during a save leaves the earlier checkpoints
as they were, and resuming from "latest" takes the latest complete one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from a2sb.errors import A2SBInputError
from a2sb.io.atomic_output import PARTIAL_TAG, remove_quietly

CHECKPOINTS_FOLDER = "checkpoints"
STATE_FILE = "training_state.json"
PIPELINE_FOLDER = "pipeline"


def checkpoint_path(output_dir: str | os.PathLike, step: int) -> Path:
    """The folder of the checkpoint after `step` optimizer steps."""
    return Path(output_dir) / CHECKPOINTS_FOLDER / f"step-{step:08d}"


def write_step(checkpoint: Path, step: int) -> None:
    """Record the optimizer step a checkpoint was taken after."""
    (checkpoint / STATE_FILE).write_text(json.dumps({"step": step}) + "\n")


def read_step(checkpoint: Path) -> int:
    """The optimizer step a checkpoint was taken after."""
    state_file = checkpoint / STATE_FILE
    if not state_file.is_file():
        raise A2SBInputError(
            f"{checkpoint} is not a complete a2sb training checkpoint (no {STATE_FILE}); pass a "
            f"folder of {Path('OUTPUT_DIR') / CHECKPOINTS_FOLDER}, or 'latest'"
        )
    return int(json.loads(state_file.read_text())["step"])


def list_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """The complete checkpoints of a run, oldest first."""
    folder = Path(output_dir) / CHECKPOINTS_FOLDER
    if not folder.is_dir():
        return []
    complete = [path for path in folder.glob("step-*") if (path / STATE_FILE).is_file()]
    return sorted(complete, key=read_step)


def resolve_resume(output_dir: str | os.PathLike, resume_from: str | None) -> Path | None:
    """The checkpoint to resume from: None, "latest" (None when the run has none) or a folder."""
    if resume_from is None:
        return None
    if resume_from == "latest":
        checkpoints = list_checkpoints(output_dir)
        return checkpoints[-1] if checkpoints else None
    checkpoint = Path(resume_from)
    if not checkpoint.is_dir():
        raise A2SBInputError(
            f"checkpoint {checkpoint} does not exist; pass a folder of "
            f"{Path(output_dir) / CHECKPOINTS_FOLDER}, or checkpointing.resume_from=latest"
        )
    read_step(checkpoint)
    return checkpoint


def remove_old_checkpoints(output_dir: str | os.PathLike, total_limit: int | None) -> list[Path]:
    """Delete the oldest checkpoints beyond `total_limit`; returns the deleted folders."""
    if total_limit is None:
        return []
    checkpoints = list_checkpoints(output_dir)
    removed = checkpoints[: max(len(checkpoints) - total_limit, 0)]
    for checkpoint in removed:
        shutil.rmtree(checkpoint)
    return removed


def remove_unfinished_checkpoints(output_dir: str | os.PathLike) -> None:
    """Delete the partial folders of saves that were killed midway."""
    for unfinished in (Path(output_dir) / CHECKPOINTS_FOLDER).glob(f".step-*{PARTIAL_TAG}"):
        remove_quietly(unfinished)


def failed_save_note(output_dir: str | os.PathLike) -> str:
    """What is still usable after a save failed: the latest complete checkpoint, if any."""
    checkpoints = list_checkpoints(output_dir)
    if not checkpoints:
        return " (no earlier checkpoint of this run)"
    return (
        f" (the checkpoint {checkpoints[-1]} is intact: resume from it with "
        "checkpointing.resume_from=latest)"
    )

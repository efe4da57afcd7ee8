"""The two restoration tasks, and the names a person may give them (paper §3.2).

One owner for the pipeline, the evaluation and the command line: `Task` is what the library
passes around; `TASK_NAMES` maps what a user types (`--task bwe`) to it.
"""

from __future__ import annotations

from typing import Literal

Task = Literal["bandwidth_extension", "inpainting"]
TASKS: tuple[Task, ...] = ("bandwidth_extension", "inpainting")

TASK_NAMES: dict[str, Task] = {
    "bandwidth-extension": "bandwidth_extension",
    "bandwidth_extension": "bandwidth_extension",
    "bwe": "bandwidth_extension",
    "inpainting": "inpainting",
    "inpaint": "inpainting",
}
"""What `--task` accepts, and the task each name means."""

"""The names a person gives the library's choices: tasks, samplers, window schedules, number
formats.

They live here, apart from the code they name, so that the command line can offer them as
choices without importing torch (`a2sb.allocator` must tune malloc before torch loads), and
so that each list exists once: the pipeline, the evaluation and the command line read it here.
"""

from __future__ import annotations

from typing import Literal, get_args

Task = Literal["bandwidth_extension", "inpainting"]
"""The two restoration tasks (paper §3.2)."""

TASKS: tuple[Task, ...] = get_args(Task)

TASK_NAMES: dict[str, Task] = {
    "bandwidth-extension": "bandwidth_extension",
    "bandwidth_extension": "bandwidth_extension",
    "bwe": "bandwidth_extension",
    "inpainting": "inpainting",
    "inpaint": "inpainting",
}
"""What `--task` accepts, and the task each name means."""

SAMPLERS = {
    "i2sb": "a2sb.schedulers.scheduling_i2sb:I2SBScheduler",
    "dbim": "a2sb.schedulers.scheduling_dbim:DBIMScheduler",
}
"""The registry of bridge samplers: each name and its scheduler class, as "module:Class".

i2sb is the released stochastic sampler (paper eq. 19); dbim the implicit one
(docs/concepts.md, "Fast sampling with DBIM"). A sampler is one file,
`a2sb/schedulers/scheduling_<name>.py`, and one line here. Everything that lists samplers
derives from this mapping: the command line's `--sampler` choices, `with_sampler`, every
scheduler's `compatibles` (what `from_config` swaps between) and the `BridgeScheduler` type.
The classes are imported only when `a2sb.schedulers.registry` resolves them, so that this
module stays free of torch."""

SAMPLER_NAMES = tuple(SAMPLERS)

WindowSchedule = Literal["overlap", "shifted"]
"""overlap: the released MultiDiffusion windows; shifted: side by side, seams moving
(docs/concepts.md, "Shifted windows")."""

WINDOW_SCHEDULES: tuple[WindowSchedule, ...] = get_args(WindowSchedule)

TORCH_DTYPE_NAMES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
"""The model's number formats (`--dtype`), each with the name of its `torch` dtype."""

DTYPES = ("auto", *TORCH_DTYPE_NAMES)
"""What `--dtype` accepts; "auto" is bf16 on a CPU with AVX-512 BF16, else fp32
(`a2sb.cli.devices.resolve_dtype`)."""


def steps_text(num_inference_steps: int) -> str:
    """`1 step`, `10 steps`: a step count for people."""
    return f"{num_inference_steps} step{'' if num_inference_steps == 1 else 's'}"

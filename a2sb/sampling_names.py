"""The names of the bridge samplers and of the window schedules.

They live here, apart from the code they name, so that the command line can offer them as
choices without importing torch (`a2sb.cli.allocator` must tune malloc before torch loads).
"""

SAMPLERS = {
    "i2sb": "a2sb.schedulers.scheduling_i2sb:I2SBScheduler",
    "dbim": "a2sb.schedulers.scheduling_dbim:DBIMScheduler",
}
"""The registry of bridge samplers: each name and its scheduler class, as "module:Class".

A sampler is one file, `a2sb/schedulers/scheduling_<name>.py`, and one line here. Everything
that lists samplers derives from this mapping: the command line's `--sampler` choices,
`with_sampler`, every scheduler's `compatibles` (what `from_config` swaps between) and the
`BridgeScheduler` type. The classes are imported only when `a2sb.schedulers.registry` resolves
them, so that this module stays free of torch."""

SAMPLER_NAMES = tuple(SAMPLERS)
"""i2sb: the released stochastic sampler (paper eq. 19); dbim: the implicit one
(docs/concepts.md, "Fast sampling with DBIM")."""

WINDOW_SCHEDULES = ("overlap", "shifted")
"""overlap: the released MultiDiffusion windows; shifted: side by side, seams moving
(docs/concepts.md, "Shifted windows")."""


def steps_text(num_inference_steps: int) -> str:
    """`1 step`, `10 steps`: a step count for people."""
    return f"{num_inference_steps} step{'' if num_inference_steps == 1 else 's'}"

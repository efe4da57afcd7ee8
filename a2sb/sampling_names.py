"""The names of the bridge samplers and of the window schedules.

They live here, apart from the code they name, so that the command line can offer them as
choices without importing torch (`a2sb.cli.allocator` must tune malloc before torch loads).
"""

SAMPLER_NAMES = ("i2sb", "dbim")
"""i2sb: the released stochastic sampler (paper eq. 19); dbim: the implicit one
(docs/concepts.md, "Fast sampling with DBIM")."""

WINDOW_SCHEDULES = ("overlap", "shifted")
"""overlap: the released MultiDiffusion windows; shifted: side by side, seams moving
(docs/concepts.md, "Shifted windows")."""


def steps_text(num_inference_steps: int) -> str:
    """`1 step`, `10 steps`: a step count for people."""
    return f"{num_inference_steps} step{'' if num_inference_steps == 1 else 's'}"

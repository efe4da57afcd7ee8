"""The bridge samplers by name, and swapping one for another on the same bridge.

    pipe.scheduler = with_sampler(pipe.scheduler, "dbim", eta=0.0)

is `DBIMScheduler.from_config(pipe.scheduler.config, eta=0.0)`, checked: the command line and
the web app choose samplers through it.
"""

from __future__ import annotations

from a2sb.errors import A2SBInputError
from a2sb.sampling_names import SAMPLER_NAMES, steps_text
from a2sb.schedulers.scheduling_dbim import DBIMScheduler, check_eta
from a2sb.schedulers.scheduling_i2sb import I2SBScheduler

SAMPLERS: dict[str, type[I2SBScheduler] | type[DBIMScheduler]] = dict(
    zip(SAMPLER_NAMES, (I2SBScheduler, DBIMScheduler), strict=True)
)
"""The scheduler of each name of `a2sb.sampling_names.SAMPLER_NAMES`."""


def sampler_name(scheduler: I2SBScheduler | DBIMScheduler) -> str:
    """The name of a scheduler's sampler in `SAMPLERS`."""
    return next(name for name, cls in SAMPLERS.items() if isinstance(scheduler, cls))


def with_sampler(
    scheduler: I2SBScheduler | DBIMScheduler, sampler: str | None, eta: float | None = None
) -> I2SBScheduler | DBIMScheduler:
    """`scheduler`'s bridge with another sampler, or with another eta.

    Args:
        scheduler: the pipeline's scheduler; its bridge (beta_max, t_min, partitions) is kept.
        sampler: "i2sb", "dbim", or None to keep the scheduler's own sampler.
        eta: DBIM's share of fresh noise in [0, 1]; None keeps the scheduler's (or DBIM's
            default 0 when switching to DBIM).

    Returns:
        `scheduler` itself when nothing changes, else a new scheduler.
    """
    if sampler is not None and sampler not in SAMPLERS:
        raise A2SBInputError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    target = SAMPLERS[sampler] if sampler is not None else type(scheduler)
    if eta is not None:
        if target is not DBIMScheduler:
            raise A2SBInputError(
                "eta is an option of the dbim sampler; pass --sampler dbim with --eta, "
                "or drop --eta"
            )
        check_eta(eta)
    if target is type(scheduler) and eta is None:
        return scheduler
    options = {"eta": eta} if eta is not None else {}
    return target.from_config(scheduler.config, **options)


def describe_sampler(
    scheduler: I2SBScheduler | DBIMScheduler, num_inference_steps: int, window_schedule: str
) -> str:
    """One line for people: `dbim (eta 0), 8 steps, shifted windows`."""
    name = sampler_name(scheduler)
    if name == "dbim":
        name += f" (eta {scheduler.config.eta:g})"
    elif scheduler.config.ot_ode:
        name += " (ot_ode)"
    return f"{name}, {steps_text(num_inference_steps)}, {window_schedule} windows"

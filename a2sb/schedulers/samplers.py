"""Swapping one bridge sampler for another on the same bridge, by name.

    pipe.scheduler = with_sampler(pipe.scheduler, "dbim", eta=0.0)

is `DBIMScheduler.from_config(pipe.scheduler.config, eta=0.0)`, checked: the command line and
the web app choose samplers through it. The names are those of the registry,
`a2sb.names.SAMPLERS`.
"""

from __future__ import annotations

from a2sb.errors import A2SBInputError
from a2sb.names import steps_text
from a2sb.schedulers.bridge_scheduler import BridgeSchedulerMixin
from a2sb.schedulers.registry import (
    config_keys,
    sampler_name,
    samplers_with_option,
    scheduler_class,
)


def with_sampler(
    scheduler: BridgeSchedulerMixin, sampler: str | None, eta: float | None = None
) -> BridgeSchedulerMixin:
    """`scheduler`'s bridge with another sampler, or with another eta.

    Args:
        scheduler: the pipeline's scheduler; its bridge (beta_max, t_min, partitions) is kept.
        sampler: a name of the registry ("i2sb", "dbim"), or None to keep the scheduler's own
            sampler.
        eta: DBIM's share of fresh noise in [0, 1]; None keeps the scheduler's (or the one it
            had before a swap, else DBIM's default 0).

    Returns:
        `scheduler` itself when nothing changes, else a new scheduler.
    """
    target = scheduler_class(sampler) if sampler is not None else type(scheduler)
    if eta is not None:
        check_takes_eta(target)
    if target is type(scheduler) and eta is None:
        return scheduler
    options = {"eta": eta} if eta is not None else {}
    return target.from_config(scheduler.config, **options)


def check_takes_eta(target: type[BridgeSchedulerMixin]) -> None:
    """Refuse an eta for a scheduler class whose config has none."""
    if "eta" not in config_keys(target):
        takers = samplers_with_option("eta")
        raise A2SBInputError(
            f"--eta is an option of the {', '.join(takers)} sampler; pass --sampler {takers[0]}, "
            "or drop --eta"
        )


def describe_sampler(
    scheduler: BridgeSchedulerMixin, num_inference_steps: int, window_schedule: str
) -> str:
    """One line for people: `dbim (eta 0), 8 steps, shifted windows`."""
    options = scheduler.describe_options()
    name = sampler_name(scheduler) + (f" ({options})" if options else "")
    return f"{name}, {steps_text(num_inference_steps)}, {window_schedule} windows"

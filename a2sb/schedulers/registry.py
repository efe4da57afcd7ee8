"""The bridge samplers by name: the scheduler classes of `a2sb.names.SAMPLERS`.

The registry itself is a torch-free mapping of names to "module:Class" (the command line offers
its names before torch loads); this module imports the classes it names, on first use. A
scheduler's module imports the shared core (`bridge_scheduler`), which asks this registry for
`compatibles`: importing lazily keeps that from being a cycle.
"""

from __future__ import annotations

import importlib
import inspect

from diffusers import SchedulerMixin

from a2sb.errors import A2SBInputError
from a2sb.names import SAMPLERS


def scheduler_class(name: str) -> type[SchedulerMixin]:
    """The scheduler class of the sampler `name` (`"i2sb"`, `"dbim"`, …).

    Raises:
        A2SBInputError: `name` is not in the registry.
    """
    if name not in SAMPLERS:
        raise A2SBInputError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    module_name, _, class_name = SAMPLERS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def scheduler_classes() -> list[type[SchedulerMixin]]:
    """The scheduler class of every registered sampler, in the registry's order."""
    return [scheduler_class(name) for name in SAMPLERS]


def sampler_name(scheduler: SchedulerMixin) -> str:
    """The registered name of a scheduler's sampler (of the first class it is an instance of)."""
    return next(name for name in SAMPLERS if isinstance(scheduler, scheduler_class(name)))


def samplers_with_option(option: str) -> list[str]:
    """The names of the samplers whose scheduler takes `option` (a config key, e.g. "eta")."""
    return [name for name in SAMPLERS if option in config_keys(scheduler_class(name))]


def config_keys(cls: type[SchedulerMixin]) -> set[str]:
    """The config keys of a scheduler class: the keywords of its `__init__`."""
    return set(inspect.signature(cls.__init__).parameters) - {"self"}

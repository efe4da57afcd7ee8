"""Bridge schedulers: the released `I2SBScheduler`, the fast `DBIMScheduler`, their shared
math (`bridge_math`, `bridge_scheduler`), their registry by name (`registry`) and a functional
sampler."""

from functools import reduce
from operator import or_

from a2sb.schedulers.bridge_math import (
    bridge_coefficients,
    posterior_coefficients,
    predict_x0,
    sigma_bwd,
    sigma_fwd,
    sigma_sb,
)
from a2sb.schedulers.bridge_scheduler import BridgeSchedulerMixin, BridgeSchedulerOutput
from a2sb.schedulers.registry import scheduler_class, scheduler_classes
from a2sb.schedulers.sampling import sample_bridge
from a2sb.schedulers.scheduling_dbim import DBIMScheduler, DBIMSchedulerOutput, dbim_step
from a2sb.schedulers.scheduling_i2sb import I2SBScheduler, I2SBSchedulerOutput, bridge_step

BridgeScheduler = reduce(or_, scheduler_classes())
"""Any registered sampler of the A2SB bridge: what a pipeline's `scheduler` may be."""

__all__ = [
    "BridgeScheduler",
    "BridgeSchedulerMixin",
    "BridgeSchedulerOutput",
    "DBIMScheduler",
    "DBIMSchedulerOutput",
    "I2SBScheduler",
    "I2SBSchedulerOutput",
    "bridge_coefficients",
    "bridge_step",
    "dbim_step",
    "posterior_coefficients",
    "predict_x0",
    "sample_bridge",
    "scheduler_class",
    "scheduler_classes",
    "sigma_bwd",
    "sigma_fwd",
    "sigma_sb",
]

"""Bridge schedulers: the diffusers `I2SBScheduler`, its pure math and a functional sampler."""

from a2sb.schedulers.sampling import sample_bridge
from a2sb.schedulers.scheduling_i2sb import (
    I2SBScheduler,
    I2SBSchedulerOutput,
    bridge_coefficients,
    bridge_step,
    posterior_coefficients,
    predict_x0,
    sigma_bwd,
    sigma_fwd,
    sigma_sb,
)

__all__ = [
    "I2SBScheduler",
    "I2SBSchedulerOutput",
    "bridge_coefficients",
    "bridge_step",
    "posterior_coefficients",
    "predict_x0",
    "sample_bridge",
    "sigma_bwd",
    "sigma_fwd",
    "sigma_sb",
]

"""DBIM: the implicit sampler of the A2SB bridge (Zheng et al. 2024, arXiv 2405.15885).

Same bridge, same checkpoints, another update rule. With the marginal (9) written as
x_t = a_t x0 + b_t x1 + c_t eps (a_t = sigma_bar_t^2 / sigma_1^2, b_t = sigma_t^2 / sigma_1^2,
c_t = sigma_SB(t)), a step from t to s < t keeps the noise that x_t implies and adds only a
fraction eta of fresh noise:

    z_hat = (x_t - a_t x0_hat - b_t x1) / c_t
    x_s   = a_s x0_hat + b_s x1 + sqrt(c_s^2 - rho^2) z_hat + rho z,
    rho   = eta sigma_s sqrt(1 - sigma_s^2 / sigma_t^2).

eta = 1 is the posterior step (19) of `I2SBScheduler`; eta = 0 is deterministic and keeps every
marginal's variance, which is what lets 5-10 network calls stand in for 49. At t = 1, c_1 = 0
leaves no implied noise: the first ("booting") step is the eta = 1 step whatever eta is.
The derivation, and why eta = 1 is (19): docs/concepts.md, "Fast sampling with DBIM".
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from diffusers import ConfigMixin, SchedulerMixin
from diffusers.configuration_utils import register_to_config

from a2sb.errors import A2SBInputError
from a2sb.schedulers.bridge_math import (
    TimeLike,
    as_time,
    bridge_coefficients,
    expand_like,
    impose_known,
    predict_x0,
    randn_like_sample,
    sigma_fwd,
    work_dtype,
)
from a2sb.schedulers.bridge_scheduler import (
    BridgeSchedulerMixin,
    BridgeSchedulerOutput,
    PredictionType,
    check_bridge_config,
    check_prediction_type,
)

DBIMSchedulerOutput = BridgeSchedulerOutput
"""What `DBIMScheduler.step` returns (`prev_sample`, `pred_original_sample`)."""


@dataclass(frozen=True)
class DBIMCoefficients:
    """The coefficients of one DBIM step from t to s < t, each shaped like t.

    `a_t, b_t, c_t` and `a_s, b_s, c_s` are the marginal's (9) at t and s; `keep` =
    sqrt(c_s^2 - rho^2) weighs the implied noise, `fresh` = rho a new draw, and `eta` is the
    step's own eta: the configured one, or 1 at booting (c_t = 0).
    """

    a_t: torch.Tensor
    b_t: torch.Tensor
    c_t: torch.Tensor
    a_s: torch.Tensor
    b_s: torch.Tensor
    c_s: torch.Tensor
    keep: torch.Tensor
    fresh: torch.Tensor
    eta: torch.Tensor

    @classmethod
    def between(cls, t: torch.Tensor, s: torch.Tensor, eta: float, beta_max: float = 1.0):
        """The coefficients of the step from t to s (float64 tensors)."""
        a_t, b_t, c_t = bridge_coefficients(t, beta_max)
        a_s, b_s, c_s = bridge_coefficients(s, beta_max)
        var_t, var_s = sigma_fwd(t, beta_max) ** 2, sigma_fwd(s, beta_max) ** 2
        step_eta = torch.where(c_t > 0, torch.as_tensor(eta, dtype=c_t.dtype), 1.0)
        fresh = step_eta * (var_s * (1 - var_s / var_t)).clamp(min=0).sqrt()
        keep = (c_s**2 - fresh**2).clamp(min=0).sqrt()
        return cls(a_t, b_t, c_t, a_s, b_s, c_s, keep, fresh, step_eta)

    def expanded(self, like: torch.Tensor) -> "DBIMCoefficients":
        """The same coefficients in `like`'s working dtype, broadcastable over it."""
        return DBIMCoefficients(*(expand_like(getattr(self, f.name), like) for f in fields(self)))


def dbim_step(
    model_output: torch.Tensor,
    sample: torch.Tensor,
    t: TimeLike,
    s: TimeLike,
    degraded_samples: torch.Tensor,
    eta: float = 0.0,
    beta_max: float = 1.0,
    noise: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One DBIM step from time t to s < t, as a pure function.

    With a `mask` (1 = missing), x0_hat <- M x0_hat + (1 - M) x1 first, and the known region
    becomes x1 + c_s (sqrt(1 - eta^2) z_hat + eta z), with the same z as the missing region:
    at eta = 1 the released rule x1 + sigma_SB(s) z, at eta = 0 x1 + c_s z_boot. The
    equations: docs/concepts.md, "Fast sampling with DBIM".

    Args:
        model_output: network output at (sample, t), shaped like `sample`.
        sample: x_t, e.g. `[batch, 3, 1024, frames]`.
        t: current time in (0, 1], float, 0-d or `[batch]` tensor.
        s: next time in [0, t), same kinds as `t`.
        degraded_samples: x1, shaped like `sample` (the implied noise needs it).
        eta: share of fresh noise in [0, 1].
        beta_max: peak of beta(t).
        noise: standard normal draw broadcastable to `sample`; may be None only when the step
            draws nothing (eta = 0 and not booting).
        mask: 1 where content is missing, broadcastable to `sample`; None for no re-imposition.

    Returns:
        `(prev_sample, pred_original_sample)`: x_s and x0_hat, shaped and typed like `sample`.
    """
    x_t = sample.to(work_dtype(sample))
    x1 = degraded_samples.to(x_t.dtype)
    t, s = as_time(t, x_t.device), as_time(s, x_t.device)
    coef = DBIMCoefficients.between(t, s, eta, beta_max).expanded(x_t)
    # 1. x0 estimate (10), known content re-imposed.
    pred_x0 = predict_x0(model_output, t, x_t, beta_max)
    if mask is not None:
        pred_x0 = impose_known(pred_x0, x1, mask)
    # 2. the noise that x_t implies; none at booting, where c_t = 0.
    safe_c_t = torch.where(coef.c_t > 0, coef.c_t, 1.0)
    implied = (x_t - coef.a_t * pred_x0 - coef.b_t * x1) / safe_c_t
    implied = torch.where(coef.c_t > 0, implied, 0.0)
    # 3. the marginal at s, built from x0_hat, x1, the kept noise and a fresh share.
    prev_sample = coef.a_s * pred_x0 + coef.b_s * x1 + coef.keep * implied
    known = x1 + coef.c_s * (1 - coef.eta**2).sqrt() * implied
    if noise is not None:
        noise = noise.to(x_t)
        prev_sample = prev_sample + coef.fresh * noise
        known = known + coef.c_s * coef.eta * noise
    if mask is not None:
        prev_sample = impose_known(prev_sample, known, mask)
    return prev_sample.to(sample.dtype), pred_x0.to(sample.dtype)


class DBIMScheduler(BridgeSchedulerMixin, SchedulerMixin, ConfigMixin):
    """Diffusion Bridge Implicit Model sampler on A2SB's bridge: few steps, same checkpoints.

    A drop-in for `I2SBScheduler` (same config, grid, partitions and `step` signature):
    `pipe.scheduler = DBIMScheduler.from_config(pipe.scheduler.config)`. Its `step` needs x1
    (`degraded_samples`) at every step, since the implied noise is measured against it.

    Args:
        beta_max: peak of beta(t); 1.0 for the released checkpoints.
        t_min: last point of the sampling grid linspace(1, t_min, N + 1); 0.05 as released.
        eta: share of fresh noise per step in [0, 1]; 0 is deterministic after the first step,
            1 is the I2SB posterior step (19).
        t_cutoffs: increasing times in (0, 1) splitting [0, 1] into partitions (paper §3.5).
        t_train_min: smallest training time (see `I2SBScheduler`).
        prediction_type: what the network predicts (see `I2SBScheduler`).
    """

    order = 1

    @register_to_config
    def __init__(
        self,
        beta_max: float = 1.0,
        t_min: float = 0.05,
        eta: float = 0.0,
        t_cutoffs: Sequence[float] = (),
        t_train_min: float = 1e-4,
        prediction_type: PredictionType = "epsilon",
    ) -> None:
        cutoffs = check_bridge_config(beta_max, t_min, t_cutoffs, t_train_min)
        check_prediction_type(prediction_type)
        check_eta(eta)
        self.register_to_config(t_cutoffs=cutoffs)
        self.num_inference_steps = None
        self.grid = None
        self.timesteps = None

    def needs_noise(self, timestep: TimeLike) -> bool:
        """Whether `step` at `timestep` draws noise: at booting (t = 1) or when eta > 0."""
        booting = bool((bridge_coefficients(as_time(timestep), self.config.beta_max)[2] == 0).any())
        return booting or self.config.eta > 0

    def describe_options(self) -> str:
        """The sampler's options for people: `eta 0.3`."""
        return f"eta {self.config.eta:g}"

    def step(
        self,
        model_output: torch.Tensor,
        timestep: TimeLike,
        sample: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
        return_dict: bool = True,
        *,
        mask: torch.Tensor | None = None,
        degraded_samples: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> BridgeSchedulerOutput | tuple[torch.Tensor, torch.Tensor]:
        """Step from `timestep` to the next grid point with `dbim_step`; stateless.

        Args:
            model_output: network output at (sample, timestep), shaped like `sample`, of the
                config's `prediction_type`.
            timestep: a value of `self.timesteps` (float, 0-d or `[batch]` tensor).
            sample: x_t, `[batch, 3, 1024, frames]` (any shape).
            generator: source of the noise draw (used only when `needs_noise`, without `noise`).
            return_dict: return a `DBIMSchedulerOutput` rather than a tuple.
            mask: 1 where content is missing, broadcastable to `sample`; None for no
                re-imposition.
            degraded_samples: x1, shaped like `sample`; always required.
            noise: a standard normal draw broadcastable to `sample` to use instead of drawing one.

        Returns:
            `DBIMSchedulerOutput(prev_sample, pred_original_sample)`, or that tuple.
        """
        if degraded_samples is None:
            raise A2SBInputError(
                "DBIMScheduler.step needs degraded_samples (x1): the implied noise of x_t is "
                "measured against it; pass the degraded start of the bridge"
            )
        t = self.check_time(timestep, sample.device)
        s = as_time(self.previous_timestep(t), sample.device)
        model_output = self.epsilon_output(model_output, t, sample, degraded_samples)
        if not self.needs_noise(t):
            noise = None
        elif noise is None:
            noise = randn_like_sample(sample, generator)
        prev_sample, pred_x0 = dbim_step(
            model_output,
            sample,
            t,
            s,
            degraded_samples,
            self.config.eta,
            self.config.beta_max,
            noise,
            mask,
        )
        if not return_dict:
            return prev_sample, pred_x0
        return BridgeSchedulerOutput(prev_sample=prev_sample, pred_original_sample=pred_x0)


def check_eta(eta: float) -> float:
    """Refuse an eta outside [0, 1]."""
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not 0 <= eta <= 1:
        raise A2SBInputError(
            f"eta={eta!r} must lie in [0, 1]: 0 is the deterministic DBIM sampler, 1 the "
            "stochastic I2SB step"
        )
    return float(eta)

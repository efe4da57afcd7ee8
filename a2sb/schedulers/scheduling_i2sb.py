"""I2SB bridge scheduler of A2SB, the released sampler (paper eq. 19; Liu et al. 2023, "I2SB").

The bridge itself (sigma_t, the marginal (9), the target (10)) is in `bridge_math`; the grid,
partitions and training draws that every bridge sampler shares are in `bridge_scheduler`. This
file holds the update rule of the released sampler: the posterior step (19), as the pure
function `bridge_step` (which the functional `sample_bridge` calls too) and as `I2SBScheduler`.
"""

from collections.abc import Sequence

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
    posterior_coefficients,
    predict_x0,
    randn_like_sample,
    sigma_bwd,
    sigma_fwd,
    sigma_sb,
    work_dtype,
)
from a2sb.schedulers.bridge_scheduler import (
    BridgeSchedulerMixin,
    BridgeSchedulerOutput,
    PredictionType,
    check_bridge_config,
    check_prediction_type,
)

__all__ = [
    "I2SBScheduler",
    "I2SBSchedulerOutput",
    "bridge_coefficients",
    "bridge_step",
    "posterior_coefficients",
    "predict_x0",
    "randn_like_sample",
    "sigma_bwd",
    "sigma_fwd",
    "sigma_sb",
]


def bridge_step(
    model_output: torch.Tensor,
    sample: torch.Tensor,
    t: TimeLike,
    s: TimeLike,
    beta_max: float = 1.0,
    noise: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    degraded_samples: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One bridge sampling step from time t to s < t (paper eq. 19), as a pure function.

    With a `mask` (1 = missing), the known content of `degraded_samples` x1 is re-imposed as in
    the released sampler: x0_hat <- M x0_hat + (1 - M) x1 before the step, and afterwards
    x_s <- M x_s + (1 - M)(x1 + sigma_SB(s) eps), a draw of the bridge marginal at s whose clean
    end is x1 itself. The posterior and the known region use the same `noise` draw: for a binary
    mask they touch disjoint entries, so that is the same as two independent draws.

    Args:
        model_output: network output at (sample, t), shaped like `sample`.
        sample: x_t, e.g. `[batch, 3, 1024, frames]`.
        t: current time in (0, 1], float, 0-d or `[batch]` tensor.
        s: next time in [0, t), same kinds as `t`.
        beta_max: peak of beta(t).
        noise: standard normal draw broadcastable to `sample`; None for the deterministic
            (`ot_ode`) step.
        mask: 1 where content is missing, broadcastable to `sample`; None for no re-imposition.
        degraded_samples: x1, shaped like `sample`; required with `mask`.

    Returns:
        `(prev_sample, pred_original_sample)`: x_s and x0_hat, shaped and typed like `sample`.
    """
    x_t = sample.to(work_dtype(sample))
    # 1. x0 estimate: invert the training target (10), x0_hat = x_t - sigma_t * net.
    pred_x0 = predict_x0(model_output, t, x_t, beta_max)
    if mask is not None:
        pred_x0 = impose_known(pred_x0, degraded_samples, mask)
    # 2. posterior coefficients of q(x_s | x0_hat, x_t) (19) and its mean.
    coef_x0, coef_xt, std = posterior_coefficients(as_time(t, x_t.device), s, beta_max)
    prev_sample = expand_like(coef_x0, x_t) * pred_x0 + expand_like(coef_xt, x_t) * x_t
    # 3. noise: posterior std in the missing region, bridge marginal at s in the known one.
    if noise is not None:
        noise = noise.to(x_t)
        prev_sample = prev_sample + expand_like(std, x_t) * noise
    if mask is not None:
        known = degraded_samples.to(x_t.dtype)
        if noise is not None:
            known = known + expand_like(sigma_sb(as_time(s, x_t.device), beta_max), x_t) * noise
        prev_sample = impose_known(prev_sample, known, mask)
    return prev_sample.to(sample.dtype), pred_x0.to(sample.dtype)


I2SBSchedulerOutput = BridgeSchedulerOutput
"""What `I2SBScheduler.step` returns (`prev_sample`, `pred_original_sample`)."""


class I2SBScheduler(BridgeSchedulerMixin, SchedulerMixin, ConfigMixin):
    """Image-to-Image Schrödinger Bridge scheduler with A2SB's symmetric schedule.

    Continuous time t in [0, 1], t = 0 clean x0, t = 1 degraded x1, beta(t) =
    beta_max min(t, 1 - t)^2. Training draws t with `sample_training_t`, builds x_t with
    `add_noise` (eq. 9) and regresses the network on `get_target` (eq. 10). Sampling starts from
    x1 at t = 1 and calls `step` (eq. 19) once per entry of `timesteps`; the released sampler's
    result is the `pred_original_sample` of the last call. `DBIMScheduler.from_config(config)`
    swaps in the implicit sampler on the same bridge.

    Args:
        beta_max: peak of beta(t); 1.0 for the released checkpoints.
        t_min: last point of the sampling grid linspace(1, t_min, N + 1); 0.05 as released.
        ot_ode: if True, sampling is deterministic (no noise in eq. 19 or in the known region).
        t_cutoffs: increasing times in (0, 1) splitting [0, 1] into partitions, one model each
            (paper §3.5); empty for one model, `[0.5]` for the released two-split.
        t_train_min: smallest training time. sigma_0 = 0 makes the target (10) 0/0 at t = 0, so
            `sample_training_t` draws from [max(c_k, t_train_min), c_{k+1}) instead of
            [c_k, c_{k+1}).
        prediction_type: what the network predicts: "epsilon" (eq. 10, the released
            checkpoints) or "prior_residual" (x0 − x1; see `PREDICTION_TYPES`).
    """

    order = 1

    @register_to_config
    def __init__(
        self,
        beta_max: float = 1.0,
        t_min: float = 0.05,
        ot_ode: bool = False,
        t_cutoffs: Sequence[float] = (),
        t_train_min: float = 1e-4,
        prediction_type: PredictionType = "epsilon",
    ) -> None:
        cutoffs = check_bridge_config(beta_max, t_min, t_cutoffs, t_train_min)
        check_prediction_type(prediction_type)
        self.register_to_config(t_cutoffs=cutoffs)
        self.num_inference_steps = None
        self.grid = None
        self.timesteps = None

    def needs_noise(self, timestep: TimeLike) -> bool:
        """Whether `step` at `timestep` uses a noise draw: always, unless `ot_ode`."""
        return not self.config.ot_ode

    def describe_options(self) -> str:
        """The sampler's options for people: "ot_ode", or "" for the released sampler."""
        return "ot_ode" if self.config.ot_ode else ""

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
    ) -> I2SBSchedulerOutput | tuple[torch.Tensor, torch.Tensor]:
        """Step from `timestep` to the next grid point (paper eq. 19); stateless.

        The same inputs (and generator state) always give the same output: the next time is
        looked up on the grid of `set_timesteps`, nothing is counted. See `bridge_step` for the
        math and for how `mask` re-imposes the known content of `degraded_samples`.

        Args:
            model_output: network output at (sample, timestep), shaped like `sample`, of the
                config's `prediction_type`.
            timestep: a value of `self.timesteps` (float, 0-d or `[batch]` tensor).
            sample: x_t, `[batch, 3, 1024, frames]` (any shape).
            generator: source of the noise draw (ignored with `ot_ode` or `noise`).
            return_dict: return an `I2SBSchedulerOutput` rather than a tuple.
            mask: 1 where content is missing, broadcastable to `sample`; None for no
                re-imposition.
            degraded_samples: x1, shaped like `sample`; required with `mask` and for
                "prior_residual".
            noise: a standard normal draw broadcastable to `sample` to use instead of drawing one
                (e.g. `[1, ...]` to share it across a batch of audio channels).

        Returns:
            `I2SBSchedulerOutput(prev_sample, pred_original_sample)`, or that tuple.
        """
        if mask is not None and degraded_samples is None:
            raise A2SBInputError(
                "step got a mask but no degraded_samples: pass the x1 whose known content "
                "should be re-imposed, or no mask"
            )
        t = self.check_time(timestep, sample.device)
        s = as_time(self.previous_timestep(t), sample.device)
        model_output = self.epsilon_output(model_output, t, sample, degraded_samples)
        if not self.needs_noise(timestep):
            noise = None
        elif noise is None:
            noise = randn_like_sample(sample, generator)
        prev_sample, pred_x0 = bridge_step(
            model_output, sample, t, s, self.config.beta_max, noise, mask, degraded_samples
        )
        if not return_dict:
            return prev_sample, pred_x0
        return I2SBSchedulerOutput(prev_sample=prev_sample, pred_original_sample=pred_x0)

"""I2SB bridge scheduler of A2SB (paper eqs. 9, 10, 19; Liu et al. 2023, "I2SB").

Time is continuous: t = 0 is the clean spectrogram x0, t = 1 the degraded one x1. The noise
schedule beta(t) = beta_max * min(t, 1 - t)^2 is symmetric about t = 1/2, so

    sigma_t^2     = int_0^t beta = beta_max t^3 / 3                        (t <= 1/2)
                                 = beta_max / 12 - beta_max (1 - t)^3 / 3  (t >  1/2)
    sigma_bar_t^2 = sigma_{1-t}^2,   and   sigma_t^2 + sigma_bar_t^2 = beta_max / 12.

Each formula lives once, in a module-level pure function below; `I2SBScheduler` (the diffusers
interface) and `a2sb.schedulers.sampling.sample_bridge` (the functional sampler) both call them.
"""

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import torch
from diffusers import ConfigMixin, SchedulerMixin
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from a2sb.errors import A2SBInputError

TimeLike = float | torch.Tensor

# Two timesteps closer than this are the same grid point (float32 and float64 copies of a time).
_GRID_ATOL = 1e-6


def _time_dtype(device: torch.device) -> torch.dtype:
    """Coefficients are computed in float64, except on MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def _as_time(t: TimeLike, device: torch.device | str | None = None) -> torch.Tensor:
    """`t` as a float64 tensor (0-d or `[batch]`) on `device` (default: its own, or the CPU)."""
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t, dtype=torch.float64)
    device = torch.device(device) if device is not None else t.device
    return t.to(device=device, dtype=_time_dtype(device))


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    """Bridge arithmetic runs in at least float32, whatever the sample dtype."""
    return torch.promote_types(x.dtype, torch.float32)


def _expand(coef: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Cast a 0-d or `[batch]` coefficient to `like`'s working dtype, broadcastable over `like`."""
    coef = coef.to(device=like.device, dtype=_work_dtype(like))
    if coef.ndim == 1 and like.ndim > 1:
        if coef.shape[0] not in (1, like.shape[0]):
            raise A2SBInputError(
                f"got {coef.shape[0]} timesteps for a batch of {like.shape[0]} samples; "
                "pass one timestep for the whole batch or one per sample"
            )
        coef = coef.reshape(-1, *([1] * (like.ndim - 1)))
    return coef


def _impose_known(x: torch.Tensor, known: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """M x + (1 - M) known: keep `x` where the mask is 1 (missing), `known` where it is 0."""
    mask = mask.to(device=x.device, dtype=x.dtype)
    return mask * x + (1 - mask) * known.to(x.dtype)


def _variance_fwd(t: torch.Tensor, beta_max: float) -> torch.Tensor:
    """sigma_t^2 = int_0^t beta_max min(u, 1 - u)^2 du (closed form, exact at t = 0 and t = 1)."""
    return beta_max * torch.where(t <= 0.5, t**3 / 3, 1 / 12 - (1 - t) ** 3 / 3)


def sigma_fwd(t: TimeLike, beta_max: float = 1.0) -> torch.Tensor:
    """Forward std sigma_t = sqrt(int_0^t beta), t in [0, 1]; float64 tensor shaped like `t`."""
    return _variance_fwd(_as_time(t), beta_max).sqrt()


def sigma_bwd(t: TimeLike, beta_max: float = 1.0) -> torch.Tensor:
    """Backward std sigma_bar_t = sigma_{1-t} = sqrt(int_t^1 beta); float64, shaped like `t`."""
    return _variance_fwd(1 - _as_time(t), beta_max).sqrt()


def bridge_coefficients(
    t: TimeLike, beta_max: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Coefficients of the bridge marginal (paper eq. 9): x_t = a x0 + b x1 + sigma_SB eps.

    a = sigma_bar_t^2 / (sigma_t^2 + sigma_bar_t^2), b = sigma_t^2 / (sigma_t^2 + sigma_bar_t^2),
    sigma_SB^2 = sigma_t^2 sigma_bar_t^2 / (sigma_t^2 + sigma_bar_t^2). At t = 0 they are exactly
    (1, 0, 0), at t = 1 exactly (0, 1, 0).

    Args:
        t: time in [0, 1], a float, 0-d or `[batch]` tensor.
        beta_max: peak of beta(t) = beta_max min(t, 1 - t)^2.

    Returns:
        `(a, b, sigma_sb)`, float64 tensors shaped like `t`.
    """
    t = _as_time(t)
    var_fwd = _variance_fwd(t, beta_max)
    var_bwd = _variance_fwd(1 - t, beta_max)
    total = var_fwd + var_bwd
    return var_bwd / total, var_fwd / total, (var_fwd * var_bwd / total).sqrt()


def sigma_sb(t: TimeLike, beta_max: float = 1.0) -> torch.Tensor:
    """Std of the bridge marginal (9): sigma_t sigma_bar_t / sqrt(sigma_t^2 + sigma_bar_t^2)."""
    return bridge_coefficients(t, beta_max)[2]


def posterior_coefficients(
    t: TimeLike, s: TimeLike, beta_max: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Coefficients of the posterior q(x_s | x0, x_t), s < t (paper eq. 19).

    With Delta^2 = sigma_t^2 - sigma_s^2:

        x_s = (Delta^2 / sigma_t^2) x0 + (sigma_s^2 / sigma_t^2) x_t
              + sqrt(sigma_s^2 Delta^2 / sigma_t^2) eps.

    Returns:
        `(coef_x0, coef_xt, std)`, float64 tensors shaped like `t` and `s`.
    """
    var_t = _variance_fwd(_as_time(t), beta_max)
    var_s = _variance_fwd(_as_time(s, var_t.device), beta_max)
    var_delta = var_t - var_s
    return var_delta / var_t, var_s / var_t, (var_s * var_delta / var_t).sqrt()


def predict_x0(
    model_output: torch.Tensor, t: TimeLike, sample: torch.Tensor, beta_max: float = 1.0
) -> torch.Tensor:
    """x0 estimate x0_hat = x_t - sigma_t * net, the inverse of the training target (10).

    Args:
        model_output: network output at (sample, t), shaped like `sample`.
        t: time in [0, 1], a float, 0-d or `[batch]` tensor.
        sample: x_t, `[batch, channels, freq, frames]` (any shape).
        beta_max: peak of beta(t).

    Returns:
        x0_hat, shaped and typed like `sample` (computed in at least float32).
    """
    x_t = sample.to(_work_dtype(sample))
    sigma = _expand(sigma_fwd(_as_time(t, sample.device), beta_max), x_t)
    return (x_t - sigma * model_output.to(x_t.dtype)).to(sample.dtype)


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
    x_t = sample.to(_work_dtype(sample))
    # 1. x0 estimate: invert the training target (10), x0_hat = x_t - sigma_t * net.
    pred_x0 = predict_x0(model_output, t, x_t, beta_max)
    if mask is not None:
        pred_x0 = _impose_known(pred_x0, degraded_samples, mask)
    # 2. posterior coefficients of q(x_s | x0_hat, x_t) (19) and its mean.
    coef_x0, coef_xt, std = posterior_coefficients(_as_time(t, x_t.device), s, beta_max)
    prev_sample = _expand(coef_x0, x_t) * pred_x0 + _expand(coef_xt, x_t) * x_t
    # 3. noise: posterior std in the missing region, bridge marginal at s in the known one.
    if noise is not None:
        noise = noise.to(x_t)
        prev_sample = prev_sample + _expand(std, x_t) * noise
    if mask is not None:
        known = degraded_samples.to(x_t.dtype)
        if noise is not None:
            known = known + _expand(sigma_sb(_as_time(s, x_t.device), beta_max), x_t) * noise
        prev_sample = _impose_known(prev_sample, known, mask)
    return prev_sample.to(sample.dtype), pred_x0.to(sample.dtype)


def randn_like_sample(
    sample: torch.Tensor, generator: torch.Generator | list[torch.Generator] | None = None
) -> torch.Tensor:
    """A standard normal draw shaped and typed like `sample`, on its device, from `generator`.

    A CPU generator draws on the CPU and moves the result, so seeds give the same numbers on
    every device; a list of generators draws one batch item each (diffusers' `randn_tensor`).
    """
    return randn_tensor(sample.shape, generator=generator, device=sample.device, dtype=sample.dtype)


@dataclass
class I2SBSchedulerOutput(BaseOutput):
    """Output of `I2SBScheduler.step`.

    Args:
        prev_sample: x_s at the next (smaller) time of the grid, shaped like the input sample.
        pred_original_sample: the x0 estimate x0_hat of this step (with known content
            re-imposed when a mask was given); the released sampler returns the last one.
    """

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class I2SBScheduler(SchedulerMixin, ConfigMixin):
    """Image-to-Image Schrödinger Bridge scheduler with A2SB's symmetric schedule.

    Continuous time t in [0, 1], t = 0 clean x0, t = 1 degraded x1, beta(t) =
    beta_max min(t, 1 - t)^2. Training draws t with `sample_training_t`, builds x_t with
    `add_noise` (eq. 9) and regresses the network on `get_target` (eq. 10). Sampling starts from
    x1 at t = 1 and calls `step` (eq. 19) once per entry of `timesteps`; the released sampler's
    result is the `pred_original_sample` of the last call.

    Args:
        beta_max: peak of beta(t); 1.0 for the released checkpoints.
        t_min: last point of the sampling grid linspace(1, t_min, N + 1); 0.05 as released.
        ot_ode: if True, sampling is deterministic (no noise in eq. 19 or in the known region).
        t_cutoffs: increasing times in (0, 1) splitting [0, 1] into partitions, one model each
            (paper §3.5); empty for one model, `[0.5]` for the released two-split.
        t_train_min: smallest training time. sigma_0 = 0 makes the target (10) 0/0 at t = 0, so
            `sample_training_t` draws from [max(c_k, t_train_min), c_{k+1}) instead of
            [c_k, c_{k+1}).
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
    ) -> None:
        if not (math.isfinite(beta_max) and beta_max > 0):
            raise A2SBInputError(
                f"beta_max={beta_max} must be a positive number; the released checkpoints use 1.0"
            )
        if not 0 <= t_min < 1:
            raise A2SBInputError(
                f"t_min={t_min} must lie in [0, 1), the end of the sampling grid; "
                "the released sampler uses 0.05"
            )
        cutoffs = [float(c) for c in t_cutoffs]
        if any(not 0 < c < 1 for c in cutoffs) or any(a >= b for a, b in pairwise(cutoffs)):
            raise A2SBInputError(
                f"t_cutoffs={cutoffs} must be strictly increasing times inside (0, 1), "
                "e.g. [0.5] for two partitions or [] for one model"
            )
        first_upper = cutoffs[0] if cutoffs else 1.0
        if not 0 < t_train_min < first_upper:
            raise A2SBInputError(
                f"t_train_min={t_train_min} must lie in (0, {first_upper}), "
                "above 0 (where the target divides by sigma_0 = 0) and below the first cutoff"
            )
        self.register_to_config(t_cutoffs=cutoffs)
        self.num_inference_steps: int | None = None
        self.grid: torch.Tensor | None = None
        self.timesteps: torch.Tensor | None = None

    def set_timesteps(
        self, num_inference_steps: int, device: str | torch.device | None = None
    ) -> None:
        """Set the sampling grid: `num_inference_steps` network calls from t = 1 down to t_min.

        `self.grid` holds the N + 1 points linspace(1, t_min, N + 1), `self.timesteps` the N
        times at which the network is called (`grid[:-1]`); the step from `timesteps[i]` goes to
        `grid[i + 1]`, the last one to t_min. N = 49 gives the released "50 steps" grid
        linspace(1, 0.05, 50).

        Args:
            num_inference_steps: number of network calls N >= 1.
            device: where `grid` and `timesteps` live.
        """
        if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, int):
            raise A2SBInputError(
                f"num_inference_steps={num_inference_steps!r} must be an integer >= 1 "
                "(the number of network calls; 49 reproduces the released sampler)"
            )
        if num_inference_steps < 1:
            raise A2SBInputError(
                f"num_inference_steps={num_inference_steps} must be at least 1 "
                "(the number of network calls; 49 reproduces the released sampler)"
            )
        grid = torch.linspace(1.0, self.config.t_min, num_inference_steps + 1, dtype=torch.float64)
        self.num_inference_steps = num_inference_steps
        self.grid = grid.to(device=device, dtype=torch.float32)
        self.timesteps = self.grid[:-1]

    def previous_timestep(self, timestep: TimeLike) -> TimeLike:
        """The grid point that a step from `timestep` lands on (`grid[i + 1]` for `timesteps[i]`).

        Args:
            timestep: a value of `self.timesteps`, as a float, 0-d or `[batch]` tensor.

        Returns:
            A float for a float, else a float32 tensor shaped like `timestep`.
        """
        if self.grid is None:
            raise A2SBInputError(
                "no sampling grid yet: call scheduler.set_timesteps(num_inference_steps) first"
            )
        t = _as_time(timestep)
        grid = self.grid.to(device=t.device, dtype=t.dtype)
        distance = (t.reshape(-1, 1) - grid[:-1]).abs()
        nearest, index = distance.min(dim=1)
        if (nearest > _GRID_ATOL).any():
            off_grid = t.reshape(-1)[nearest > _GRID_ATOL][:5].tolist()
            raise A2SBInputError(
                f"timestep(s) {off_grid} are not on the sampling grid set by "
                f"set_timesteps({self.num_inference_steps}); step from the values in "
                "scheduler.timesteps"
            )
        previous = self.grid.to(t.device)[index + 1].reshape(t.shape)
        return previous if isinstance(timestep, torch.Tensor) else previous.item()

    def _check_time(self, t: TimeLike, device: torch.device | None = None) -> torch.Tensor:
        """Validate that every time lies in [0, 1] and return it as a float64 tensor."""
        t = _as_time(t, device)
        bad = (t < 0) | (t > 1) | t.isnan()
        if bad.any():
            raise A2SBInputError(
                f"timestep(s) {t[bad][:5].tolist()} outside [0, 1]: bridge time runs from "
                "0 (clean) to 1 (degraded); pass times in [0, 1], e.g. from scheduler.timesteps"
            )
        return t

    def sigma_fwd(self, t: TimeLike) -> torch.Tensor:
        """sigma_t, the std of the forward process at t; float64 tensor shaped like `t`."""
        return sigma_fwd(self._check_time(t), self.config.beta_max)

    def sigma_bwd(self, t: TimeLike) -> torch.Tensor:
        """sigma_bar_t = sigma_{1-t}; float64 tensor shaped like `t`."""
        return sigma_bwd(self._check_time(t), self.config.beta_max)

    def sigma_sb(self, t: TimeLike) -> torch.Tensor:
        """sigma_SB(t), the std of the bridge marginal (9); float64 tensor shaped like `t`."""
        return sigma_sb(self._check_time(t), self.config.beta_max)

    def bridge_coefficients(self, t: TimeLike) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(a, b, sigma_sb)` of the marginal x_t = a x0 + b x1 + sigma_SB eps (eq. 9)."""
        return bridge_coefficients(self._check_time(t), self.config.beta_max)

    def add_noise(
        self,
        original_samples: torch.Tensor,
        degraded_samples: torch.Tensor,
        timesteps: TimeLike,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """Sample the bridge marginal q(x_t | x0, x1) (paper eq. 9).

        x_t = a_t x0 + b_t x1 + sigma_SB(t) noise, with a_t = sigma_bar_t^2 / (sigma_t^2 +
        sigma_bar_t^2) and b_t = 1 - a_t; exactly x0 at t = 0 and x1 at t = 1.

        Args:
            original_samples: clean x0, `[batch, channels, freq, frames]` (any shape).
            degraded_samples: degraded x1, shaped like x0.
            timesteps: t in [0, 1], a float, 0-d or `[batch]` tensor.
            noise: standard normal draw shaped like x0.

        Returns:
            x_t, shaped and typed like `original_samples`.
        """
        t = self._check_time(timesteps, original_samples.device)
        a, b, std = bridge_coefficients(t, self.config.beta_max)
        x0 = original_samples.to(_work_dtype(original_samples))
        x_t = _expand(a, x0) * x0 + _expand(b, x0) * degraded_samples + _expand(std, x0) * noise
        return x_t.to(original_samples.dtype)

    def get_target(
        self, original_samples: torch.Tensor, noisy_samples: torch.Tensor, timesteps: TimeLike
    ) -> torch.Tensor:
        """Training label of the network (paper eq. 10): (x_t - x0) / sigma_t.

        Args:
            original_samples: clean x0, `[batch, channels, freq, frames]` (any shape).
            noisy_samples: x_t from `add_noise` at the same `timesteps`.
            timesteps: t in (0, 1]; t = 0 is refused (sigma_0 = 0).

        Returns:
            The target, shaped and typed like `noisy_samples`.
        """
        t = self._check_time(timesteps, noisy_samples.device)
        if (t == 0).any():
            raise A2SBInputError(
                "get_target is undefined at t = 0 (it divides by sigma_0 = 0); draw training "
                "times with scheduler.sample_training_t, which never returns 0"
            )
        x_t = noisy_samples.to(_work_dtype(noisy_samples))
        target = (x_t - original_samples) / _expand(sigma_fwd(t, self.config.beta_max), x_t)
        return target.to(noisy_samples.dtype)

    def predict_x0(
        self, model_output: torch.Tensor, timesteps: TimeLike, sample: torch.Tensor
    ) -> torch.Tensor:
        """x0 estimate x0_hat = x_t - sigma_t * net (inverse of eq. 10); see `predict_x0`."""
        t = self._check_time(timesteps, sample.device)
        return predict_x0(model_output, t, sample, self.config.beta_max)

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
            model_output: network output at (sample, timestep), shaped like `sample`.
            timestep: a value of `self.timesteps` (float, 0-d or `[batch]` tensor).
            sample: x_t, `[batch, 3, 1024, frames]` (any shape).
            generator: source of the noise draw (ignored with `ot_ode` or `noise`).
            return_dict: return an `I2SBSchedulerOutput` rather than a tuple.
            mask: 1 where content is missing, broadcastable to `sample`; None for no
                re-imposition.
            degraded_samples: x1, shaped like `sample`; required with `mask`.
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
        t = self._check_time(timestep, sample.device)
        s = _as_time(self.previous_timestep(t), sample.device)
        if self.config.ot_ode:
            noise = None
        elif noise is None:
            noise = randn_like_sample(sample, generator)
        prev_sample, pred_x0 = bridge_step(
            model_output, sample, t, s, self.config.beta_max, noise, mask, degraded_samples
        )
        if not return_dict:
            return prev_sample, pred_x0
        return I2SBSchedulerOutput(prev_sample=prev_sample, pred_original_sample=pred_x0)

    @property
    def num_partitions(self) -> int:
        """Number of time partitions (models): len(t_cutoffs) + 1."""
        return len(self.config.t_cutoffs) + 1

    def partition_bounds(self, partition: int) -> tuple[float, float]:
        """The time range [c_k, c_{k+1}) of partition k, with c_0 = 0 and c_K = 1.

        The last partition also owns t = 1.
        """
        if isinstance(partition, bool) or not isinstance(partition, int):
            raise A2SBInputError(f"partition={partition!r} must be an integer partition index")
        if not 0 <= partition < self.num_partitions:
            raise A2SBInputError(
                f"partition {partition} does not exist: t_cutoffs={list(self.config.t_cutoffs)} "
                f"make {self.num_partitions} partition(s); pass 0..{self.num_partitions - 1}, "
                "or None for all of [0, 1)"
            )
        edges = [0.0, *self.config.t_cutoffs, 1.0]
        return edges[partition], edges[partition + 1]

    def partition_index(self, t: TimeLike) -> int | torch.Tensor:
        """Model index for time t: the number of cutoffs <= t (paper §3.5).

        With t_cutoffs [0.5], t in [0, 0.5) -> 0 and [0.5, 1] -> 1. A tensor is compared in its
        own precision, as `t >= c` in torch would (a float32 0.7 routes like the float 0.7).

        Args:
            t: time(s) in [0, 1]: a float, or a tensor of any shape.

        Returns:
            An int for a float, else an int64 tensor shaped like `t`.
        """
        checked = self._check_time(t)
        if not isinstance(t, torch.Tensor):
            return bisect.bisect_right(self.config.t_cutoffs, checked.item())
        values = t if t.is_floating_point() else checked
        cutoffs = torch.tensor(self.config.t_cutoffs, dtype=values.dtype, device=values.device)
        return torch.searchsorted(cutoffs, values.reshape(-1), right=True).reshape(t.shape)

    def sample_training_t(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        partition: int | None = None,
        device: str | torch.device | None = None,
    ) -> torch.Tensor:
        """Draw training times t ~ U[lo, hi), the whole [0, 1) or partition k's [c_k, c_{k+1}).

        lo is raised to `t_train_min` (the target (10) is 0/0 at t = 0). The draws are the
        float32 times the network sees and satisfy lo <= t < hi compared in float32, as
        `partition_index` compares, so `partition_index(t) == partition` for every draw.

        Args:
            batch_size: number of times to draw.
            generator: source of the draw; it is drawn on the generator's device.
            partition: partition index k, or None for all of [0, 1).
            device: where the result lives (default: the generator's device, or the CPU).

        Returns:
            Times `[batch_size]`, float32.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise A2SBInputError(f"batch_size={batch_size!r} must be an integer >= 1")
        low, high = (0.0, 1.0) if partition is None else self.partition_bounds(partition)
        low = max(low, self.config.t_train_min)
        draw_device = generator.device if generator is not None else device
        uniform = torch.rand(
            batch_size, generator=generator, device=draw_device, dtype=torch.float64
        )
        t = (low + (high - low) * uniform).to(torch.float32)
        low_32, high_32 = torch.tensor([low, high], dtype=torch.float32)
        t = t.clamp(low_32, torch.nextafter(high_32, torch.tensor(0.0)))
        return t.to(device) if device is not None else t

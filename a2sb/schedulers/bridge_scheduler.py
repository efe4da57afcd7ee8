"""What every sampler of the A2SB bridge shares: its config, time grid, partitions and training.

`I2SBScheduler` (the released posterior sampler) and `DBIMScheduler` (the implicit sampler)
differ only in `step`. Everything else — the bridge's config (beta_max, the grid's end t_min,
the partition cutoffs, the smallest training time), `set_timesteps`, the grid lookup of
`previous_timestep`, `partition_index` (the one owner of partition routing, paper §3.5), the
training draws and the marginal (9) and target (10) — lives once, here, in
`BridgeSchedulerMixin`. Swapping samplers keeps all of it:
`DBIMScheduler.from_config(pipe.scheduler.config)`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import torch
from diffusers.utils import BaseOutput

from a2sb.errors import A2SBInputError
from a2sb.schedulers.bridge_math import (
    TimeLike,
    as_time,
    bridge_coefficients,
    expand_like,
    predict_x0,
    sigma_bwd,
    sigma_fwd,
    sigma_sb,
    work_dtype,
)
from a2sb.schedulers.registry import scheduler_classes

GRID_ATOL = 1e-6
"""Two timesteps closer than this are the same grid point (float32 and float64 copies)."""

PredictionType = Literal["epsilon", "prior_residual"]
PREDICTION_TYPES: tuple[PredictionType, ...] = ("epsilon", "prior_residual")
"""What the network predicts: "epsilon", the bridge's scaled noise (x_t − x0) / σ_t of eq. 10
(the released checkpoints), or "prior_residual", the clean spectrogram as a residual to the
degraded endpoint, x0 − x1: a network whose output is zero then returns x1, which for a model
trained on the prior fill with σ_p = 0 is the DSP estimate P itself (docs/research.md)."""


@dataclass
class BridgeSchedulerOutput(BaseOutput):
    """Output of a bridge scheduler's `step`.

    Args:
        prev_sample: x_s at the next (smaller) time of the grid, shaped like the input sample.
        pred_original_sample: the x0 estimate x0_hat of this step (with known content
            re-imposed when a mask was given); the released sampler returns the last one.
    """

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


def check_bridge_config(
    beta_max: float, t_min: float, t_cutoffs: Sequence[float], t_train_min: float
) -> list[float]:
    """Refuse a bridge config that is out of range; return the cutoffs as a list of floats."""
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
    return cutoffs


def check_prediction_type(prediction_type: str) -> None:
    """Refuse a prediction type other than `PREDICTION_TYPES`."""
    if prediction_type not in PREDICTION_TYPES:
        raise A2SBInputError(
            f"prediction_type={prediction_type!r} is unknown; choose 'epsilon' (the released "
            "checkpoints) or 'prior_residual' (x0 − x1, for models trained on the prior fill)"
        )


def check_t_range(t_range: Sequence[float]) -> tuple[float, float]:
    """Refuse a range of training time that is not `(lo, hi)` with 0 <= lo < hi <= 1."""
    low, high = (float(value) for value in t_range)
    if not 0.0 <= low < high <= 1.0:
        raise A2SBInputError(
            f"t_range {list(t_range)} must be (lo, hi) with 0 <= lo < hi <= 1, e.g. (0.5, 1.0)"
        )
    return low, high


MAX_INFERENCE_STEPS = 1000
"""The most network calls a sampling may make: the released sampler makes 49, and past a
thousand the grid's steps are finer than anything the network was trained to tell apart, while
the run would take hours (and the grid's memory grows without bound)."""


def check_num_inference_steps(num_inference_steps: object) -> int:
    """Refuse anything but an integer number of network calls in [1, MAX_INFERENCE_STEPS]."""
    if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, int):
        raise A2SBInputError(
            f"num_inference_steps={num_inference_steps!r} must be an integer in "
            f"[1, {MAX_INFERENCE_STEPS}] "
            "(the number of network calls; 49 reproduces the released sampler)"
        )
    if not 1 <= num_inference_steps <= MAX_INFERENCE_STEPS:
        raise A2SBInputError(
            f"num_inference_steps={num_inference_steps} must lie in [1, {MAX_INFERENCE_STEPS}] "
            "(the number of network calls; 49 reproduces the released sampler)"
        )
    return num_inference_steps


class BridgeSchedulerMixin:
    """The grid, partitions, marginal and training draws shared by the bridge schedulers.

    A class using it is a diffusers `SchedulerMixin, ConfigMixin` whose config holds
    `beta_max`, `t_min`, `t_cutoffs`, `t_train_min` and `prediction_type` (see
    `I2SBScheduler` for their meaning) and which defines `step`, `needs_noise` and
    `describe_options`; its `step` turns the network output into ε with `epsilon_output` first.
    """

    num_inference_steps: int | None = None
    grid: torch.Tensor | None = None
    timesteps: torch.Tensor | None = None

    @classmethod
    def _get_compatibles(cls) -> list[type]:
        """The schedulers `from_config` swaps between: this class and every registered sampler's.

        diffusers looks the names of `_compatibles` up in the `diffusers` package, which holds
        none of a2sb's; the registry (`a2sb.names.SAMPLERS`) is where they are. With
        them, diffusers' `from_config` takes the bridge's keys, sets the other samplers' own
        options (`ot_ode`, `eta`) aside without a warning and keeps them in the config, so that
        a swap back restores them.
        """
        return list(dict.fromkeys([cls, *scheduler_classes()]))

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
        check_num_inference_steps(num_inference_steps)
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
        t = as_time(timestep)
        grid = self.grid.to(device=t.device, dtype=t.dtype)
        distance = (t.reshape(-1, 1) - grid[:-1]).abs()
        nearest, index = distance.min(dim=1)
        if (nearest > GRID_ATOL).any():
            off_grid = t.reshape(-1)[nearest > GRID_ATOL][:5].tolist()
            raise A2SBInputError(
                f"timestep(s) {off_grid} are not on the sampling grid set by "
                f"set_timesteps({self.num_inference_steps}); step from the values in "
                "scheduler.timesteps"
            )
        previous = self.grid.to(t.device)[index + 1].reshape(t.shape)
        return previous if isinstance(timestep, torch.Tensor) else previous.item()

    def check_time(self, t: TimeLike, device: torch.device | None = None) -> torch.Tensor:
        """Validate that every time lies in [0, 1] and return it as a float64 tensor."""
        t = as_time(t, device)
        bad = (t < 0) | (t > 1) | t.isnan()
        if bad.any():
            raise A2SBInputError(
                f"timestep(s) {t[bad][:5].tolist()} outside [0, 1]: bridge time runs from "
                "0 (clean) to 1 (degraded); pass times in [0, 1], e.g. from scheduler.timesteps"
            )
        return t

    def sigma_fwd(self, t: TimeLike) -> torch.Tensor:
        """sigma_t, the std of the forward process at t; float64 tensor shaped like `t`."""
        return sigma_fwd(self.check_time(t), self.config.beta_max)

    def sigma_bwd(self, t: TimeLike) -> torch.Tensor:
        """sigma_bar_t = sigma_{1-t}; float64 tensor shaped like `t`."""
        return sigma_bwd(self.check_time(t), self.config.beta_max)

    def sigma_sb(self, t: TimeLike) -> torch.Tensor:
        """sigma_SB(t), the std of the bridge marginal (9); float64 tensor shaped like `t`."""
        return sigma_sb(self.check_time(t), self.config.beta_max)

    def bridge_coefficients(self, t: TimeLike) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(a, b, sigma_sb)` of the marginal x_t = a x0 + b x1 + sigma_SB eps (eq. 9)."""
        return bridge_coefficients(self.check_time(t), self.config.beta_max)

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
        t = self.check_time(timesteps, original_samples.device)
        a, b, std = bridge_coefficients(t, self.config.beta_max)
        x0 = original_samples.to(work_dtype(original_samples))
        x_t = (
            expand_like(a, x0) * x0
            + expand_like(b, x0) * degraded_samples
            + expand_like(std, x0) * noise
        )
        return x_t.to(original_samples.dtype)

    def get_target(
        self,
        original_samples: torch.Tensor,
        noisy_samples: torch.Tensor,
        timesteps: TimeLike,
        degraded_samples: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Training label of the network: (x_t - x0) / sigma_t (paper eq. 10) for "epsilon",
        x0 - x1 for "prior_residual".

        Args:
            original_samples: clean x0, `[batch, channels, freq, frames]` (any shape).
            noisy_samples: x_t from `add_noise` at the same `timesteps`.
            timesteps: t in (0, 1]; t = 0 is refused for "epsilon" (sigma_0 = 0).
            degraded_samples: x1, shaped like x0; required for "prior_residual".

        Returns:
            The target, shaped and typed like `noisy_samples`.
        """
        t = self.check_time(timesteps, noisy_samples.device)
        x_t = noisy_samples.to(work_dtype(noisy_samples))
        if self.config.prediction_type == "prior_residual":
            x1 = self._required_degraded(degraded_samples, "get_target")
            return (original_samples.to(x_t.dtype) - x1.to(x_t.dtype)).to(noisy_samples.dtype)
        if (t == 0).any():
            raise A2SBInputError(
                "get_target is undefined at t = 0 (it divides by sigma_0 = 0); draw training "
                "times with scheduler.sample_training_t, which never returns 0"
            )
        target = (x_t - original_samples) / expand_like(sigma_fwd(t, self.config.beta_max), x_t)
        return target.to(noisy_samples.dtype)

    def epsilon_output(
        self,
        model_output: torch.Tensor,
        timesteps: TimeLike,
        sample: torch.Tensor,
        degraded_samples: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The network output as the bridge's ε of eq. 10, which every update rule takes.

        "epsilon" is returned as it is; "prior_residual" r means x0_hat = x1 + r, so
        ε_hat = (x_t − x1 − r) / sigma_t.

        Args:
            model_output: network output at (sample, timesteps), shaped like `sample`.
            timesteps: t in (0, 1].
            sample: x_t, `[batch, channels, freq, frames]` (any shape).
            degraded_samples: x1, shaped like `sample`; required for "prior_residual".

        Returns:
            ε_hat, shaped like `sample`, in at least float32.
        """
        if self.config.prediction_type == "epsilon":
            return model_output
        x1 = self._required_degraded(degraded_samples, "step")
        t = self.check_time(timesteps, sample.device)
        x_t = sample.to(work_dtype(sample))
        pred_x0 = x1.to(x_t.dtype) + model_output.to(x_t.dtype)
        return (x_t - pred_x0) / expand_like(sigma_fwd(t, self.config.beta_max), x_t)

    def _required_degraded(self, degraded_samples: torch.Tensor | None, method: str):
        if degraded_samples is None:
            raise A2SBInputError(
                f"{method} with prediction_type='prior_residual' needs degraded_samples (x1): "
                "the network predicts x0 − x1; pass the degraded start of the bridge"
            )
        return degraded_samples

    def predict_x0(
        self, model_output: torch.Tensor, timesteps: TimeLike, sample: torch.Tensor
    ) -> torch.Tensor:
        """x0 estimate x0_hat = x_t - sigma_t * net (inverse of eq. 10); see `predict_x0`."""
        t = self.check_time(timesteps, sample.device)
        return predict_x0(model_output, t, sample, self.config.beta_max)

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
        checked = self.check_time(t)
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
        t_range: tuple[float, float] | None = None,
    ) -> torch.Tensor:
        """Draw training times t ~ U[lo, hi): all of [0, 1), partition k's [c_k, c_{k+1}), or a
        `t_range` (a run that trains one partition of a model yet to be assembled).

        lo is raised to `t_train_min` (the target (10) is 0/0 at t = 0). The draws are the
        float32 times the network sees and satisfy lo <= t < hi compared in float32, as
        `partition_index` compares, so `partition_index(t) == partition` for every draw.

        Args:
            batch_size: number of times to draw.
            generator: source of the draw; it is drawn on the generator's device.
            partition: partition index k, or None for all of [0, 1).
            device: where the result lives (default: the generator's device, or the CPU).
            t_range: `(lo, hi)` with 0 <= lo < hi <= 1, instead of `partition`.

        Returns:
            Times `[batch_size]`, float32.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise A2SBInputError(f"batch_size={batch_size!r} must be an integer >= 1")
        if t_range is not None and partition is not None:
            raise A2SBInputError("pass a partition or a t_range to draw training times, not both")
        if partition is not None:
            low, high = self.partition_bounds(partition)
        else:
            low, high = check_t_range(t_range or (0.0, 1.0))
        low = max(low, self.config.t_train_min)
        draw_device = generator.device if generator is not None else device
        uniform = torch.rand(
            batch_size, generator=generator, device=draw_device, dtype=torch.float64
        )
        t = (low + (high - low) * uniform).to(torch.float32)
        low_32, high_32 = torch.tensor([low, high], dtype=torch.float32)
        t = t.clamp(low_32, torch.nextafter(high_32, torch.tensor(0.0)))
        return t.to(device) if device is not None else t

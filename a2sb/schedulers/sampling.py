"""Functional bridge sampler (k-diffusion style) for research use.

One pure function: a denoiser, a start x1 and a time grid in, the last x0 estimate out. It calls
the same `bridge_step` as `I2SBScheduler.step`, so for the same grid, denoiser and generator the
two give identical results.
"""

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import torch

from a2sb.errors import A2SBInputError
from a2sb.schedulers.bridge_math import randn_like_sample
from a2sb.schedulers.scheduling_i2sb import bridge_step


def _check_grid(timesteps: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """The grid as a 1-D float64 CPU tensor, refused unless strictly decreasing inside [0, 1]."""
    grid = torch.as_tensor(timesteps, dtype=torch.float64).cpu()
    if grid.ndim != 1 or grid.numel() < 2:
        raise A2SBInputError(
            f"the time grid must be 1-D with at least 2 points (got shape {tuple(grid.shape)}); "
            "pass e.g. torch.linspace(1, 0.05, 50)"
        )
    if grid.isnan().any() or (grid < 0).any() or (grid > 1).any() or (grid.diff() >= 0).any():
        raise A2SBInputError(
            f"the time grid {grid.tolist()} must decrease strictly inside [0, 1], from the "
            "degraded end towards 0; pass e.g. torch.linspace(1, 0.05, 50)"
        )
    return grid


def sample_bridge(
    denoise_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x1: torch.Tensor,
    timesteps: torch.Tensor | Sequence[float],
    mask: torch.Tensor | None = None,
    generator: torch.Generator | list[torch.Generator] | None = None,
    ot_ode: bool = False,
    beta_max: float = 1.0,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> torch.Tensor:
    """Run the bridge from x1 down the time grid and return the last x0 estimate.

    For i = 0 .. len(timesteps) - 2, with t = timesteps[i] and s = timesteps[i + 1]:
    net = denoise_fn(x_t, t), x0_hat = x_t - sigma_t net, then x_s from the posterior (19)
    (`bridge_step`). With a `mask`, the known content of x1 is re-imposed on x0_hat and on x_s at
    every step (docs/concepts.md, "The bridge"). No history is kept.

    Args:
        denoise_fn: `(x_t [batch, ...], t [batch] float32) -> network output` shaped like x_t.
        x1: degraded sample `[batch, 3, 1024, frames]` (any shape with a batch dim); it is the
            state at `timesteps[0]` (exact for timesteps[0] = 1) and the known content.
        timesteps: N + 1 strictly decreasing times in [0, 1]; N network calls. The released
            sampler uses linspace(1, 0.05, 50); `I2SBScheduler.grid` holds the same.
        mask: 1 where content is missing, broadcastable to x1; None for no re-imposition.
        generator: source of the per-step noise draws (unused with `ot_ode`).
        ot_ode: deterministic sampling, no noise.
        beta_max: peak of beta(t) = beta_max min(t, 1 - t)^2.
        callback: called after every step with `{"x": x_s, "i": i, "t": t, "t_next": s,
            "denoised": x0_hat}`.

    Returns:
        x0_hat of the last network call, shaped and typed like x1.
    """
    grid = _check_grid(timesteps)
    sample = x1
    for i, (t, s) in enumerate(pairwise(grid.tolist())):
        t_model = torch.full((x1.shape[0],), t, dtype=torch.float32, device=x1.device)
        noise = None if ot_ode else randn_like_sample(sample, generator)
        sample, denoised = bridge_step(
            denoise_fn(sample, t_model), sample, t, s, beta_max, noise, mask, x1
        )
        if callback is not None:
            callback({"x": sample, "i": i, "t": t, "t_next": s, "denoised": denoised})
    return denoised

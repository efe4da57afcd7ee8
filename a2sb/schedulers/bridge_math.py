"""The bridge of A2SB and its closed forms (paper eqs. 9, 10, 19; Liu et al. 2023, "I2SB").

Time is continuous: t = 0 is the clean spectrogram x0, t = 1 the degraded one x1. The noise
schedule beta(t) = beta_max * min(t, 1 - t)^2 is symmetric about t = 1/2, so

    sigma_t^2     = int_0^t beta = beta_max t^3 / 3                        (t <= 1/2)
                                 = beta_max / 12 - beta_max (1 - t)^3 / 3  (t >  1/2)
    sigma_bar_t^2 = sigma_{1-t}^2,   and   sigma_t^2 + sigma_bar_t^2 = beta_max / 12.

Each formula lives once, in a module-level pure function below. Every sampler of the bridge
(`I2SBScheduler`, `DBIMScheduler`, the functional `sample_bridge`) and training call them.
"""

import torch
from diffusers.utils.torch_utils import randn_tensor

from a2sb.errors import A2SBInputError

TimeLike = float | torch.Tensor


def time_dtype(device: torch.device) -> torch.dtype:
    """Coefficients are computed in float64, except on MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def as_time(t: TimeLike, device: torch.device | str | None = None) -> torch.Tensor:
    """`t` as a float64 tensor (0-d or `[batch]`) on `device` (default: its own, or the CPU)."""
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t, dtype=torch.float64)
    device = torch.device(device) if device is not None else t.device
    return t.to(device=device, dtype=time_dtype(device))


def work_dtype(x: torch.Tensor) -> torch.dtype:
    """Bridge arithmetic runs in at least float32, whatever the sample dtype."""
    return torch.promote_types(x.dtype, torch.float32)


def expand_like(coef: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Cast a 0-d or `[batch]` coefficient to `like`'s working dtype, broadcastable over `like`."""
    coef = coef.to(device=like.device, dtype=work_dtype(like))
    if coef.ndim == 1 and like.ndim > 1:
        if coef.shape[0] not in (1, like.shape[0]):
            raise A2SBInputError(
                f"got {coef.shape[0]} timesteps for a batch of {like.shape[0]} samples; "
                "pass one timestep for the whole batch or one per sample"
            )
        coef = coef.reshape(-1, *([1] * (like.ndim - 1)))
    return coef


def impose_known(x: torch.Tensor, known: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """M x + (1 - M) known: keep `x` where the mask is 1 (missing), `known` where it is 0."""
    mask = mask.to(device=x.device, dtype=x.dtype)
    return mask * x + (1 - mask) * known.to(x.dtype)


def variance_fwd(t: torch.Tensor, beta_max: float) -> torch.Tensor:
    """sigma_t^2 = int_0^t beta_max min(u, 1 - u)^2 du (closed form, exact at t = 0 and t = 1)."""
    return beta_max * torch.where(t <= 0.5, t**3 / 3, 1 / 12 - (1 - t) ** 3 / 3)


def sigma_fwd(t: TimeLike, beta_max: float = 1.0) -> torch.Tensor:
    """Forward std sigma_t = sqrt(int_0^t beta), t in [0, 1]; float64 tensor shaped like `t`."""
    return variance_fwd(as_time(t), beta_max).sqrt()


def sigma_bwd(t: TimeLike, beta_max: float = 1.0) -> torch.Tensor:
    """Backward std sigma_bar_t = sigma_{1-t} = sqrt(int_t^1 beta); float64, shaped like `t`."""
    return variance_fwd(1 - as_time(t), beta_max).sqrt()


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
    t = as_time(t)
    var_fwd = variance_fwd(t, beta_max)
    var_bwd = variance_fwd(1 - t, beta_max)
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
    var_t = variance_fwd(as_time(t), beta_max)
    var_s = variance_fwd(as_time(s, var_t.device), beta_max)
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
    x_t = sample.to(work_dtype(sample))
    sigma = expand_like(sigma_fwd(as_time(t, sample.device), beta_max), x_t)
    return (x_t - sigma * model_output.to(x_t.dtype)).to(sample.dtype)


def check_generators(
    generator: torch.Generator | list[torch.Generator] | None, batch_size: int
) -> None:
    """Refuse a list of generators that does not hold one generator per batch item."""
    if isinstance(generator, list) and len(generator) != batch_size:
        raise A2SBInputError(
            f"got {len(generator)} generators for a batch of {batch_size} items; pass one "
            "torch.Generator, or a list with one per batch item"
        )


def randn_like_sample(
    sample: torch.Tensor, generator: torch.Generator | list[torch.Generator] | None = None
) -> torch.Tensor:
    """A standard normal draw shaped and typed like `sample`, on its device, from `generator`.

    A CPU generator draws on the CPU and moves the result, so seeds give the same numbers on
    every device; a list of generators, one per batch item, draws item i from generator i
    (diffusers' `randn_tensor`).
    """
    check_generators(generator, sample.shape[0])
    return randn_tensor(sample.shape, generator=generator, device=sample.device, dtype=sample.dtype)

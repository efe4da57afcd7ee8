import pytest
import torch

from a2sb.errors import A2SBInputError
from a2sb.schedulers import I2SBScheduler, sample_bridge, sigma_fwd, sigma_sb


def degraded_pair(seed: int):
    """x0, its bandwidth-extension mask (upper half of the rows missing) and x1 (paper eq. 8)."""
    generator = torch.Generator().manual_seed(seed)
    x0 = torch.randn(2, 3, 16, 8, generator=generator)
    mask = torch.zeros(1, 1, 16, 1)
    mask[:, :, 8:] = 1
    x1 = x0 * (1 - mask) + mask * 0.5 * torch.randn(x0.shape, generator=generator)
    return x0, mask, x1


def perfect_denoiser(x0):
    """Outputs the true target (10) for the true x0 at the current x_t."""
    return lambda x_t, t: (x_t - x0) / sigma_fwd(t).float().reshape(-1, 1, 1, 1)


def imperfect_denoiser(x0):
    """A perfect denoiser plus an error that depends on x_t, so that the noise reaches x0_hat."""
    perfect = perfect_denoiser(x0)
    return lambda x_t, t: perfect(x_t, t) + 0.5 * x_t


def scheduler_loop(scheduler, model, x1, mask, generator):
    """The same restoration written with I2SBScheduler.step."""
    sample = x1
    for t in scheduler.timesteps:
        t_model = t.expand(x1.shape[0])
        out = scheduler.step(
            model(sample, t_model), t, sample, generator, mask=mask, degraded_samples=x1
        )
        sample = out.prev_sample
    return out.pred_original_sample


@pytest.mark.parametrize("ot_ode", [False, True])
def test_perfect_denoiser_keeps_known_region_and_recovers_missing(ot_ode):
    x0, mask, x1 = degraded_pair(0)
    grid = torch.linspace(1, 0.05, 50)
    generator = torch.Generator().manual_seed(1)
    x0_hat = sample_bridge(
        perfect_denoiser(x0), x1, grid, mask=mask, generator=generator, ot_ode=ot_ode
    )
    known = mask.expand_as(x0) == 0
    assert torch.equal(x0_hat[known], x1[known])
    torch.testing.assert_close(x0_hat[~known], x0[~known], atol=1e-5, rtol=0)


def test_known_region_follows_bridge_marginal_of_x1():
    # After each step the known region is x1 + sigma_SB(s) eps: exact x1 under ot_ode, and a
    # draw whose std is sigma_SB(s) otherwise (5 standard errors of n samples).
    x0, mask, x1 = degraded_pair(2)
    x0, x1 = x0.repeat(64, 1, 1, 1), x1.repeat(64, 1, 1, 1)
    known = mask.expand_as(x0) == 0
    n = int(known.sum())
    deviations = {}

    def record(info):
        deviations[info["t_next"]] = (info["x"] - x1)[known]

    grid = torch.tensor([1.0, 0.75, 0.5, 0.25])
    generator = torch.Generator().manual_seed(3)
    sample_bridge(perfect_denoiser(x0), x1, grid, mask, generator, callback=record)
    for s, deviation in deviations.items():
        std = sigma_sb(s).item()
        assert abs(deviation.std().item() - std) < 5 * std / (2 * n) ** 0.5
    sample_bridge(perfect_denoiser(x0), x1, grid, mask, ot_ode=True, callback=record)
    assert all(torch.equal(d, torch.zeros_like(d)) for d in deviations.values())


@pytest.mark.parametrize("with_mask", [False, True])
def test_functional_sampler_equals_scheduler_step_loop(with_mask):
    x0, mask, x1 = degraded_pair(4)
    mask = mask if with_mask else None
    model = imperfect_denoiser(x0)
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(12)
    looped = scheduler_loop(scheduler, model, x1, mask, torch.Generator().manual_seed(5))
    functional = sample_bridge(
        model, x1, scheduler.grid, mask=mask, generator=torch.Generator().manual_seed(5)
    )
    assert torch.equal(functional, looped)


def test_ot_ode_sampler_is_deterministic_and_noisy_sampler_depends_on_seed():
    x0, mask, x1 = degraded_pair(6)
    model = imperfect_denoiser(x0)
    grid = torch.linspace(1, 0.05, 6)
    assert torch.equal(
        sample_bridge(model, x1, grid, ot_ode=True), sample_bridge(model, x1, grid, ot_ode=True)
    )

    def draw(seed):
        return sample_bridge(model, x1, grid, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(7), draw(7))
    assert not torch.allclose(draw(7), draw(8))


def test_callback_sees_every_step_and_model_gets_batch_times():
    x0, _, x1 = degraded_pair(7)
    seen_times, steps = [], []

    def model(x_t, t):
        assert t.shape == (x1.shape[0],) and t.dtype == torch.float32
        seen_times.append(t[0].item())
        return torch.zeros_like(x_t)

    sample_bridge(model, x1, [1.0, 0.5, 0.05], callback=lambda info: steps.append(info["i"]))
    assert seen_times == [1.0, 0.5]
    assert steps == [0, 1]


@pytest.mark.parametrize(
    "grid", [[1.0], [0.5, 0.7], [1.0, 0.5, 0.5], [1.2, 0.5], [1.0, -0.1], [[1.0, 0.5]]]
)
def test_bad_grid_is_refused(grid):
    x = torch.zeros(1, 3, 2, 2)
    with pytest.raises(A2SBInputError, match="time grid"):
        sample_bridge(lambda x_t, t: x_t, x, grid)

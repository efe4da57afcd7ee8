"""DBIMScheduler: the implicit bridge sampler (docs/concepts.md, "Fast sampling with DBIM")."""

import pytest
import torch

from a2sb.errors import A2SBInputError
from a2sb.schedulers import (
    DBIMScheduler,
    I2SBScheduler,
    bridge_coefficients,
    sigma_fwd,
)
from a2sb.schedulers.samplers import describe_sampler, with_sampler


def _tensors(seed: int, shape=(2, 3, 16, 8)):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=generator) for _ in range(4)]


def _perfect_output(x0: torch.Tensor, x_t: torch.Tensor, t: float) -> torch.Tensor:
    """What a network that knows x0 outputs at (x_t, t): the target (10) (x_t - x0) / sigma_t."""
    return (x_t - x0) / sigma_fwd(t).float()


@pytest.mark.parametrize("step_index", [0, 24, 48])
def test_eta_1_equals_i2sb_step_for_the_same_noise(step_index):
    i2sb, dbim = I2SBScheduler(), DBIMScheduler(eta=1.0)
    i2sb.set_timesteps(49)
    dbim.set_timesteps(49)
    t = i2sb.timesteps[step_index]
    x0, x1, z_t, noise = _tensors(step_index)
    a, b, c = bridge_coefficients(t.double())
    x_t = (a * x0 + b * x1 + c * z_t).float()
    output = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(99))
    mask = (torch.arange(16) >= 9).float().reshape(1, 1, 16, 1).expand(2, 3, 16, 8)
    expected = i2sb.step(output, t, x_t, mask=mask, degraded_samples=x1, noise=noise)
    got = dbim.step(output, t, x_t, mask=mask, degraded_samples=x1, noise=noise)
    torch.testing.assert_close(got.prev_sample, expected.prev_sample, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        got.pred_original_sample, expected.pred_original_sample, atol=1e-6, rtol=0
    )


def test_booting_step_is_the_same_for_every_eta():
    x0, x1, _, noise = _tensors(3)
    output = torch.randn(x0.shape, generator=torch.Generator().manual_seed(5))
    results = []
    for eta in (0.0, 0.5, 1.0):
        scheduler = DBIMScheduler(eta=eta)
        scheduler.set_timesteps(5)
        results.append(scheduler.step(output, 1.0, x1, degraded_samples=x1, noise=noise))
    for result in results[1:]:
        torch.testing.assert_close(result.prev_sample, results[0].prev_sample)


def test_eta_0_with_a_perfect_model_lands_on_the_marginal_and_recovers_x0_in_5_steps():
    scheduler = DBIMScheduler(eta=0.0)
    scheduler.set_timesteps(5)
    x0, x1, _, z_boot = _tensors(7)
    sample = x1
    for t in scheduler.timesteps:
        output = _perfect_output(x0, sample, float(t))
        sample, pred_x0 = scheduler.step(
            output, t, sample, return_dict=False, degraded_samples=x1, noise=z_boot
        )
        # Deterministic after booting: x_s stays exactly on a_s x0 + b_s x1 + c_s z_boot.
        a, b, c = bridge_coefficients(scheduler.previous_timestep(t))
        torch.testing.assert_close(
            sample, (a * x0 + b * x1 + c * z_boot).float(), atol=1e-5, rtol=0
        )
    torch.testing.assert_close(pred_x0, x0, atol=1e-5, rtol=0)


def test_eta_0_draws_noise_only_at_booting():
    scheduler = DBIMScheduler(eta=0.0)
    scheduler.set_timesteps(4)
    assert [scheduler.needs_noise(t) for t in scheduler.timesteps] == [True, False, False, False]
    assert DBIMScheduler(eta=0.3).needs_noise(0.5)
    assert not I2SBScheduler(ot_ode=True).needs_noise(1.0)


@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_marginal_variance_is_kept(eta):
    """Monte Carlo with a perfect model: x_s - a_s x0 - b_s x1 has std c_s at every step."""
    scheduler = DBIMScheduler(eta=eta)
    scheduler.set_timesteps(6)
    shape = (20000,)
    x0 = torch.zeros(shape)
    x1 = torch.ones(shape)
    generator = torch.Generator().manual_seed(11)
    sample = x1
    for t in scheduler.timesteps:
        output = _perfect_output(x0, sample, float(t))
        sample = scheduler.step(output, t, sample, generator=generator, degraded_samples=x1)
        sample = sample.prev_sample
        a, b, c = bridge_coefficients(scheduler.previous_timestep(t))
        residual = sample - (a * x0 + b * x1).float()
        assert residual.std().item() == pytest.approx(c.item(), rel=0.03)
        assert residual.mean().item() == pytest.approx(0.0, abs=0.03 * c.item())


@pytest.mark.parametrize("eta", [0.0, 0.4, 1.0])
def test_known_content_stays_x1_plus_c_s_times_noise(eta):
    scheduler = DBIMScheduler(eta=eta)
    scheduler.set_timesteps(5)
    x0, x1, _, z_boot = _tensors(13)
    mask = (torch.arange(16) >= 10).float().reshape(1, 1, 16, 1).expand_as(x1)
    generator = torch.Generator().manual_seed(2)
    sample = x1
    for index, t in enumerate(scheduler.timesteps):
        noise = z_boot if index == 0 else torch.randn(x1.shape, generator=generator)
        output = torch.randn(x1.shape, generator=generator)  # any network
        previous = sample
        sample = scheduler.step(
            output, t, sample, mask=mask, degraded_samples=x1, noise=noise
        ).prev_sample
        s = scheduler.previous_timestep(t)
        _, _, c_s = bridge_coefficients(s)
        known = mask == 0
        if index == 0:
            expected = x1 + c_s.float() * noise
        else:
            _, _, c_t = bridge_coefficients(t.double())
            implied = (previous - x1) / c_t.float()
            expected = x1 + c_s.float() * ((1 - eta**2) ** 0.5 * implied + eta * noise)
        torch.testing.assert_close(sample[known], expected[known], atol=1e-5, rtol=0)


@pytest.mark.parametrize("eta", [-0.1, 1.5, float("nan"), "0.5"])
def test_eta_outside_0_1_is_refused(eta):
    with pytest.raises(A2SBInputError, match=r"eta=.* must lie in \[0, 1\]"):
        DBIMScheduler(eta=eta)


def test_step_without_degraded_samples_is_refused():
    scheduler = DBIMScheduler()
    scheduler.set_timesteps(3)
    x = torch.zeros(1, 3, 4, 4)
    with pytest.raises(A2SBInputError, match="needs degraded_samples"):
        scheduler.step(x, 1.0, x)


def test_steps_below_1_are_refused():
    with pytest.raises(A2SBInputError, match=r"must lie in \[1, 1000\]"):
        DBIMScheduler().set_timesteps(0)


def test_with_sampler_swaps_and_keeps_the_bridge():
    i2sb = I2SBScheduler(t_cutoffs=[0.5], t_min=0.1)
    dbim = with_sampler(i2sb, "dbim", eta=0.3)
    assert isinstance(dbim, DBIMScheduler) and dbim.config.eta == 0.3
    assert (dbim.config.t_cutoffs, dbim.config.t_min) == ([0.5], 0.1)
    assert with_sampler(dbim, None) is dbim
    assert with_sampler(dbim, None, eta=1.0).config.eta == 1.0
    assert isinstance(with_sampler(dbim, "i2sb"), I2SBScheduler)
    assert describe_sampler(dbim, 8, "shifted") == "dbim (eta 0.3), 8 steps, shifted windows"


@pytest.mark.parametrize(
    ("sampler", "eta", "message"),
    [("euler", None, "unknown sampler 'euler'"), (None, 0.5, "eta is an option of the dbim")],
)
def test_with_sampler_refuses_what_does_not_exist(sampler, eta, message):
    with pytest.raises(A2SBInputError, match=message):
        with_sampler(I2SBScheduler(), sampler, eta)


@pytest.mark.parametrize("t_range", [(0.5, 1.0), (0.2, 0.3)])
def test_training_times_drawn_in_a_range_stay_inside_it(t_range):
    t = DBIMScheduler().sample_training_t(5000, torch.Generator().manual_seed(0), t_range=t_range)
    assert t.min() >= t_range[0] and t.max() < t_range[1]


@pytest.mark.parametrize("t_range", [(0.5, 0.5), (-0.1, 0.5), (0.2, 1.2)])
def test_a_bad_training_range_is_refused(t_range):
    with pytest.raises(A2SBInputError, match="must be \\(lo, hi\\) with 0 <= lo < hi <= 1"):
        I2SBScheduler().sample_training_t(4, t_range=t_range)

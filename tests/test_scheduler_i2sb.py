import math

import pytest
import torch
from diffusers import DDPMScheduler

from a2sb.errors import A2SBInputError
from a2sb.schedulers import I2SBScheduler, I2SBSchedulerOutput

REFERENCE_T = [0.05, 0.25, 0.5, 0.75]
REFERENCE_SIGMA = [0.00645, 0.07217, 0.20412, 0.27951]
REFERENCE_SIGMA_SB = [0.00645, 0.06988, 0.14434, 0.06988]


def variance_closed_form(t: float, beta_max: float = 1.0) -> float:
    """sigma_t^2, the integral of beta, written independently of the library (docs/concepts.md,
    "The bridge")."""
    if t <= 0.5:
        return beta_max * t**3 / 3
    return beta_max / 12 - beta_max * (1 - t) ** 3 / 3


def perfect_model(scheduler, x0):
    """A network that outputs the true target (10) for the true x0 at the current x_t."""
    return lambda x_t, t: (x_t - x0) / scheduler.sigma_fwd(t).float()


# --- noise schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize("t, expected", list(zip(REFERENCE_T, REFERENCE_SIGMA, strict=True)))
def test_sigma_fwd_matches_spec_reference(t, expected):
    assert I2SBScheduler().sigma_fwd(t).item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("t, expected", list(zip(REFERENCE_T, REFERENCE_SIGMA_SB, strict=True)))
def test_sigma_sb_matches_spec_reference(t, expected):
    assert I2SBScheduler().sigma_sb(t).item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("t", REFERENCE_T)
def test_marginal_coefficients_match_closed_form(t):
    # With sigma_t^2 + sigma_bar_t^2 = 1/12: b = 12 sigma_t^2 and a = 12 sigma_{1-t}^2.
    a, b, std = I2SBScheduler().bridge_coefficients(t)
    assert a.item() == pytest.approx(12 * variance_closed_form(1 - t), abs=1e-5)
    assert b.item() == pytest.approx(12 * variance_closed_form(t), abs=1e-5)
    assert (a + b).item() == pytest.approx(1.0, abs=1e-12)
    expected_std = math.sqrt(12 * variance_closed_form(t) * variance_closed_form(1 - t))
    assert std.item() == pytest.approx(expected_std, abs=1e-5)


@pytest.mark.parametrize("beta_max", [1.0, 2.5])
def test_sigma_at_one_squared_is_beta_max_over_12(beta_max):
    scheduler = I2SBScheduler(beta_max=beta_max)
    assert scheduler.sigma_fwd(1.0).item() ** 2 == pytest.approx(beta_max / 12, rel=1e-12)
    assert scheduler.sigma_bwd(0.0).item() ** 2 == pytest.approx(beta_max / 12, rel=1e-12)


def test_sigma_bwd_is_sigma_fwd_mirrored():
    scheduler = I2SBScheduler()
    t = torch.linspace(0, 1, 11)
    torch.testing.assert_close(scheduler.sigma_bwd(t), scheduler.sigma_fwd(1 - t))


# --- marginal (9) and target (10) --------------------------------------------------------------


def test_marginal_is_exactly_x0_at_t0_and_x1_at_t1():
    generator = torch.Generator().manual_seed(0)
    x0, x1, noise = torch.randn(3, 2, 3, 8, 4, generator=generator)
    scheduler = I2SBScheduler()
    assert torch.equal(scheduler.add_noise(x0, x1, 0.0, noise), x0)
    assert torch.equal(scheduler.add_noise(x0, x1, 1.0, noise), x1)


def test_add_noise_broadcasts_batch_timesteps_over_trailing_dims():
    generator = torch.Generator().manual_seed(1)
    x0, x1, noise = torch.randn(3, 2, 3, 8, 4, generator=generator)
    scheduler = I2SBScheduler()
    t = torch.tensor([0.2, 0.8])
    batched = scheduler.add_noise(x0, x1, t, noise)
    for i in range(2):
        single = scheduler.add_noise(x0[i], x1[i], t[i].item(), noise[i])
        torch.testing.assert_close(batched[i], single)
    a, b, std = scheduler.bridge_coefficients(0.2)
    expected = a.float() * x0[0] + b.float() * x1[0] + std.float() * noise[0]
    torch.testing.assert_close(batched[0], expected)


def test_add_noise_keeps_half_precision_dtype():
    x0, x1, noise = torch.randn(3, 1, 3, 4, 4).to(torch.bfloat16)
    x_t = I2SBScheduler().add_noise(x0, x1, torch.tensor([0.3]), noise)
    assert x_t.dtype == torch.bfloat16


def test_predict_x0_inverts_target():
    generator = torch.Generator().manual_seed(2)
    x0, x1, noise = torch.randn(3, 4, 3, 8, 4, generator=generator)
    scheduler = I2SBScheduler()
    t = torch.tensor([0.01, 0.3, 0.5, 0.99])
    x_t = scheduler.add_noise(x0, x1, t, noise)
    target = scheduler.get_target(x0, x_t, t)
    torch.testing.assert_close(scheduler.predict_x0(target, t, x_t), x0, atol=1e-5, rtol=0)


def test_target_is_difference_over_sigma():
    x0, x_t = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    target = I2SBScheduler().get_target(x0, x_t, 0.25)
    torch.testing.assert_close(target, torch.full_like(x_t, 1 / 0.0721687836))


def test_target_at_t0_is_refused():
    x = torch.zeros(1, 3, 2, 2)
    with pytest.raises(A2SBInputError, match="undefined at t = 0"):
        I2SBScheduler().get_target(x, x, torch.tensor([0.0]))


# --- sampling grid -----------------------------------------------------------------------------


def test_49_steps_reproduce_released_grid():
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(49)
    released = torch.linspace(1, 0.05, 50, dtype=torch.float64)
    assert scheduler.timesteps.shape == (49,)
    torch.testing.assert_close(scheduler.timesteps.double(), released[:-1], atol=1e-7, rtol=0)
    torch.testing.assert_close(scheduler.grid.double(), released, atol=1e-7, rtol=0)
    assert scheduler.previous_timestep(scheduler.timesteps[-1]).item() == pytest.approx(0.05)


def test_one_step_grid_calls_model_once_at_t1():
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(1)
    assert scheduler.timesteps.tolist() == [1.0]
    assert scheduler.previous_timestep(1.0) == pytest.approx(0.05)


def test_previous_timestep_follows_grid_for_floats_and_tensors():
    scheduler = I2SBScheduler(t_min=0.0)
    scheduler.set_timesteps(4)
    assert scheduler.previous_timestep(0.75) == pytest.approx(0.5)
    previous = scheduler.previous_timestep(torch.tensor([1.0, 0.25]))
    torch.testing.assert_close(previous, torch.tensor([0.75, 0.0]))


def test_previous_timestep_off_grid_is_refused():
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(4)
    with pytest.raises(A2SBInputError, match="not on the sampling grid"):
        scheduler.previous_timestep(0.6)


def test_step_before_set_timesteps_is_refused():
    x = torch.zeros(1, 3, 2, 2)
    with pytest.raises(A2SBInputError, match="call scheduler.set_timesteps"):
        I2SBScheduler().step(x, 1.0, x)


# --- sampling step (19) ------------------------------------------------------------------------


def test_step_matches_equation_19_written_out():
    scheduler = I2SBScheduler(t_min=0.1)
    scheduler.set_timesteps(3)  # grid 1.0, 0.7, 0.4, 0.1
    t, s = 0.7, 0.4
    generator = torch.Generator().manual_seed(3)
    x_t, net, noise = torch.randn(3, 2, 3, 4, 4, generator=generator)
    out = scheduler.step(net, t, x_t, noise=noise)
    var_t, var_s = variance_closed_form(t), variance_closed_form(s)
    var_delta = var_t - var_s
    x0_hat = x_t - math.sqrt(var_t) * net
    expected = (
        var_delta / var_t * x0_hat
        + var_s / var_t * x_t
        + math.sqrt(var_s * var_delta / var_t) * noise
    )
    torch.testing.assert_close(out.pred_original_sample, x0_hat)
    torch.testing.assert_close(out.prev_sample, expected)


def test_step_returns_tuple_without_return_dict():
    scheduler = I2SBScheduler(ot_ode=True)
    scheduler.set_timesteps(2)
    x = torch.randn(1, 3, 2, 2)
    out = scheduler.step(x, scheduler.timesteps[0], x)
    as_tuple = scheduler.step(x, scheduler.timesteps[0], x, return_dict=False)
    assert isinstance(out, I2SBSchedulerOutput) and isinstance(as_tuple, tuple)
    assert torch.equal(as_tuple[0], out.prev_sample)
    assert torch.equal(as_tuple[1], out.pred_original_sample)


def test_step_is_stateless():
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(5)
    x, net = torch.randn(2, 1, 3, 4, 4)
    t = scheduler.timesteps[2]
    first = scheduler.step(net, t, x, torch.Generator().manual_seed(4)).prev_sample
    scheduler.step(net, scheduler.timesteps[0], x, torch.Generator().manual_seed(9))
    again = scheduler.step(net, t, x, torch.Generator().manual_seed(4)).prev_sample
    assert torch.equal(first, again)


def test_step_with_per_sample_timesteps_equals_separate_steps():
    scheduler = I2SBScheduler(ot_ode=True)
    scheduler.set_timesteps(5)
    x, net = torch.randn(2, 2, 3, 4, 4)
    t = scheduler.timesteps[[1, 3]]
    batched = scheduler.step(net, t, x).prev_sample
    for i in range(2):
        single = scheduler.step(net[i : i + 1], t[i], x[i : i + 1]).prev_sample
        torch.testing.assert_close(batched[i : i + 1], single)


def test_step_keeps_half_precision_dtype():
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(3)
    x = torch.randn(1, 3, 4, 4, dtype=torch.float16)
    out = scheduler.step(x, scheduler.timesteps[1], x, torch.Generator().manual_seed(0))
    assert out.prev_sample.dtype == out.pred_original_sample.dtype == torch.float16


def test_ot_ode_is_deterministic():
    scheduler = I2SBScheduler(ot_ode=True)
    scheduler.set_timesteps(3)
    x, net = torch.randn(2, 1, 3, 4, 4)
    first = scheduler.step(net, scheduler.timesteps[1], x).prev_sample
    second = scheduler.step(net, scheduler.timesteps[1], x).prev_sample
    assert torch.equal(first, second)


def test_same_seed_same_sample_different_seed_different_sample():
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(3)
    x, net = torch.randn(2, 1, 3, 4, 4)

    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        return scheduler.step(net, scheduler.timesteps[1], x, generator).prev_sample

    assert torch.equal(draw(5), draw(5))
    assert not torch.allclose(draw(5), draw(6))


def test_steps_with_perfect_model_follow_bridge_marginal():
    # Starting from x1 at t = 1, every step must land on q(x_s | x0, x1): mean a x0 + b x1,
    # std sigma_SB(s). Checked to 5 standard errors of n independent samples.
    n = 200_000
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(4)
    x0, x1 = torch.full((n,), 0.7, dtype=torch.float64), torch.full((n,), -1.3, dtype=torch.float64)
    model = perfect_model(scheduler, x0)
    generator = torch.Generator().manual_seed(10)
    x_t = x1
    for t in scheduler.timesteps:
        x_t = scheduler.step(model(x_t, t), t, x_t, generator).prev_sample
        s = scheduler.previous_timestep(t)
        a, b, std = (c.item() for c in scheduler.bridge_coefficients(s))
        mean_error = abs(x_t.mean().item() - (a * 0.7 + b * -1.3))
        var_error = abs(x_t.var().item() - std**2)
        assert mean_error < 5 * std / math.sqrt(n)
        assert var_error < 5 * std**2 * math.sqrt(2 / (n - 1))


@pytest.mark.parametrize("ot_ode", [False, True])
def test_full_loop_with_perfect_model_returns_x0(ot_ode):
    generator = torch.Generator().manual_seed(11)
    x0, x1 = torch.randn(2, 2, 3, 16, 8, generator=generator)
    scheduler = I2SBScheduler(ot_ode=ot_ode)
    scheduler.set_timesteps(49)
    model = perfect_model(scheduler, x0)
    x_t = x1
    for t in scheduler.timesteps:
        out = scheduler.step(model(x_t, t), t, x_t, generator)
        x_t = out.prev_sample
    torch.testing.assert_close(out.pred_original_sample, x0, atol=1e-5, rtol=0)


def test_step_with_mask_reimposes_known_content():
    scheduler = I2SBScheduler(ot_ode=True)
    scheduler.set_timesteps(3)
    x1, x_t, net = torch.randn(3, 1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 2:, :] = 1
    out = scheduler.step(net, scheduler.timesteps[1], x_t, mask=mask, degraded_samples=x1)
    known = mask.expand_as(x1) == 0
    assert torch.equal(out.prev_sample[known], x1[known])
    assert torch.equal(out.pred_original_sample[known], x1[known])
    plain = scheduler.step(net, scheduler.timesteps[1], x_t)
    missing = ~known
    assert torch.equal(out.pred_original_sample[missing], plain.pred_original_sample[missing])
    assert torch.equal(out.prev_sample[missing], plain.prev_sample[missing])


def test_step_with_mask_but_no_degraded_samples_is_refused():
    scheduler = I2SBScheduler()
    scheduler.set_timesteps(3)
    x = torch.zeros(1, 3, 2, 2)
    with pytest.raises(A2SBInputError, match="no degraded_samples"):
        scheduler.step(x, 1.0, x, mask=torch.ones_like(x))


# --- partitions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "t, expected", [(0.0, 0), (0.4999, 0), (0.5, 1), (0.5001, 1), (0.99, 1), (1.0, 1)]
)
def test_two_split_routing_around_cutoff(t, expected):
    assert I2SBScheduler(t_cutoffs=[0.5]).partition_index(t) == expected


def test_three_split_routing_of_tensor_keeps_shape():
    scheduler = I2SBScheduler(t_cutoffs=[0.3, 0.7])
    t = torch.tensor([[0.0, 0.2999, 0.3], [0.6999, 0.7, 1.0]])
    index = scheduler.partition_index(t)
    assert index.dtype == torch.int64
    assert index.tolist() == [[0, 0, 1], [1, 2, 2]]
    assert scheduler.partition_index(torch.tensor(0.3)).shape == ()


def test_no_cutoffs_route_everything_to_model_0():
    scheduler = I2SBScheduler()
    assert scheduler.num_partitions == 1
    assert scheduler.partition_index(torch.tensor([0.0, 0.5, 1.0])).tolist() == [0, 0, 0]


@pytest.mark.parametrize("partition", [0, 1, 2])
def test_training_times_stay_inside_their_partition(partition):
    scheduler = I2SBScheduler(t_cutoffs=[0.3, 0.7])
    low, high = [(0.0, 0.3), (0.3, 0.7), (0.7, 1.0)][partition]
    generator = torch.Generator().manual_seed(partition)
    t = scheduler.sample_training_t(20_000, generator, partition=partition)
    assert t.dtype == torch.float32 and t.shape == (20_000,)
    # Bounds compared in float32, as the network and partition_index see the times.
    assert (t >= max(low, scheduler.config.t_train_min)).all()
    assert (t < high).all()
    assert (scheduler.partition_index(t) == partition).all()
    assert t.min().item() < low + 0.01 * (high - low) and t.max().item() > high - 0.01


def test_training_times_without_partition_cover_unit_interval_but_not_zero():
    t = I2SBScheduler().sample_training_t(20_000, torch.Generator().manual_seed(0))
    assert t.min().item() >= 1e-4 and t.max().item() < 1.0
    assert t.mean().item() == pytest.approx(0.5, abs=0.01)


def test_training_times_are_reproducible_with_generator():
    scheduler = I2SBScheduler()
    first = scheduler.sample_training_t(8, torch.Generator().manual_seed(3))
    second = scheduler.sample_training_t(8, torch.Generator().manual_seed(3))
    assert torch.equal(first, second)


@pytest.mark.parametrize("partition", [2, -1])
def test_bad_partition_index_is_refused(partition):
    scheduler = I2SBScheduler(t_cutoffs=[0.5])
    with pytest.raises(A2SBInputError, match=r"partition .* does not exist.*pass 0\.\.1"):
        scheduler.sample_training_t(4, partition=partition)


# --- config ------------------------------------------------------------------------------------


def test_config_round_trips_through_scheduler_config_json(tmp_path):
    scheduler = I2SBScheduler(beta_max=0.5, t_min=0.1, ot_ode=True, t_cutoffs=(0.25, 0.5))
    scheduler.save_pretrained(tmp_path)
    assert (tmp_path / "scheduler_config.json").is_file()
    loaded = I2SBScheduler.from_pretrained(tmp_path)
    assert loaded.config.t_cutoffs == [0.25, 0.5]
    for key in ("beta_max", "t_min", "ot_ode", "t_cutoffs", "t_train_min"):
        assert loaded.config[key] == scheduler.config[key]


def test_from_config_of_another_instance_swaps_in():
    other = I2SBScheduler(t_cutoffs=[0.5], ot_ode=True)
    swapped = I2SBScheduler.from_config(other.config)
    assert swapped.config.t_cutoffs == [0.5] and swapped.config.ot_ode is True
    assert swapped.partition_index(0.75) == 1


def test_diffusers_scheduler_config_loads_with_paper_defaults():
    # DDPM keys (num_train_timesteps, beta_start, ...) mean nothing here and are ignored.
    scheduler = I2SBScheduler.from_config(DDPMScheduler().config)
    assert scheduler.config.beta_max == 1.0 and scheduler.config.t_min == 0.05
    assert scheduler.config.t_cutoffs == []


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [-0.1, 1.5, float("nan")])
def test_time_outside_unit_interval_is_refused(t):
    x = torch.zeros(1, 3, 2, 2)
    with pytest.raises(A2SBInputError, match=r"outside \[0, 1\]"):
        I2SBScheduler().add_noise(x, x, torch.tensor([t]), x)


@pytest.mark.parametrize("steps", [0, -3, 2.5])
def test_bad_num_inference_steps_is_refused(steps):
    with pytest.raises(A2SBInputError, match="num_inference_steps=.* must (be|lie)"):
        I2SBScheduler().set_timesteps(steps)


@pytest.mark.parametrize("cutoffs", [[0.7, 0.3], [0.5, 0.5], [0.0], [1.0]])
def test_bad_cutoffs_are_refused(cutoffs):
    with pytest.raises(A2SBInputError, match="strictly increasing times inside"):
        I2SBScheduler(t_cutoffs=cutoffs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta_max": 0.0}, "beta_max=0.0 must be a positive number"),
        ({"t_min": 1.0}, r"t_min=1.0 must lie in \[0, 1\)"),
        ({"t_train_min": 0.0}, r"t_train_min=0.0 must lie in \(0, 1.0\)"),
    ],
)
def test_bad_config_values_are_refused(kwargs, message):
    with pytest.raises(A2SBInputError, match=message):
        I2SBScheduler(**kwargs)


def test_timesteps_not_matching_batch_are_refused():
    x = torch.zeros(2, 3, 2, 2)
    with pytest.raises(A2SBInputError, match="3 timesteps for a batch of 2"):
        I2SBScheduler().add_noise(x, x, torch.tensor([0.1, 0.2, 0.3]), x)

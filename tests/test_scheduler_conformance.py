"""Every registered scheduler behaves as diffusers' schedulers do (after diffusers'
`SchedulerCommonTest`): its config survives saving and every swap, a swap back runs as the
original did, steps are shaped like their sample and reproducible, and `return_dict=False`
gives the output's fields. Parametrized over the registry (`a2sb.names.SAMPLERS`), so a
new sampler is checked as soon as it is registered; tiny tensors, CPU."""

import itertools
import subprocess
import sys
import typing

import pytest
import torch

from a2sb.cli import build_parser
from a2sb.errors import A2SBInputError
from a2sb.names import SAMPLER_NAMES, SAMPLERS
from a2sb.schedulers import (
    BridgeScheduler,
    DBIMScheduler,
    I2SBScheduler,
    scheduler_class,
    scheduler_classes,
)
from a2sb.schedulers.registry import config_keys, sampler_name
from a2sb.schedulers.samplers import with_sampler

CLASSES = scheduler_classes()
PAIRS = list(itertools.product(CLASSES, repeat=2))
BRIDGE = {"beta_max": 0.8, "t_min": 0.1, "t_cutoffs": [0.5], "t_train_min": 1e-3}
"""A bridge unlike the defaults, so that a swap that dropped any of it would show."""
OWN_OPTIONS = {I2SBScheduler: {"ot_ode": True}, DBIMScheduler: {"eta": 0.3}}
"""Each sampler's own options, unlike their defaults (a new sampler runs with its defaults)."""
SHAPE = (2, 3, 8, 6)


def configured(cls):
    return cls(**BRIDGE, **OWN_OPTIONS.get(cls, {}))


def own_config(scheduler) -> dict:
    """The config keys the scheduler's class takes, with their values."""
    return {key: scheduler.config[key] for key in config_keys(type(scheduler))}


def name(cls) -> str:
    return cls.__name__


def run(scheduler, steps=3, seed=0, return_dict=True, shape=SHAPE, dtype=torch.float32):
    """Sample with a fixed stand-in network and generator; every step's two outputs."""
    scheduler.set_timesteps(steps)
    x1 = torch.randn(shape, generator=torch.Generator().manual_seed(100), dtype=dtype)
    mask = (torch.arange(shape[2]) >= shape[2] // 2).to(dtype).reshape(1, 1, -1, 1)
    generator = torch.Generator().manual_seed(seed)
    sample, outputs = x1, []
    for t in scheduler.timesteps:
        network = torch.tanh(sample) * float(t)
        output = scheduler.step(
            network, t, sample, generator, return_dict, mask=mask, degraded_samples=x1
        )
        outputs.append(
            output if not return_dict else (output.prev_sample, output.pred_original_sample)
        )
        sample = outputs[-1][0]
    return outputs


def assert_same_run(got, expected):
    assert len(got) == len(expected)
    for (prev, pred), (prev_expected, pred_expected) in zip(got, expected, strict=True):
        assert torch.equal(prev, prev_expected) and torch.equal(pred, pred_expected)


# --- the registry ------------------------------------------------------------------------------


def test_the_registry_names_both_schedulers_in_order():
    assert CLASSES == [I2SBScheduler, DBIMScheduler]
    assert [scheduler_class(sampler) for sampler in SAMPLERS] == CLASSES


def test_every_list_of_samplers_derives_from_the_registry():
    restore = build_parser().command_parsers["restore"]
    choices = next(action.choices for action in restore._actions if action.dest == "sampler")
    assert list(choices) == list(SAMPLER_NAMES) == list(SAMPLERS)
    assert typing.get_args(BridgeScheduler) == tuple(CLASSES)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_with_sampler_by_name_gives_its_class_and_the_name_back(sampler):
    swapped = with_sampler(I2SBScheduler(**BRIDGE), sampler)
    assert type(swapped) is scheduler_class(sampler) and sampler_name(swapped) == sampler


def test_the_command_line_lists_samplers_without_importing_torch():
    code = (
        "import sys; from a2sb.cli import build_parser; build_parser(); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- compatibles and swaps ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_compatibles_holds_every_registered_scheduler(cls):
    compatibles = cls().compatibles
    assert set(compatibles) == set(CLASSES) and {I2SBScheduler, DBIMScheduler} <= set(compatibles)
    assert compatibles[0] is cls


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=name)
def test_from_config_there_and_back_gives_the_config_back_silently(a, b, caplog):
    original = configured(a)
    with caplog.at_level("WARNING"):
        there = b.from_config(original.config)
        back = a.from_config(there.config)
    assert "not expected" not in caplog.text
    assert {key: there.config[key] for key in BRIDGE} == BRIDGE
    assert own_config(back) == own_config(original)


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_a_switch_chain_back_to_the_class_runs_bit_for_bit(cls):
    scheduler = configured(cls)
    for other in [*CLASSES, *reversed(CLASSES), cls]:
        scheduler = other.from_config(scheduler.config)
    assert type(scheduler) is cls
    assert_same_run(run(scheduler), run(configured(cls)))


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_save_pretrained_then_from_pretrained_steps_identically(cls, tmp_path):
    original = configured(cls)
    original.save_pretrained(tmp_path)
    loaded = cls.from_pretrained(tmp_path)
    assert own_config(loaded) == own_config(original)
    expected = run(original)
    assert_same_run(run(loaded), expected)
    assert torch.equal(loaded.timesteps, original.timesteps)


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=name)
def test_a_saved_config_loads_into_every_compatible_class(a, b, tmp_path, caplog):
    configured(a).save_pretrained(tmp_path)
    with caplog.at_level("WARNING"):
        loaded = b.from_pretrained(tmp_path)
    assert "not expected" not in caplog.text
    assert type(loaded) is b and {key: loaded.config[key] for key in BRIDGE} == BRIDGE


# --- steps -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES, ids=name)
@pytest.mark.parametrize("shape", [(2, 3, 8, 6), (1, 1, 4, 4)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_step_outputs_are_shaped_and_typed_like_the_sample(cls, shape, dtype):
    for prev, pred in run(configured(cls), shape=shape, dtype=dtype):
        assert prev.shape == pred.shape == shape and prev.dtype == pred.dtype == dtype


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_return_dict_false_gives_the_fields_of_the_output(cls):
    assert_same_run(run(configured(cls), return_dict=False), run(configured(cls)))


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_the_same_seed_gives_the_same_run_and_another_seed_another(cls):
    assert_same_run(run(cls(**BRIDGE), seed=1), run(cls(**BRIDGE), seed=1))
    assert not torch.equal(run(cls(**BRIDGE), seed=1)[0][0], run(cls(**BRIDGE), seed=2)[0][0])


@pytest.mark.parametrize("cls", CLASSES, ids=name)
def test_a_generator_per_item_gives_each_item_the_step_of_its_own_generator(cls):
    scheduler = cls(**BRIDGE)
    scheduler.set_timesteps(3)
    t, x1 = scheduler.timesteps[0], torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))
    generators = [torch.Generator().manual_seed(seed) for seed in (1, 2)]
    batch = scheduler.step(torch.tanh(x1), t, x1, generators, degraded_samples=x1)
    for item, seed in enumerate((1, 2)):
        alone = scheduler.step(
            torch.tanh(x1[item : item + 1]),
            t,
            x1[item : item + 1],
            torch.Generator().manual_seed(seed),
            degraded_samples=x1[item : item + 1],
        )
        assert torch.equal(batch.prev_sample[item : item + 1], alone.prev_sample)


@pytest.mark.parametrize("cls", CLASSES, ids=name)
@pytest.mark.parametrize("count", [1, 3])
def test_a_list_of_generators_not_one_per_item_is_refused(cls, count):
    scheduler = cls(**BRIDGE)
    scheduler.set_timesteps(3)
    x1 = torch.zeros(SHAPE)
    generators = [torch.Generator().manual_seed(seed) for seed in range(count)]
    with pytest.raises(A2SBInputError, match=f"got {count} generators for a batch of 2 items"):
        scheduler.step(x1, scheduler.timesteps[0], x1, generators, degraded_samples=x1)

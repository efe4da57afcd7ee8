import json

import pytest

from a2sb.cli import main
from a2sb.errors import A2SBInputError
from a2sb.training.config import (
    TrainingConfig,
    load_training_config,
    save_training_config,
)


def test_defaults_are_the_papers():
    config = TrainingConfig()
    assert config.data.segment_samples == 130_560
    assert config.data.sampling_rate == 44100
    assert (config.optimizer.name, config.optimizer.learning_rate) == ("radam", 8e-5)
    assert config.optimizer.weight_decay == 0.0
    assert config.optimizer.max_grad_norm == 0.5
    assert config.bridge.t_range == (0.0, 1.0)
    assert config.masks.bandwidth_probability == 0.5
    assert config.masks.cutoff_range_hz == (2000.0, 16000.0)


def test_yaml_file_and_dotted_overrides(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("bridge:\n  t_range: [0.5, 1.0]\noptimizer:\n  learning_rate: 8e-5\n")
    config = load_training_config(
        path, ["optimizer.learning_rate=1e-4", "data.folders=[/a, /b]", "ema.enabled=true"]
    )
    assert config.bridge.t_range == (0.5, 1.0)
    assert config.optimizer.learning_rate == 1e-4
    assert config.data.folders == ["/a", "/b"]
    assert config.ema.enabled is True


def test_yaml_reads_exponent_without_point_as_a_number(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("optimizer:\n  learning_rate: 8e-5\n")
    assert load_training_config(path).optimizer.learning_rate == 8e-5


def test_json_file_and_mask_mix(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"masks": {"bandwidth_probability": 1.0}, "max_steps": 7}))
    config = load_training_config(path)
    assert config.masks.bandwidth_probability == 1.0
    assert config.max_steps == 7


def test_saved_config_loads_back_equal(tmp_path):
    config = load_training_config(None, ["bridge.t_range=[0.0, 0.5]", "data.folders=/music"])
    save_training_config(config, tmp_path / "saved.yaml")
    assert load_training_config(tmp_path / "saved.yaml") == config


def test_unknown_key_is_refused_with_a_suggestion():
    with pytest.raises(
        A2SBInputError,
        match=r"unknown config key 'optimizer.learnin_rate'.*"
        r"did you mean 'optimizer.learning_rate'",
    ):
        load_training_config(None, ["optimizer.learnin_rate=1e-4"])


def test_unknown_top_level_key_in_a_file_is_refused(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("max_step: 10\n")
    with pytest.raises(A2SBInputError, match="unknown config key 'max_step'.*'max_steps'"):
        load_training_config(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("batch_size=many", "batch_size must be an integer"),
        ("mixed_precision=fp8", "choose one of 'no', 'fp16', 'bf16'"),
        ("bridge.t_range=[0.6, 0.5]", r"t_range \[0.6, 0.5\] must satisfy"),
        ("bridge.t_range=0.5", "must be a list of 2 values"),
        ("optimizer=3", "optimizer must be a mapping"),
        ("lr", "not of the form key.sub=value"),
        ("hub.push_to_hub=true", "needs hub.hub_model_id"),
        ("masks.bandwidth_probability=2", r"must lie in \[0, 1\]"),
    ],
)
def test_bad_values_are_refused(override, message):
    with pytest.raises(A2SBInputError, match=message):
        load_training_config(None, [override])


def test_missing_config_file_is_refused(tmp_path):
    with pytest.raises(A2SBInputError, match="does not exist; check the --config path"):
        load_training_config(tmp_path / "nope.yaml")


def test_cli_prints_the_resolved_config(capsys):
    assert main(["train", "--print-config", "max_steps=12", "--init-from", "/weights"]) == 0
    printed = capsys.readouterr().out
    assert "max_steps: 12\n" in printed
    assert "init_from: /weights\n" in printed


def test_cli_bad_key_exits_2_with_one_line(capsys):
    assert main(["train", "--print-config", "optimiser.lr=1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("a2sb: unknown config key 'optimiser'")
    assert error.count("\n") == 1

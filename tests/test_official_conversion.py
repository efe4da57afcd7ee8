import argparse
from pathlib import Path

import pytest
import torch
from conftest import TINY_CHANNELS
from official_grammar import official_shapes, official_state_dict, release_file_content

from a2sb.errors import A2SBInputError
from a2sb.models import (
    A2SBPartitionedModel,
    RoPEUNet2DModel,
    convert_official_checkpoints,
    convert_official_state_dict,
    load_official_checkpoint,
    official_key_map,
    to_official_state_dict,
)
from a2sb.models.embeddings import time_embedding
from a2sb.models.official_conversion import order_partitions_by_name, t_range_from_name

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
FIXTURE = REFERENCE / "official-small-network.pt"
KEYS_FILE = REFERENCE / "official-a2sb-keys.txt"
PAPER_CHANNELS = [128, 256, 512, 768, 1024, 2048]


def _reference_shapes() -> dict[str, tuple[int, ...]]:
    if not KEYS_FILE.is_file():
        pytest.skip(f"{KEYS_FILE} not found: clone the shared/ reference folder beside the repo")
    shapes = {}
    for line in KEYS_FILE.read_text().splitlines():
        key, shape = line.split(" ", 1)
        shapes[key] = tuple(int(size) for size in shape.strip("[]").split(", "))
    return shapes


def _save_release_file(path: Path, state_dict: dict[str, torch.Tensor]) -> Path:
    torch.save(release_file_content(state_dict), path)
    return path


@pytest.fixture
def tiny_official() -> dict[str, torch.Tensor]:
    return official_state_dict(TINY_CHANNELS, [3, 4], seed=0)


def test_fixture_output_is_reproduced_through_a_release_file(tmp_path):
    if not FIXTURE.is_file():
        pytest.skip(f"{FIXTURE} not found: clone the shared/ reference folder beside the repo")
    fixture = torch.load(FIXTURE, weights_only=False)
    path = _save_release_file(tmp_path / "A2SB_small.ckpt", fixture["state_dict"])
    model = convert_official_checkpoints(
        [path], num_attention_heads=fixture["config"]["n_attn_heads"]
    )
    assert list(model.config.block_out_channels) == fixture["config"]["hidden_channels"]
    torch.testing.assert_close(time_embedding(fixture["t"]), fixture["emb"], rtol=0, atol=1e-6)
    with torch.inference_mode():
        output = model(fixture["x"], fixture["t"]).sample
    assert (output - fixture["out"]).abs().max().item() < 1e-4


def test_our_grammar_generator_matches_the_released_key_file():
    assert official_shapes(PAPER_CHANNELS, [3, 4]) == _reference_shapes()


def test_to_official_names_the_paper_model_exactly_like_the_release():
    with torch.device("meta"):
        model = RoPEUNet2DModel()
    converted = {key: tuple(tensor.shape) for key, tensor in to_official_state_dict(model).items()}
    assert converted == _reference_shapes()


def test_every_released_tensor_lands_on_its_parameter(tiny_official, tmp_path):
    path = _save_release_file(tmp_path / "A2SB_onesplit_0.0_1.0_release.ckpt", tiny_official)
    model = convert_official_checkpoints([path], num_attention_heads=1)
    ours = model.state_dict()
    key_map = official_key_map(model.config)
    assert set(key_map.values()) == set(ours)
    assert set(key_map) | {k for k in tiny_official if k.endswith("pos_emb.freqs")} == set(
        tiny_official
    )
    for official, tensor in tiny_official.items():
        if not official.endswith("pos_emb.freqs"):
            assert torch.equal(ours[key_map[official]], tensor), official
    assert key_map["enc_blocks.3.1.q_proj.weight"] == "encoder_levels.3.attentions.0.to_q.weight"
    assert key_map["dec_blocks.2.1.out_rest.2.bias"] == "decoder_levels.2.resnets.1.conv2.bias"


def test_to_official_inverts_the_conversion(tiny_official):
    model = convert_official_state_dict(tiny_official, num_attention_heads=1)
    back = to_official_state_dict(model)
    assert set(back) == set(tiny_official)
    for key, tensor in tiny_official.items():
        torch.testing.assert_close(back[key], tensor, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("enc_blocks.3.1.q_proj.weight", "enc_blocks.3.1.k_proj.weight"),
        ("enc_blocks.1.0.in_layers.2.weight", "enc_blocks.1.0.out_rest.2.weight"),
        ("dec_blocks.3.0.in_layers.0.weight", "dec_blocks.3.0.out_norm.weight"),
        ("middle_block.1.v_proj.bias", "middle_block.1.q_proj.bias"),
    ],
)
def test_swapping_two_same_shaped_tensors_changes_the_output(tiny_official, first, second):
    sample = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    swapped = dict(tiny_official)
    swapped[first], swapped[second] = tiny_official[second], tiny_official[first]
    with torch.no_grad():
        reference = convert_official_state_dict(tiny_official, 1)(sample, 0.4).sample
        output = convert_official_state_dict(swapped, 1)(sample, 0.4).sample
    assert not torch.allclose(output, reference, atol=1e-4)


def test_bare_state_dict_with_prefix_is_accepted(tiny_official, tmp_path):
    bare = {f"vf_model.{key}": tensor for key, tensor in tiny_official.items()}
    torch.save(bare, tmp_path / "bare.pt")
    model = convert_official_checkpoints([tmp_path / "bare.pt"], num_attention_heads=1)
    assert isinstance(model, RoPEUNet2DModel)


def _conversion_error(state_dict: dict[str, torch.Tensor]) -> str:
    with pytest.raises(A2SBInputError) as error:
        convert_official_state_dict(release_file_content(state_dict)["state_dict"], 1)
    return str(error.value)


def test_missing_key_is_named(tiny_official):
    del tiny_official["dec_blocks.1.3.k_proj.bias"]
    message = _conversion_error(tiny_official)
    assert "missing keys: dec_blocks.1.3.k_proj.bias" in message
    assert "does not match the A2SB network architecture" in message


def test_unexpected_key_is_named(tiny_official):
    tiny_official["enc_blocks.0.0.extra.weight"] = torch.zeros(3)
    assert "unexpected keys: enc_blocks.0.0.extra.weight" in _conversion_error(tiny_official)


def test_wrong_shape_is_named(tiny_official):
    tiny_official["enc_blocks.2.1.out_rest.2.weight"] = torch.zeros(64, 64, 1, 1)
    assert (
        "wrong shapes: enc_blocks.2.1.out_rest.2.weight [64, 64, 1, 1] (expected [64, 64, 3, 3])"
        in _conversion_error(tiny_official)
    )


def test_wrong_rotary_frequencies_are_refused(tiny_official):
    tiny_official["middle_block.1.pos_emb.freqs"] = torch.linspace(1, 32, 16)
    assert "middle_block.1.pos_emb.freqs is not π·linspace(1, 32, 16)" in _conversion_error(
        tiny_official
    )


def test_wrong_time_multipliers_are_refused(tiny_official):
    content = release_file_content(tiny_official)["state_dict"]
    content["t_to_emb.multipliers"] = torch.linspace(0.0, 16, 64)[None]
    with pytest.raises(A2SBInputError) as error:
        convert_official_state_dict(content, 1)
    assert "t_to_emb.multipliers is not linspace(0.5, 16, 64)" in str(error.value)


def test_not_a_network_is_refused():
    message = _conversion_error({"encoder.weight": torch.zeros(3)})
    assert "checkpoint is not an A2SB network: missing keys" in message


def test_pickle_with_objects_needs_the_trust_flag(tiny_official, tmp_path):
    content = release_file_content(tiny_official)
    content["hyper_parameters"] = argparse.Namespace(lr=8e-5)
    path = tmp_path / "lightning.ckpt"
    torch.save(content, path)
    with pytest.raises(A2SBInputError) as error:
        load_official_checkpoint(path)
    message = str(error.value)
    assert "holds more than tensors (argparse.Namespace)" in message
    assert "--trust-checkpoint" in message and "trust_checkpoint=True" in message
    assert len(load_official_checkpoint(path, trust_checkpoint=True)) == len(tiny_official) + 1


def test_missing_and_unreadable_files_are_refused(tmp_path):
    with pytest.raises(A2SBInputError, match="does not exist; check the path"):
        load_official_checkpoint(tmp_path / "absent.ckpt")
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    with pytest.raises(A2SBInputError, match="could not be read .*pass a PyTorch/Lightning"):
        load_official_checkpoint(tmp_path / "text.ckpt")
    torch.save({"state_dict": {"a": 1}}, tmp_path / "numbers.ckpt")
    with pytest.raises(A2SBInputError, match="holds no state dict of tensors"):
        load_official_checkpoint(tmp_path / "numbers.ckpt")


def test_t_range_is_read_from_release_names():
    assert t_range_from_name("ckpt/A2SB_twosplit_0.5_1.0_release.ckpt") == (0.5, 1.0)
    assert t_range_from_name("A2SB_onesplit_0.0_1.0_release.ckpt") == (0.0, 1.0)
    assert t_range_from_name("model_v2.ckpt") is None


def test_partitions_are_ordered_by_their_t_ranges():
    ordered, cutoffs = order_partitions_by_name(
        ["A2SB_twosplit_0.5_1.0_release.ckpt", "A2SB_twosplit_0.0_0.5_release.ckpt"]
    )
    assert [path.name for path in ordered] == [
        "A2SB_twosplit_0.0_0.5_release.ckpt",
        "A2SB_twosplit_0.5_1.0_release.ckpt",
    ]
    assert cutoffs == [0.5]


@pytest.mark.parametrize(
    "names",
    [
        ["A2SB_twosplit_0.0_0.5_release.ckpt", "A2SB_twosplit_0.6_1.0_release.ckpt"],
        ["A2SB_twosplit_0.0_0.5_release.ckpt", "A2SB_onesplit_0.0_1.0_release.ckpt"],
        ["A2SB_twosplit_0.5_1.0_release.ckpt", "A2SB_threesplit_0.2_0.5_release.ckpt"],
    ],
)
def test_ranges_that_do_not_tile_0_to_1_are_refused(names):
    with pytest.raises(A2SBInputError) as error:
        order_partitions_by_name(names)
    assert "do not tile [0, 1] contiguously" in str(error.value)


def test_unnamed_partitions_need_explicit_cutoffs():
    with pytest.raises(A2SBInputError, match="pass the cutoffs explicitly with --t-cutoffs"):
        order_partitions_by_name(["first.ckpt", "second.ckpt"])


def test_two_release_files_make_a_partitioned_model(tmp_path):
    upper = _save_release_file(
        tmp_path / "A2SB_twosplit_0.5_1.0_release.ckpt",
        official_state_dict(TINY_CHANNELS, [3, 4], 1),
    )
    lower = _save_release_file(
        tmp_path / "A2SB_twosplit_0.0_0.5_release.ckpt",
        official_state_dict(TINY_CHANNELS, [3, 4], 2),
    )
    model, t_cutoffs = convert_official_checkpoints([upper, lower], num_attention_heads=1)
    assert isinstance(model, A2SBPartitionedModel)
    assert t_cutoffs == [0.5]
    lower_weight = load_official_checkpoint(lower)["vf_model.input_projection.weight"]
    assert torch.equal(model.partitions[0].conv_in.weight, lower_weight)


def test_explicit_cutoffs_must_match_the_file_count(tiny_official, tmp_path):
    path = _save_release_file(tmp_path / "a.ckpt", tiny_official)
    with pytest.raises(A2SBInputError, match="2 checkpoints need 1 t-cutoffs, got 2"):
        convert_official_checkpoints([path, path], t_cutoffs=[0.3, 0.6], num_attention_heads=1)

import logging
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_CONFIG, randomized

from a2sb.errors import A2SBInputError
from a2sb.models import RoPEUNet2DModel, RoPEUNet2DOutput
from a2sb.models.embeddings import (
    apply_axial_rotary,
    axial_rotary_angles,
    conditioning_map,
    frequency_embedding,
    time_embedding,
)
from a2sb.models.unet_rope_blocks import Upsample
from a2sb.notices import warn_once
from a2sb.official import to_official_state_dict

PAPER_RELEASED_ENTRIES = 565_544_851
ROTARY_CONSTANTS = 9 * 16  # 9 attention blocks × 16 frequencies, not learned


def test_paper_config_has_565_544_851_released_entries():
    with torch.device("meta"):
        model = RoPEUNet2DModel()
    learned = sum(parameter.numel() for parameter in model.parameters())
    released = sum(tensor.numel() for tensor in to_official_state_dict(model).values())
    assert released == PAPER_RELEASED_ENTRIES
    assert learned == PAPER_RELEASED_ENTRIES - ROTARY_CONSTANTS


def test_time_embedding_is_all_sines_then_all_cosines():
    t = torch.tensor([0.3, 1.0])
    multipliers = torch.linspace(0.5, 16, 64)
    embedding = time_embedding(t)
    assert embedding.shape == (2, 128)
    torch.testing.assert_close(embedding[0, :64], torch.sin(0.3 * multipliers))
    torch.testing.assert_close(embedding[0, 64:], torch.cos(0.3 * multipliers))
    assert embedding[1, 63].item() == pytest.approx(math.sin(16.0), abs=1e-6)


def test_frequency_embedding_uses_literal_3_14_cosines_first():
    rows = 32
    embedding = frequency_embedding(rows)
    assert embedding.shape == (16, rows)
    angle = 2 * 5 * 2 * 3.14 / (3 * rows)  # k = 2 (index 1), r = 5
    assert embedding[1, 5].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert embedding[9, 5].item() == pytest.approx(math.sin(angle), abs=1e-6)
    torch.testing.assert_close(embedding[:8, 0], torch.ones(8))
    torch.testing.assert_close(embedding[8:, 0], torch.zeros(8))


def test_conditioning_map_is_frequency_then_time_one_column():
    time_features = time_embedding(torch.tensor([0.2, 0.7]))
    conditioning = conditioning_map(time_features, rows=8)
    assert conditioning.shape == (2, 144, 8, 1)
    torch.testing.assert_close(conditioning[1, :16, :, 0], frequency_embedding(8))
    torch.testing.assert_close(conditioning[1, 16:, 3, 0], time_features[1])


def test_rotary_turns_pairs_by_row_then_column_angles():
    height, width = 4, 8
    angles = axial_rotary_angles(height, width)
    omega = math.pi * torch.linspace(1, 32, 16)
    assert angles[2, 5, 3].item() == pytest.approx(omega[3].item() * (-1 + 2 * 2 / 3), rel=1e-5)
    assert angles[2, 5, 16 + 3].item() == pytest.approx(
        omega[3].item() * (-1 + 2 * 5 / 7), rel=1e-5
    )

    features = torch.zeros(1, 1, height, width, 80)
    features[..., 6] = 1.0  # pair 3, first element
    features[..., 70] = 2.5  # beyond the 64 rotated channels
    rotated = apply_axial_rotary(features, angles)
    torch.testing.assert_close(rotated[0, 0, :, :, 6], angles[..., 3].cos())
    torch.testing.assert_close(rotated[0, 0, :, :, 7], angles[..., 3].sin())
    torch.testing.assert_close(rotated[..., 70], features[..., 70])


def test_tiny_forward_keeps_shape(tiny_model):
    sample = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        output = tiny_model(sample, 0.5)
    assert isinstance(output, RoPEUNet2DOutput)
    assert output.sample.shape == (1, 3, 64, 64)
    assert torch.isfinite(output.sample).all()


@pytest.mark.parametrize("seed", [0, 2])
def test_bfloat16_stays_finite_on_narrow_windows(seed):
    """One attention head on a 32-frame window (the deepest maps are 2 frames wide): oneDNN's
    bf16 convolutions on the CPU once returned NaN here, on one thread for a channels-last
    attention output (seed 2) and on two threads for most seeds."""
    torch.manual_seed(seed)
    model = RoPEUNet2DModel(**TINY_CONFIG).eval().to(torch.bfloat16)
    sample = torch.randn(2, 3, 1024, 32).bfloat16()
    with torch.inference_mode():
        assert torch.isfinite(model(sample, torch.full((2,), 1.0)).sample).all()


def test_bfloat16_on_the_cpu_recomputes_a_non_finite_onednn_result_with_exact_kernels(
    monkeypatch, caplog
):
    torch.manual_seed(0)
    model = RoPEUNet2DModel(**TINY_CONFIG).eval().to(torch.bfloat16)
    sample = torch.randn(1, 3, 64, 64).bfloat16()
    exact_network = model._network
    kernels = []

    def network_whose_onednn_fails(hidden_states, conditionings):
        kernels.append("oneDNN" if torch.backends.mkldnn.enabled else "native")
        output = exact_network(hidden_states, conditionings)
        return output * math.nan if torch.backends.mkldnn.enabled else output

    monkeypatch.setattr(model, "_network", network_whose_onednn_fails)
    warn_once.cache_clear()
    with torch.inference_mode(), caplog.at_level(logging.WARNING):
        output = model(sample, 0.5).sample
        with torch.backends.mkldnn.flags(enabled=False):
            expected = exact_network(sample, model_conditionings(model, sample, 0.5))
    assert kernels == ["oneDNN", "native"]
    torch.testing.assert_close(output, expected, rtol=0, atol=0)
    assert "recomputed with torch's exact native kernels" in caplog.text


def test_a_non_finite_input_is_not_recomputed(monkeypatch):
    model = RoPEUNet2DModel(**TINY_CONFIG).eval().to(torch.bfloat16)
    calls = []
    exact_network = model._network
    monkeypatch.setattr(
        model, "_network", lambda *inputs: calls.append(1) or exact_network(*inputs)
    )
    sample = torch.full((1, 3, 64, 64), math.nan).bfloat16()
    with torch.inference_mode():
        model(sample, 0.5)
    assert calls == [1]


def model_conditionings(model: RoPEUNet2DModel, sample: torch.Tensor, t: float) -> list:
    """The per-level conditioning maps that `forward` builds for `_network`."""
    config = model.config
    time_features = time_embedding(torch.full((sample.shape[0],), t), config.time_embedding_dim)
    rows = sample.shape[2]
    return [
        conditioning_map(time_features, rows >> level, config.frequency_embedding_dim).to(
            sample.dtype
        )
        for level in range(model.num_levels + 1)
    ]


def test_scalar_timestep_equals_per_sample_timesteps(tiny_model, tiny_input):
    with torch.no_grad():
        scalar = tiny_model(tiny_input, 0.3).sample
        batched = tiny_model(tiny_input, torch.tensor([0.3, 0.3])).sample
        other = tiny_model(tiny_input, torch.tensor([0.3, 0.8])).sample
    torch.testing.assert_close(scalar, batched)
    torch.testing.assert_close(other[0], scalar[0])
    assert not torch.allclose(other[1], scalar[1])


def test_return_dict_false_gives_tuple(tiny_model, tiny_input):
    with torch.no_grad():
        (output,) = tiny_model(tiny_input, 0.3, return_dict=False)
        torch.testing.assert_close(output, tiny_model(tiny_input, 0.3).sample)


@pytest.mark.parametrize(
    ("shape", "timestep", "message"),
    [
        ((1, 2, 64, 64), 0.5, "the model takes [batch, 3, freq, frames]"),
        ((1, 3, 48, 64), 0.5, "both must be positive multiples of 32"),
        ((1, 3, 64, 40), 0.5, "64 frequency rows and 40 frames"),
        ((2, 3, 64, 64), [0.1, 0.2, 0.3], "pass one t per sample ([2]) or a single t"),
    ],
)
def test_bad_input_is_refused_with_fix(tiny_model, shape, timestep, message):
    with pytest.raises(A2SBInputError) as error:
        tiny_model(torch.zeros(shape), torch.tensor(timestep))
    assert message in str(error.value)


def test_too_narrow_attention_heads_are_refused():
    with pytest.raises(A2SBInputError) as error:
        RoPEUNet2DModel(
            block_out_channels=(32, 64, 64), attention_levels=(1,), num_attention_heads=2
        )
    assert "64 channels cannot be split into 2 attention heads of at least 64 channels" in str(
        error.value
    )


def test_save_and_load_give_identical_outputs(tiny_model, tiny_input, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").is_file()
    loaded = RoPEUNet2DModel.from_pretrained(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(tiny_input, 0.4).sample, tiny_model(tiny_input, 0.4).sample, rtol=0, atol=0
        )


def test_from_pretrained_in_bfloat16_runs_close_to_fp32(tiny_model, tiny_input, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    loaded = RoPEUNet2DModel.from_pretrained(tmp_path, torch_dtype=torch.bfloat16)
    assert loaded.dtype == torch.bfloat16
    with torch.no_grad():
        reference = tiny_model(tiny_input, 0.4).sample
        output = loaded(tiny_input, 0.4).sample
    assert output.dtype == torch.bfloat16
    relative = (output.float() - reference).norm() / reference.norm()
    assert relative < 0.05


def test_float16_runs_close_to_fp32(tiny_model, tiny_input):
    half = RoPEUNet2DModel(**TINY_CONFIG).to(torch.float16).eval()
    half.load_state_dict(tiny_model.state_dict())
    with torch.no_grad():
        reference = tiny_model(tiny_input, 0.4).sample
        output = half(tiny_input.half(), 0.4).sample
    relative = (output.float() - reference).norm() / reference.norm()
    assert relative < 0.01


def _gradients(model: RoPEUNet2DModel, sample: torch.Tensor) -> dict[str, torch.Tensor]:
    model.zero_grad()
    model(sample, torch.tensor([0.2, 0.9])).sample.square().mean().backward()
    return {name: parameter.grad.clone() for name, parameter in model.named_parameters()}


def test_gradient_checkpointing_gives_the_same_gradients(tiny_input):
    model = randomized(RoPEUNet2DModel(**TINY_CONFIG, dropout=0.0))
    plain = _gradients(model, tiny_input)
    calls = []

    def counting_checkpoint(block, *inputs):
        calls.append(type(block).__name__)
        return torch.utils.checkpoint.checkpoint(block, *inputs, use_reentrant=False)

    model.enable_gradient_checkpointing(counting_checkpoint)
    assert model.is_gradient_checkpointing
    checkpointed = _gradients(model, tiny_input)
    assert calls.count("ResidualBlock") == 2 * 5 + 2 + 2 * 5
    assert calls.count("RoPEAttention") == 2 * 2 + 1 + 2 * 2
    for name, gradient in plain.items():
        torch.testing.assert_close(checkpointed[name], gradient, rtol=1e-5, atol=1e-6)


def test_diffusers_default_checkpointing_trains_in_train_mode(tiny_input):
    model = randomized(RoPEUNet2DModel(**TINY_CONFIG, dropout=0.0)).train()
    plain = _gradients(model, tiny_input)
    model.enable_gradient_checkpointing()
    checkpointed = _gradients(model, tiny_input)
    model.disable_gradient_checkpointing()
    assert not model.is_gradient_checkpointing
    for name, gradient in plain.items():
        torch.testing.assert_close(checkpointed[name], gradient, rtol=1e-5, atol=1e-6)


def test_dynamo_traces_forward_without_graph_breaks(tiny_model, tiny_input):
    compiled = torch.compile(tiny_model, backend="eager", fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(
            compiled(tiny_input, torch.tensor([0.1, 0.6])).sample,
            tiny_model(tiny_input, torch.tensor([0.1, 0.6])).sample,
        )


def test_upsample_equals_nearest_then_conv():
    upsample = Upsample(8, 4).double()
    hidden = torch.randn(2, 8, 5, 7, dtype=torch.float64)
    expected = upsample.conv(F.interpolate(hidden, scale_factor=2.0, mode="nearest"))
    torch.testing.assert_close(upsample(hidden), expected, rtol=0, atol=1e-12)

"""Fixtures of every test; the helpers they share live beside this file, one idea each:

- `tiny.py`: the tiny UNet configurations (`TINY_CONFIG`, `MICRO_UNET`, `TRAINING_UNET`);
- `fakes.py`: stand-in networks (`micro_unet`, `RecordingUNet`);
- `synth.py`: music-like audio made on the spot (`synth_music`, `write_band_limited`);
- `faults.py`: the machine's faults (a full or read-only tmpfs, a failing `fsync`);
- `training_setup.py`: a training configuration that runs in seconds;
- `official_grammar.py`: released state dicts at any size, from the key grammar;
- `docs_runner.py`: runs a documentation page's code blocks (tests/test_docs.py).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest
import torch
from fakes import micro_unet
from tiny import TINY_CHANNELS, TINY_CONFIG  # noqa: F401 (the tests import them from here)

from a2sb.models import RoPEUNet2DModel
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler


def randomized(model: RoPEUNet2DModel, seed: int = 0) -> RoPEUNet2DModel:
    """Fill every parameter (zero-initialised convs and norm affines too) with seeded noise,
    so that a block in the wrong place cannot hide."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(0.2 * torch.randn(parameter.shape, generator=generator))
    return model


@pytest.fixture
def tiny_model() -> RoPEUNet2DModel:
    return randomized(RoPEUNet2DModel(**TINY_CONFIG)).eval()


@pytest.fixture
def tiny_input() -> torch.Tensor:
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    """A saved pipeline with the micro UNet (tests/fakes.py), for command-line runs."""
    folder = tmp_path_factory.mktemp("micro-pipeline")
    A2SBPipeline(micro_unet(), I2SBScheduler()).save_pretrained(folder)
    return str(folder)

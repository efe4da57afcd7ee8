import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from a2sb import __version__
from a2sb.cli.env import (
    cached_hub_models,
    converted_pipelines,
    cpu_bf16_kernels,
    format_section,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
OFFICIAL = "nvidia/audio_to_audio_schrodinger_bridge"


def cache_repo(hub_cache: Path, repo_id: str, files: dict[str, str]) -> None:
    """A model repository in the Hub cache layout: blobs, a snapshot of links, refs/main."""
    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    revision = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    for index, (name, content) in enumerate(files.items()):
        blob = repo / "blobs" / f"blob{index}"
        blob.parent.mkdir(exist_ok=True)
        blob.write_text(content)
        link = repo / "snapshots" / revision / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))


def test_a2sb_repositories_are_found_by_name_or_by_pipeline_class(tmp_path):
    pipeline_index = json.dumps({"_class_name": "A2SBPipeline"})
    cache_repo(tmp_path, OFFICIAL, {"ckpt/A2SB_onesplit_0.0_1.0_release.ckpt": "x"})
    cache_repo(tmp_path, "someone/a2sb-strings", {"config.json": "{}"})
    cache_repo(tmp_path, "someone/restorer", {"model_index.json": pipeline_index})
    cache_repo(tmp_path, "someone/other", {"model_index.json": '{"_class_name": "Other"}'})
    found = cached_hub_models(tmp_path, OFFICIAL)
    assert [entry.split(" (")[0] for entry in found] == [
        OFFICIAL,
        "someone/a2sb-strings",
        "someone/restorer",
    ]
    assert found[0].endswith(", 1 revision)")


def test_missing_caches_hold_no_models(tmp_path):
    assert cached_hub_models(tmp_path / "absent", OFFICIAL) == []
    assert converted_pipelines(tmp_path / "absent") == []


def test_only_complete_conversions_count(tmp_path):
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "model_index.json").write_text("{}")
    (tmp_path / "done.partial").mkdir()
    assert converted_pipelines(tmp_path) == [tmp_path / "done"]


def test_section_aligns_values():
    assert format_section("caches", [("Hub", "/a"), ("conversion", "/b")]) == (
        "caches\n  Hub         /a\n  conversion  /b"
    )


def test_env_prints_versions_devices_caches_and_models(tmp_path):
    hf_home = tmp_path / "hf"
    converted = hf_home / "a2sb" / "converted" / "release-twosplit-abc"
    converted.mkdir(parents=True)
    (converted / "model_index.json").write_text("{}")
    cache_repo(hf_home / "hub", OFFICIAL, {"ckpt/A2SB_onesplit_0.0_1.0_release.ckpt": "x"})
    env = {
        key: value for key, value in os.environ.items() if key not in ("HF_HUB_CACHE", "HF_HOME")
    }
    result = subprocess.run(
        [sys.executable, "-m", "a2sb", "env"],
        capture_output=True,
        text=True,
        env={**env, "HF_HOME": str(hf_home), "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"  a2sb             {__version__}" in lines
    for library in ("python", "torch", "diffusers", "accelerate", "huggingface_hub", "soxr"):
        assert any(line.split()[:1] == [library] for line in lines), library
    assert any(line.startswith("  libsndfile") for line in lines)
    assert any(line.startswith("  CUDA") for line in lines)
    assert any(line.startswith("  CPU bf16") for line in lines)
    assert f"  Hub cache         {hf_home / 'hub'}" in lines
    assert f"  conversion cache  {hf_home / 'a2sb' / 'converted'}" in lines
    assert any(line.startswith(f"  converted  {converted} (") for line in lines)
    assert any(line.startswith(f"  Hub        {OFFICIAL} (") for line in lines)
    bundled = REPO_ROOT / "a2sb" / "bundled" / "a2sb-small"
    (bundled_line,) = [line for line in lines if line.startswith(f"  bundled    {bundled} (")]
    index = json.loads((bundled / "model_index.json").read_text())
    steps = index["sampling_defaults"]["num_inference_steps"]
    assert bundled_line.endswith(
        f"; sampling: i2sb, {steps} step{'s' * (steps != 1)}, shifted windows"
    )


def test_the_cpu_bf16_row_says_which_kernels_bf16_runs(monkeypatch):
    import torch

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert cpu_bf16_kernels({"avx512f", "avx512_bf16"}).startswith("oneDNN with AVX-512 BF16")
    assert cpu_bf16_kernels({"avx512f"}).startswith("oneDNN, AVX-512 without BF16")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert cpu_bf16_kernels({"avx2"}).endswith("keep fp32")


@pytest.mark.parametrize(
    ("onednn_bf16", "flags", "device", "expected"),
    [
        (True, {"avx512f", "avx512_bf16"}, "cpu", "bf16"),
        (True, {"avx512f", "amx_bf16"}, "cpu", "bf16"),
        (True, {"avx512f"}, "cpu", "fp32"),
        (False, {"avx2"}, "cpu", "fp32"),
        (True, {"avx512f", "avx512_bf16"}, "cuda", "fp32"),
    ],
)
def test_dtype_auto_is_bf16_only_where_the_cpu_runs_it_fast(
    monkeypatch, onednn_bf16, flags, device, expected
):
    import torch

    from a2sb.cli import devices

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn_bf16)
    monkeypatch.setattr(devices, "cpu_flags", lambda: flags)
    assert devices.resolve_dtype("auto", torch.device(device)) == expected
    assert devices.resolve_dtype("fp16", torch.device(device)) == "fp16"  # asked for: kept

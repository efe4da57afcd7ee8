"""`a2sb env`: what a bug report needs: versions, devices, caches and the models cached.

    a2sb env

Prints, on stdout, the versions of a2sb and of the libraries it runs on, the CUDA and MPS
devices torch sees and what bf16 runs on the CPU, where the Hugging Face Hub cache and a2sb's
conversion cache are, and which A2SB models they hold: converted release pipelines, and Hub
snapshots of A2SB repositories (the release, those named with a2sb, and any holding an
`A2SBPipeline`).
"""

from __future__ import annotations

import argparse
import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from huggingface_hub import CachedRepoInfo, CacheNotFound, constants, scan_cache_dir

from a2sb import __version__
from a2sb.errors import A2SBInputError

LIBRARIES = ("torch", "diffusers", "accelerate", "huggingface_hub", "soundfile", "soxr")
"""The libraries whose versions `a2sb env` prints, after a2sb and Python."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `env`."""
    parser = subparsers.add_parser(
        "env",
        help="print versions, devices, cache locations and cached models (for bug reports)",
        description="Print what a bug report needs: versions, devices, caches, cached models.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; returns 0."""
    # Imported here so that `a2sb --help` does not pay for torch and diffusers.
    from a2sb.official import OFFICIAL_REPO_ID, default_conversion_cache

    conversion_cache = default_conversion_cache()
    hub_cache = Path(constants.HF_HUB_CACHE)
    sections = {
        "versions": version_rows(),
        "devices": device_rows(),
        "caches": [("Hub cache", str(hub_cache)), ("conversion cache", str(conversion_cache))],
        "models": [
            ("bundled", describe_bundled_model()),
            *(
                ("converted", describe_folder(path))
                for path in converted_pipelines(conversion_cache)
            ),
            *(("Hub", repo) for repo in cached_hub_models(hub_cache, OFFICIAL_REPO_ID)),
        ],
    }
    print("\n\n".join(format_section(title, rows) for title, rows in sections.items()))
    return 0


def version_rows() -> list[tuple[str, str]]:
    """`(name, version)` of a2sb, Python, the libraries, and libsndfile."""
    import soundfile

    rows = [
        ("a2sb", __version__),
        ("python", f"{platform.python_version()} ({platform.platform()})"),
    ]
    rows += [(library, _installed_version(library)) for library in LIBRARIES]
    rows.append(("libsndfile", soundfile.__libsndfile_version__))
    return rows


def device_rows() -> list[tuple[str, str]]:
    """Whether torch sees CUDA and MPS, the name and memory of each CUDA device, and which
    kernels bf16 runs on the CPU."""
    import torch

    from a2sb.cli.devices import cpu_flags

    if torch.cuda.is_available():
        rows = [("CUDA", f"available, CUDA {torch.version.cuda}")]
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            memory = f"{properties.total_memory / 2**30:.1f} GiB"
            rows.append((f"cuda:{index}", f"{properties.name}, {memory}"))
    else:
        rows = [("CUDA", "not available")]
    mps = "available" if torch.backends.mps.is_available() else "not available"
    return [*rows, ("MPS", mps), ("CPU bf16", cpu_bf16_kernels(cpu_flags()))]


def cpu_bf16_kernels(flags: set[str]) -> str:
    """What `--dtype bf16` runs on this CPU, and whether it pays (`docs/performance.md`).

    Args:
        flags: the CPU's feature flags (`a2sb.cli.devices.cpu_flags()`).
    """
    import torch

    from a2sb.cli.devices import BF16_INSTRUCTIONS

    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "torch's native kernels (no AVX-512), about 190x slower than fp32: keep fp32"
    if flags & BF16_INSTRUCTIONS:
        return "oneDNN with AVX-512 BF16: --dtype auto runs bf16, about 1.2x faster than fp32"
    return "oneDNN, AVX-512 without BF16 instructions: compare --dtype bf16 with fp32 first"


def converted_pipelines(cache_dir: Path) -> list[Path]:
    """The complete converted release pipelines in the conversion cache, sorted."""
    if not cache_dir.is_dir():
        return []
    return sorted(path for path in cache_dir.iterdir() if (path / "model_index.json").is_file())


def cached_hub_models(hub_cache: Path, official_repo_id: str) -> list[str]:
    """`"owner/name (size, N revisions)"` for each A2SB model repository in the Hub cache:
    the release (`official_repo_id`), repositories named with a2sb, and any holding an
    `A2SBPipeline`."""
    try:
        repos = scan_cache_dir(hub_cache).repos
    except CacheNotFound:
        return []
    found = []
    for repo in sorted(repos, key=lambda repo: repo.repo_id):
        if repo.repo_type == "model" and (repo.repo_id == official_repo_id or _is_a2sb_repo(repo)):
            revisions = len(repo.revisions)
            plural = "" if revisions == 1 else "s"
            found.append(f"{repo.repo_id} ({repo.size_on_disk_str}, {revisions} revision{plural})")
    return found


def describe_bundled_model() -> str:
    """`path (size); sampling: ...` of the bundled a2sb-small, or why it is missing."""
    from a2sb.pipelines.bundled_model import bundled_model_folder

    try:
        folder = bundled_model_folder()
    except A2SBInputError as error:
        return str(error)
    return f"{describe_folder(folder)}; {describe_sampling(folder)}"


def describe_sampling(folder: Path) -> str:
    """The saved sampling of a pipeline folder, as `a2sb restore` says it:
    `sampling: i2sb, 1 step, shifted windows`."""
    from a2sb.pipelines.pipeline_checks import checked_sampling_defaults
    from a2sb.schedulers.registry import scheduler_classes
    from a2sb.schedulers.samplers import describe_sampler

    index = json.loads((folder / "model_index.json").read_text())
    classes = {cls.__name__: cls for cls in scheduler_classes()}
    scheduler = classes[index["scheduler"][1]].from_pretrained(folder, subfolder="scheduler")
    defaults = checked_sampling_defaults(index.get("sampling_defaults"))
    steps, windows = defaults["num_inference_steps"], defaults["window_schedule"]
    return f"sampling: {describe_sampler(scheduler, steps, windows)}"


def describe_folder(folder: Path) -> str:
    """`path (size)` of a folder."""
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return f"{folder} ({size / 1e9:.2f} GB)"


def format_section(title: str, rows: list[tuple[str, str]]) -> str:
    """A title, then `  name  value` rows with the values aligned."""
    width = max(len(name) for name, _ in rows)
    return "\n".join([title, *(f"  {name:<{width}}  {value}".rstrip() for name, value in rows)])


def _installed_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def _is_a2sb_repo(repo: CachedRepoInfo) -> bool:
    """Named with a2sb, or holding an `A2SBPipeline` in some revision."""
    if "a2sb" in repo.repo_id.lower():
        return True
    for revision in repo.revisions:
        for file in revision.files:
            if file.file_name == "model_index.json" and _is_a2sb_index(file.file_path):
                return True
    return False


def _is_a2sb_index(path: Path) -> bool:
    try:
        return json.loads(path.read_text()).get("_class_name") == "A2SBPipeline"
    except (OSError, ValueError):
        return False

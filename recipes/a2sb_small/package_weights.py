"""Copy a trained a2sb-small pipeline into the package, with its weights in bf16.

    python recipes/a2sb_small/package_weights.py a2sb-small-training/pipeline

writes `a2sb/bundled/a2sb-small/` (`model_index.json`, `unet/`, `scheduler/`), the folder that
`A2SBPipeline.from_pretrained()` loads when no model is named. The model card
(`a2sb/bundled/a2sb-small/README.md`) is kept: it is written by hand from the measured figures.
bf16 halves the file; the pipeline loads the weights in the dtype it is asked for (fp32 by
default), so the weights are rounded to bf16 once, here. diffusers records where a pipeline was
loaded from (`_name_or_path`) in the configs it saves: that path of the training machine is
removed, so no shipped file names it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from a2sb.pipelines import A2SBPipeline

BUNDLED_FOLDER = Path(__file__).resolve().parents[2] / "a2sb" / "bundled" / "a2sb-small"
MAX_WEIGHTS_BYTES = 30_000_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline", type=Path, help="a trained pipeline folder")
    args = parser.parse_args(argv)
    pipeline = A2SBPipeline.from_pretrained(args.pipeline)
    pipeline.unet.to(torch.bfloat16)
    for component in ("unet", "scheduler"):
        shutil.rmtree(BUNDLED_FOLDER / component, ignore_errors=True)
    pipeline.save_pretrained(BUNDLED_FOLDER, safe_serialization=True)
    strip_loaded_from(BUNDLED_FOLDER)
    weights = BUNDLED_FOLDER / "unet" / "diffusion_pytorch_model.safetensors"
    size = weights.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise SystemExit(f"{weights} is {size / 1e6:.1f} MB, above the 30 MB the package allows")
    parameters = sum(parameter.numel() for parameter in pipeline.unet.parameters())
    print(f"wrote {BUNDLED_FOLDER}: {parameters / 1e6:.2f} M parameters, {size / 1e6:.1f} MB")


def strip_loaded_from(folder: Path) -> None:
    """Remove `_name_or_path` (the folder a component was loaded from) from every JSON config
    in `folder`."""
    for config in sorted(folder.rglob("*.json")):
        values = json.loads(config.read_text())
        if values.pop("_name_or_path", None) is not None:
            config.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

"""The layout of NVIDIA's A2SB release: its Hub id, its variants' files, its file names.

The Hub repository `nvidia/audio_to_audio_schrodinger_bridge` holds Lightning pickles under
`ckpt/` and no `model_index.json`. Release file names carry the t-range of their partition
(`A2SB_twosplit_0.5_1.0_release.ckpt`), from which the order and cutoffs of partitions follow.
"""

import math
import re
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Literal

from a2sb.errors import A2SBInputError

OFFICIAL_REPO_ID = "nvidia/audio_to_audio_schrodinger_bridge"
ReleaseVariant = Literal["twosplit", "onesplit"]
RELEASE_FILES: dict[str, list[str]] = {
    "twosplit": [
        "ckpt/A2SB_twosplit_0.0_0.5_release.ckpt",
        "ckpt/A2SB_twosplit_0.5_1.0_release.ckpt",
    ],
    "onesplit": ["ckpt/A2SB_onesplit_0.0_1.0_release.ckpt"],
}
"""Release files of each variant, relative to the repository root. twosplit: two partitions
with t-cutoff 0.5 (the paper's best model); onesplit: one model for all t."""

LICENCE_NOTICE = (
    "The released A2SB weights are NVIDIA's, under a non-commercial licence (see the model "
    f"card of {OFFICIAL_REPO_ID} on the Hugging Face Hub); a2sb's own code is Apache-2.0."
)

_T_RANGE_IN_NAME = re.compile(r"_(\d+(?:\.\d+)?)_(\d+(?:\.\d+)?)(?=[_.]|$)")


def is_release_folder(folder: Path) -> bool:
    """A local folder in the release layout: release `.ckpt` files and no `model_index.json`."""
    if (folder / "model_index.json").exists():
        return False
    return any(folder.glob("ckpt/A2SB_*_release.ckpt")) or any(folder.glob("A2SB_*_release.ckpt"))


def is_release_source(source: str | Path) -> bool:
    """The release's Hub id, or a local folder in its layout."""
    return str(source) == OFFICIAL_REPO_ID or is_release_folder(Path(source))


def check_variant(variant: str) -> None:
    """Refuse a variant the release does not have."""
    if variant not in RELEASE_FILES:
        raise A2SBInputError(
            f"unknown release variant {variant!r}; choose one of {', '.join(RELEASE_FILES)}"
        )


def t_range_from_name(path: str | Path) -> tuple[float, float] | None:
    """The t-range written in a release file name: `A2SB_twosplit_0.5_1.0_release.ckpt` →
    (0.5, 1.0); None when the name holds no `_<start>_<end>` pair in [0, 1]."""
    for start, end in _T_RANGE_IN_NAME.findall(Path(path).name):
        if 0.0 <= float(start) < float(end) <= 1.0:
            return float(start), float(end)
    return None


def order_partitions_by_name(paths: Sequence[str | Path]) -> tuple[list[Path], list[float]]:
    """Order release files by the t-range in their names; return them and the cutoffs.

    The ranges must tile [0, 1] without gaps or overlaps: [0, c_1), [c_1, c_2), …, [c_{K−1}, 1].
    """
    ranges = {Path(path): t_range_from_name(path) for path in paths}
    unnamed = [str(path) for path, t_range in ranges.items() if t_range is None]
    if unnamed:
        raise A2SBInputError(
            f"no t-range (like _0.5_1.0_) in the file name of {', '.join(unnamed)}; "
            "pass the cutoffs explicitly with --t-cutoffs (t_cutoffs=...)"
        )
    ordered = sorted(ranges, key=lambda path: ranges[path])
    bounds = [ranges[path] for path in ordered]
    tiles = bounds[0][0] == 0.0 and bounds[-1][1] == 1.0
    tiles = tiles and all(
        math.isclose(previous[1], current[0]) for previous, current in pairwise(bounds)
    )
    if not tiles:
        described = ", ".join(
            f"{path.name} [{start}, {end}]"
            for path, (start, end) in zip(ordered, bounds, strict=True)
        )
        raise A2SBInputError(
            f"the t-ranges of the checkpoints do not tile [0, 1] contiguously ({described}); "
            "pass one file per range so that the ranges join up from 0 to 1, or give --t-cutoffs"
        )
    return ordered, [start for start, _ in bounds[1:]]

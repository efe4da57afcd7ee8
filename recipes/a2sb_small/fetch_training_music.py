"""Download the training music of a2sb-small from Debian and write its manifest.

    python recipes/a2sb_small/fetch_training_music.py --output ~/a2sb-music

For each package of `TRAINING_PACKAGES` the script runs `apt-get download NAME` (the package
is fetched, not installed: no root needed) and `dpkg-deb -x`, picks the music files (some of
which sit inside zip archives), reads each file's licence from the package's
`debian/copyright`, estimates its true bandwidth with `a2sb.cutoff_detection.detect_cutoff`
(the sources are lossy: the encoder's low-pass leaves an empty top band), and writes
`manifest.csv` with the columns `path, duration, bandwidth_hz, package, licence`. The training
config reads the first three (`data.manifest`); `bandwidth_hz` masks the loss above each file's
true bandwidth (`data.bandwidth_loss_mask`).

The packages of `EVALUATION_PACKAGES` hold the music of `shared/data/devset` and are reserved
for evaluation: the script refuses to touch them. Files already downloaded or extracted are
reused, so a second run only rewrites the manifest.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import re
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile

from a2sb.io.audio import to_mono
from a2sb.cutoff_detection import detect_cutoff

EVALUATION_PACKAGES = ("wesnoth*-music", "hedgewars-data", "supertuxkart-data", "nexuiz-music")
"""Package names (shell patterns) whose music is reserved for evaluation: never fetched."""


@dataclass(frozen=True)
class MusicPackage:
    """A Debian package of training music and where its music is inside it.

    Args:
        name: the Debian package.
        music: shell pattern of the music files, relative to the extracted package; inside
            `archive` when one is given.
        archive: a zip archive of the package holding the music, or None.
        licence: the licence stated in the package's copyright file for its music, used when
            that file is not machine-readable (DEP-5) or names no stanza for the file.
    """

    name: str
    music: str
    archive: str | None = None
    licence: str = ""


TRAINING_PACKAGES = (
    MusicPackage(
        "0ad-data",
        "audio/music/*.ogg",
        archive="usr/share/games/0ad/mods/public/public.zip",
        licence="CC-BY-SA-3.0",
    ),
    MusicPackage("ufoai-music", "music/*.ogg", archive="usr/share/games/ufoai/base/0music.pk3"),
    MusicPackage("freedroidrpg-data", "usr/share/freedroidrpg/data/sound/music/*.ogg"),
    MusicPackage("drascula-music", "usr/share/scummvm/drascula/audio/*.ogg"),
    MusicPackage(
        "singularity-music", "usr/share/games/singularity/music/*.ogg", licence="CC-BY-SA-3.0"
    ),
    MusicPackage("warzone2100-music", "usr/share/games/warzone2100/music/*.opus"),
)
"""The packages of `shared/data/README.md` that a2sb-small may be trained on."""


def check_not_reserved(name: str) -> None:
    """Refuse a package reserved for evaluation."""
    for pattern in EVALUATION_PACKAGES:
        if fnmatch.fnmatchcase(name, pattern):
            raise SystemExit(
                f"{name} is reserved for evaluation ({pattern}): it must never be used for "
                "training; remove it from TRAINING_PACKAGES"
            )


def download(package: MusicPackage, debs: Path) -> Path:
    """The package's .deb in `debs`, downloaded with `apt-get download` unless already there."""
    check_not_reserved(package.name)
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package.name}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", package.name], cwd=debs, check=True)
        found = sorted(debs.glob(f"{package.name}_*.deb"))
    return found[-1]


def extract(deb: Path, folder: Path) -> Path:
    """`dpkg-deb -x` the package into `folder` unless it has been extracted already."""
    if not (folder / "usr").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], check=True)
    return folder


def collect_music(package: MusicPackage, extracted: Path, music: Path) -> list[Path]:
    """Link (or unzip) the package's music files into `music` and return them, sorted."""
    music.mkdir(parents=True, exist_ok=True)
    if package.archive is None:
        return _link_music(package.music, extracted, music)
    return _unzip_music(package.music, extracted / package.archive, music)


def _link_music(pattern: str, extracted: Path, music: Path) -> list[Path]:
    """Hard-link the files of `extracted` whose relative path matches `pattern`."""
    files = []
    for source in sorted(extracted.rglob("*")):
        relative = source.relative_to(extracted)
        if source.is_file() and fnmatch.fnmatchcase(relative.as_posix(), pattern):
            target = music / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.hardlink_to(source)
            files.append(target)
    return files


def _unzip_music(pattern: str, archive_path: Path, music: Path) -> list[Path]:
    """Extract the members of a zip archive whose path matches `pattern`."""
    files = []
    with zipfile.ZipFile(archive_path) as archive:
        for member in sorted(archive.namelist()):
            if fnmatch.fnmatchcase(member, pattern):
                target = music / member
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, target.open("wb") as sink:
                        shutil.copyfileobj(source, sink)
                files.append(target)
    return files


@dataclass(frozen=True)
class CopyrightStanza:
    """One `Files:` stanza of a machine-readable (DEP-5) `debian/copyright`."""

    patterns: tuple[str, ...]
    licence: str


def read_copyright(text: str) -> list[CopyrightStanza]:
    """The `Files:` stanzas of a DEP-5 copyright file, in order; [] if it is not DEP-5."""
    stanzas = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields = _fields(paragraph)
        if "files" in fields and "license" in fields:
            licence = fields["license"].splitlines()[0].strip()
            stanzas.append(CopyrightStanza(tuple(fields["files"].split()), licence))
    return stanzas


def licence_of(stanzas: list[CopyrightStanza], music_path: str, fallback: str) -> str:
    """The licence of one music file: the last stanza that names it (DEP-5's rule).

    Debian writes the patterns against the upstream source tree, which is not the installed
    layout, so a pattern names a file when its last folder and its file-name pattern match the
    file's (`base/music/David01.ogg` names `music/David01.ogg`); `*` names every file.
    """
    path = PurePosixPath(music_path)
    licence = fallback
    for stanza in stanzas:
        for pattern in stanza.patterns:
            pattern_path = PurePosixPath(pattern)
            if pattern == "*" or (
                fnmatch.fnmatchcase(path.name, pattern_path.name)
                and pattern_path.parent.name == path.parent.name
            ):
                licence = stanza.licence
    if not licence:
        raise SystemExit(f"no licence found for {music_path}; add one to TRAINING_PACKAGES")
    return licence


def measure(path: Path) -> tuple[float, float | None]:
    """`(duration_s, bandwidth_hz)` of one file; bandwidth None when it reaches Nyquist."""
    waveform, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return len(waveform) / rate, detect_cutoff(to_mono(waveform.T), rate)


def _fields(paragraph: str) -> dict[str, str]:
    """`Field: value` lines of one copyright paragraph, continuation lines joined."""
    fields: dict[str, str] = {}
    name = None
    for line in paragraph.splitlines():
        if line[:1].isspace() and name is not None:
            fields[name] += "\n" + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            fields[name] = value.strip()
    return fields


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="folder for the music")
    parser.add_argument("--workers", type=int, default=2, help="processes measuring bandwidth")
    args = parser.parse_args(argv)
    rows = []
    for package in TRAINING_PACKAGES:
        deb = download(package, args.output / "debs")
        extracted = extract(deb, args.output / "extracted" / package.name)
        music = args.output / "music" / package.name
        files = collect_music(package, extracted, music)
        if not files:
            raise SystemExit(f"no music matching {package.music} in {deb.name}")
        copyright_file = extracted / "usr/share/doc" / package.name / "copyright"
        stanzas = read_copyright(copyright_file.read_text(errors="replace"))
        with ProcessPoolExecutor(args.workers) as pool:
            measured = list(pool.map(measure, files))
        for path, (duration_s, bandwidth_hz) in zip(files, measured, strict=True):
            rows.append(
                {
                    "path": path.relative_to(args.output).as_posix(),
                    "duration": f"{duration_s:.2f}",
                    "bandwidth_hz": "" if bandwidth_hz is None else f"{bandwidth_hz:.0f}",
                    "package": package.name,
                    "licence": licence_of(
                        stanzas, path.relative_to(music).as_posix(), package.licence
                    ),
                }
            )
        hours = sum(duration for duration, _ in measured) / 3600
        print(f"{package.name}: {len(files)} files, {hours:.2f} h", flush=True)
    manifest = args.output / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bandwidths = np.array([float(row["bandwidth_hz"] or "nan") for row in rows])
    print(
        f"wrote {manifest}: {len(rows)} files, median bandwidth "
        f"{np.nanmedian(bandwidths):.0f} Hz ({np.isnan(bandwidths).sum()} reach Nyquist)"
    )


if __name__ == "__main__":
    sys.exit(main())

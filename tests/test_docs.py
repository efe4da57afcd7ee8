"""Every ```python and ```bash block of docs/*.md and README.md runs, so the docs cannot rot.

- The blocks of one page run in page order in one subprocess (`tests/docs_runner.py`): python
  blocks share one namespace, like a notebook; bash blocks run with `bash -e`, the `a2sb`
  command on the PATH.
- Not run: blocks fenced with another info string (```text, ```console, ```yaml, and ```py
  for Python that needs a GPU), which the docs keep for what needs a GPU, the Hub, several
  machines or an installation; and bash
  blocks whose first command (after comment lines) starts with `python3 -m venv` or
  `pip install` (README's installation lines).
- Each page runs in a fresh copy of a prepared folder that holds the files the examples name
  (short synthesized mono music: `song.mp3`, `tape.flac`, `take3.wav`, `Old Album/`, …, tiny
  training configurations, and `../shared/data/devset`).
- `A2SBPipeline.from_pretrained("nvidia/audio_to_audio_schrodinger_bridge")` resolves offline:
  `HF_HOME` points into the copy, whose conversion cache already holds a converted pipeline
  (where `converted_release` looks) with a stand-in UNet (`fakes.RecordingUNet`, instant).
  diffusers loads components only from imported modules, so a `sitecustomize.py` on the
  subprocess's PYTHONPATH imports `fakes`.
- The bundled a2sb-small (the default model) is replaced the same way: `sitecustomize.py`
  points `a2sb.pipelines.bundled_model` at a stand-in pipeline, so the many restore examples
  take no sampling time; `tests/test_bundled_model.py` runs the real one.

And the package points to the docs, never to a design document outside the repository: every
`docs/<page>.md` that `a2sb/` names exists, with the heading quoted after it
(`(docs/concepts.md, "Keyed noise")`) or the anchor (`docs/research.md#…`).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from fakes import RecordingUNet
from huggingface_hub import constants
from synth import write_band_limited
from tiny import MICRO_UNET

from a2sb.official import OFFICIAL_REPO_ID, default_conversion_cache, release_cache_folder
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.bundled_model import BUNDLED_MODEL_NAME
from a2sb.schedulers import I2SBScheduler

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
PACKAGE_TEXT = (".py", ".md", ".json")
DESIGN_NOTE = re.compile(r"SPEC\s*§|SPEC\.md")
"""A citation of the internal design notes, which a reader of the repository cannot follow."""
DOCS_POINTER = re.compile(r'docs/([\w-]+)\.md(?:#([\w-]+)|,\s*"([^"]+)")?')
"""`docs/<page>.md`, then optionally `#anchor` or `, "Heading"` (which may wrap lines)."""
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
RUN = ("python", "bash")
INSTALLATION = ("python3 -m venv", "pip install")
RATE = 44100
SEGMENT_SAMPLES = 15872
"""32 STFT frames: the shortest segment the micro UNet's 5 levels accept."""


def first_command(code: str) -> str:
    return next((line for line in code.splitlines() if not line.startswith("#")), "")


def code_blocks(page: Path) -> list[dict]:
    """The blocks of a page that the test runs, with the line where their code starts."""
    text = page.read_text()
    blocks = []
    for match in FENCE.finditer(text):
        language, code = match.group(1), match.group(2)
        if language not in RUN or (
            language == "bash" and first_command(code).startswith(INSTALLATION)
        ):
            continue
        line = text.count("\n", 0, match.start(2)) + 1
        blocks.append(
            {"language": language, "path": str(page.relative_to(REPO)), "line": line, "code": code}
        )
    return blocks


def write_music(path: Path, seconds: float, channels: int = 1, cutoff_hz: float = 8000) -> None:
    """Synthesized music, brick-walled at `cutoff_hz` (a cutoff to detect), in path's format."""
    write_band_limited(path, seconds, RATE, channels, cutoff_hz, seed=len(path.name))


def write_training_configs(folder: Path) -> None:
    """Tiny versions of the configurations that docs/training.md uses."""
    tiny = {
        "max_steps": 2,
        "batch_size": 2,
        "progress_bar": False,
        "data": {"folders": ["music"], "segment_samples": SEGMENT_SAMPLES, "num_workers": 0},
        "model": {"unet": dict(MICRO_UNET)},
        "validation": {"interval_steps": 0},
        "checkpointing": {"interval_steps": 0},
        "tracking": {"report_to": "none"},
    }
    outputs = {"train": "runs/a2sb-pretrain", "pretrain": "runs/pretrain", "finetune": "runs/x"}
    for name, output_dir in outputs.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({**tiny, "output_dir": output_dir}))


def write_converted_release(hf_home: Path) -> None:
    """A converted 'release' in the conversion cache: the stand-in UNet, two partitions."""
    cache = hf_home / default_conversion_cache().relative_to(constants.HF_HOME)
    target = release_cache_folder(OFFICIAL_REPO_ID, "twosplit", cache)
    A2SBPipeline(RecordingUNet(), I2SBScheduler(t_cutoffs=[0.5])).save_pretrained(target)


SITECUSTOMIZE = """\
from pathlib import Path

import fakes  # noqa: F401
from a2sb.pipelines import bundled_model

bundled_model.files = lambda package: Path({package_root!r})
"""
"""Registers the stand-in UNet and replaces the bundled model's package root."""


def write_bundled_stand_in(package_root: Path) -> None:
    """A stand-in for the bundled a2sb-small, where `bundled_model_folder` will look."""
    target = package_root / "bundled" / BUNDLED_MODEL_NAME
    A2SBPipeline(RecordingUNet(), I2SBScheduler()).save_pretrained(target)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Path:
    """`root/work` (the examples' folder), `root/hf_home`, `root/shared/data/devset`,
    `root/site` (sitecustomize)."""
    root = tmp_path_factory.mktemp("docs")
    work = root / "work"
    for name in ("song.wav", "song.flac", "song.mp3", "tape.flac", "song_8khz.wav"):
        write_music(work / name, 1.0)
    write_music(work / "take3.wav", 4.0, channels=2)  # one stereo file
    for name in ("Old Album/01.flac", "archive/a/take.wav"):
        write_music(work / name, 0.5)
    for index in range(2):
        write_music(work / "music" / f"{index}.ogg", 6.0)  # holds a gap centred at 2.5 s
    for index in range(2):
        write_music(root / "shared/data/devset" / f"{index}.flac", 6.0, cutoff_hz=2e4)
    write_training_configs(work)
    write_converted_release(root / "hf_home")
    write_bundled_stand_in(root / "package")
    (root / "site").mkdir()
    (root / "site" / "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(package_root=str(root / "package"))
    )
    return root


def page_environment(root: Path) -> dict:
    python_path = [str(REPO), str(REPO / "tests"), str(root / "site")]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(python_path),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "HF_HOME": str(root / "hf_home"),
        "HF_HUB_OFFLINE": "1",
        "NO_COLOR": "1",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_code_blocks_of_page_run(page, prepared, tmp_path):
    blocks = code_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no runnable blocks")
    root = tmp_path / "root"
    shutil.copytree(prepared, root)
    blocks_file = root / "blocks.json"
    blocks_file.write_text(json.dumps(blocks))
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "docs_runner.py"), str(blocks_file)],
        cwd=root / "work",
        env=page_environment(root),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]


def test_code_blocks_are_found_with_their_lines():
    readme = {block["line"]: block for block in code_blocks(REPO / "README.md")}
    text = (REPO / "README.md").read_text().splitlines()
    assert readme, "README.md has runnable blocks"
    for line, block in readme.items():
        assert text[line - 1] == block["code"].splitlines()[0]
        assert not first_command(block["code"]).startswith(INSTALLATION)


def test_troubleshooting_lists_every_error_message():
    script = REPO / "docs" / "make_troubleshooting.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr + " (run python docs/make_troubleshooting.py)"


def package_files() -> list[Path]:
    """The text files of the package: its modules and the bundled model's card and configs."""
    files = (REPO / "a2sb").rglob("*")
    return sorted(path for path in files if path.is_file() and path.suffix in PACKAGE_TEXT)


def design_note_citations(text: str) -> list[str]:
    """The lines of `text` (1-based, with their content) that cite the design notes."""
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if DESIGN_NOTE.search(line)
    ]


def slug(heading: str) -> str:
    """The anchor that mkdocs (Python-Markdown's toc) gives a heading."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def headings(page: Path) -> set[str]:
    """A page's headings outside code blocks, each also without a trailing "(…)" (the paper's
    section or equations), so that "The bridge" names "The bridge (eqs. 9, 10, 19)"."""
    found, fenced = set(), False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6}\s+(.+?)\s*$", line)):
            found |= {match.group(1), re.sub(r"\s*\([^()]*\)$", "", match.group(1))}
    return found


def broken_pointers(text: str, docs: Path = REPO / "docs") -> list[str]:
    """The `docs/<page>.md` pointers of `text` whose page, quoted heading or anchor is missing."""
    broken = []
    for match in DOCS_POINTER.finditer(text):
        page, anchor, quoted = docs / f"{match.group(1)}.md", match.group(2), match.group(3)
        pointer = " ".join(match.group(0).split())
        if not page.is_file():
            broken.append(f"{pointer}: no page {page.name} in docs/")
        elif quoted is not None and " ".join(quoted.split()) not in headings(page):
            broken.append(f"{pointer}: no such heading in {page.name}")
        elif anchor is not None and anchor not in {slug(h) for h in headings(page)}:
            broken.append(f"{pointer}: no such anchor in {page.name}")
    return broken


def test_the_package_and_docs_cite_no_design_notes_outside_the_repository():
    cited = {
        str(path.relative_to(REPO)): design_note_citations(path.read_text())
        for path in [*package_files(), *PAGES]
    }
    assert {path: lines for path, lines in cited.items() if lines} == {}


def test_docs_pointers_in_the_package_name_existing_pages_and_headings():
    texts = {str(path.relative_to(REPO)): path.read_text() for path in package_files()}
    assert sum(len(DOCS_POINTER.findall(text)) for text in texts.values()) >= 20
    broken = {path: broken_pointers(text) for path, text in texts.items()}
    assert {path: pointers for path, pointers in broken.items() if pointers} == {}


def test_the_checks_catch_a_design_note_citation_and_broken_pointers():
    assert design_note_citations("x = 1\n# the wavefront (SPEC §12)\n") == [
        "2: # the wavefront (SPEC §12)"
    ]
    assert design_note_citations("see SPEC.md\n") == ["1: see SPEC.md"]
    good = '(docs/concepts.md, "The\n    bridge"), docs/training.md#partitions-paper-35'
    assert broken_pointers(good) == []
    bad = 'docs/nowhere.md, (docs/concepts.md, "Wavefronts"), docs/concepts.md#keyed-noises'
    assert broken_pointers(bad) == [
        "docs/nowhere.md: no page nowhere.md in docs/",
        'docs/concepts.md, "Wavefronts": no such heading in concepts.md',
        "docs/concepts.md#keyed-noises: no such anchor in concepts.md",
    ]

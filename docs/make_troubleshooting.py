"""Collect every message of a2sb/'s one-line errors into docs/troubleshooting.md.

`python docs/make_troubleshooting.py` rewrites the part of the page between the two marker
comments: one table per area, each message split at its first "; " into what is wrong and
what to do. The causes and fixes of a failed write are the (cause, fix) pairs of
a2sb/io/atomic_output.py (`WRITE_FAULT_TABLES`), shown as `cannot write ⟨path⟩: CAUSE`.
Values only known at run time appear as `⟨name⟩`. `--check` exits with 1 if the page is out
of date (tests/test_docs.py runs it).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "troubleshooting.md"
BEGIN = "<!-- messages: begin (docs/make_troubleshooting.py) -->"
END = "<!-- messages: end -->"
AREAS = [  # (title, path prefixes below a2sb/)
    (
        "Audio files",
        ("io/audio.py", "io/audio_stream.py", "cutoff_detection.py", "io/full_scale.py"),
    ),
    (
        "Restoring: cutoffs, gaps and pipeline arguments",
        (
            "degradations.py",
            "pipelines/pipeline",
            "pipelines/bandwidth_cutoff",
        ),
    ),
    ("The command line", ("cli/", "spectrogram_pictures.py")),
    (
        "Models, the bundled model and the released checkpoints",
        (
            "models/",
            "official/",
            "pipelines/converted_checkpoints.py",
            "pipelines/bundled_model.py",
        ),
    ),
    ("Representations and schedulers", ("representations/", "schedulers/")),
    ("Writing results", ("io/atomic_output.py",)),
    ("Training", ("training/",)),
    ("Evaluation", ("evaluation/",)),
]


def placeholder(value: ast.expr) -> str:
    """`cutoff_hz` for `{cutoff_hz}` or `{self.cutoff_hz}`; `…` for anything more involved."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Attribute) and not value.attr.startswith("__"):
        return value.attr
    return "…"


def rendered(node: ast.expr) -> str | None:
    """The text of a message expression, run-time values as `⟨name⟩`; None if not text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(rendered(part) or "" for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return f"⟨{placeholder(node.value)}⟩"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = rendered(node.left), rendered(node.right)
        return None if left is None or right is None else left + right
    return None


MESSAGE_ARGUMENT = {
    "A2SBInputError": 0,
    "TooShortToDetect": 0,
    "A2SBWriteError": 0,
    "A2SBOutputExistsError": 0,
    "_require": 1,  # a2sb/training/config.py: _require(condition, message)
}
"""The calls whose messages the page lists (the one-line errors, with their subclasses), and
which argument is the message."""

WRITE_FAULT_TABLES = ("_WRITE_FAULTS", "_FOLDER_GONE")
"""Module-level names of a2sb/io/atomic_output.py holding (cause, fix) pairs of failed writes."""


def messages(path: Path) -> list[str]:
    """The literal messages of the listed errors' calls in one file, in order, then its write
    faults."""
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        argument = MESSAGE_ARGUMENT.get(getattr(node.func, "id", ""))
        if argument is not None and len(node.args) > argument:
            if (text := rendered(node.args[argument])) is not None:
                found.append(" ".join(text.split()))
    return found + write_faults(tree)


def write_faults(tree: ast.Module) -> list[str]:
    """`cannot write ⟨path⟩: CAUSE; FIX` for each pair in the `WRITE_FAULT_TABLES` of a module."""
    found = []
    for node in tree.body:
        names = [getattr(target, "id", "") for target in getattr(node, "targets", [])]
        if not set(names) & set(WRITE_FAULT_TABLES):
            continue
        pairs = node.value.values if isinstance(node.value, ast.Dict) else [node.value]
        for cause, fix in (ast.literal_eval(pair) for pair in pairs):
            found.append(f"cannot write ⟨path⟩: {cause}; {fix}")
    return found


def area_of(relative: str) -> str:
    for title, prefixes in AREAS:
        if relative.startswith(prefixes):
            return title
    raise SystemExit(f"a2sb/{relative} raises a listed error but is in no area; add it to AREAS")


def table_row(message: str) -> str:
    problem, _, fix = message.partition("; ")
    escape = str.maketrans({"|": "\\|", "<": "&lt;"})
    return f"| {problem.translate(escape)} | {fix.translate(escape) or '—'} |"


def generated_section() -> str:
    by_area: dict[str, list[str]] = {title: [] for title, _ in AREAS}
    for path in sorted((REPO / "a2sb").rglob("*.py")):
        relative = path.relative_to(REPO / "a2sb").as_posix()
        for message in messages(path):
            if message not in by_area[area_of(relative)]:
                by_area[area_of(relative)].append(message)
    parts = [BEGIN]
    for title, found in by_area.items():
        parts += [f"\n### {title}\n", "| what is wrong | what to do |", "| --- | --- |"]
        parts += [table_row(message) for message in found]
    return "\n".join(parts + ["", END])


def updated_page() -> str:
    text = PAGE.read_text()
    before, _, rest = text.partition(BEGIN)
    _, _, after = rest.partition(END)
    return before + generated_section() + after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    page = updated_page()
    if parser.parse_args().check:
        sys.exit(0 if page == PAGE.read_text() else "docs/troubleshooting.md is out of date")
    PAGE.write_text(page)


if __name__ == "__main__":
    main()

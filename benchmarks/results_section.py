"""Write one `## ...` section of benchmarks/RESULTS.md, replacing an older one of that heading."""

from __future__ import annotations

from pathlib import Path


def write_section(results_file: Path, section: str) -> None:
    """Put `section` into `results_file` under its own heading (the section's first line).

    An existing section with that heading is replaced in place (up to the next `## `
    heading); otherwise the section is appended. A missing file is started as
    "# Benchmark results".
    """
    heading = section.splitlines()[0]
    text = results_file.read_text() if results_file.exists() else "# Benchmark results\n"
    if heading + "\n" in text or text.endswith(heading):
        start = text.index(heading)
        next_heading = text.find("\n## ", start + len(heading))
        rest = text[next_heading + 1 :] if next_heading >= 0 else ""
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    results_file.write_text(text)

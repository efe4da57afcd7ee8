"""benchmarks/gpu_suite.py: its CPU smoke run end to end, and the pieces that decide figures."""

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "benchmarks"))

import gpu_suite  # noqa: E402
from results_section import write_section  # noqa: E402


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the markdown table in `text`, as cells."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_smoke_run_prints_one_table_with_every_kind_and_writes_only_its_file(tmp_path):
    results_file = tmp_path / "RESULTS.md"
    results_file.write_text("# Benchmark results\n\n## Other\n\nkept\n")
    committed = (REPOSITORY / "benchmarks" / "RESULTS.md").read_text()
    completed = subprocess.run(
        [sys.executable, "benchmarks/gpu_suite.py", "--smoke", "--results-file", results_file],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.count("| kind | what |") == 1
    rows = table_rows(completed.stdout)
    kinds = {row[0] for row in rows}
    assert kinds == {"model", "pipeline", "training", "projection"}
    whats = [row[1] for row in rows]
    for dtype in ("fp32", "bf16", "fp16"):
        assert any(what.startswith(f"{dtype} eager") for what in whats), dtype
    assert any("compiled" in row[1] and row[2].endswith(" ms") for row in rows)
    assert not [row for row in rows if row[2] in ("failed", "skipped")]
    for sampling in ("i2sb 2 steps overlap", "i2sb 2 steps shifted"):
        assert sum(what.startswith(sampling) for what in whats) == 2, sampling
    assert sum(row[0] == "training" for row in rows) == 2
    assert sum(row[0] == "projection" for row in rows) == 2
    for row in rows:
        if row[0] in ("pipeline", "training") and "largest window batch" not in row[1]:
            assert float(row[5]) > 0.1, row  # peak host RSS was measured
    written = results_file.read_text()
    assert written.startswith("# Benchmark results\n\n## Other\n\nkept\n\n## GPU\n")
    assert "Smoke run on the CPU" in written
    assert table_rows(written) == rows
    assert (REPOSITORY / "benchmarks" / "RESULTS.md").read_text() == committed


def test_projection_is_linear_in_the_longest_measured_run():
    release, fast = gpu_suite.RELEASE_SAMPLING, gpu_suite.FAST_SAMPLING
    runs = [
        gpu_suite.PipelineRun(release, 49, 60.0, 50.0),
        gpu_suite.PipelineRun(release, 49, 600.0, None),  # skipped for the budget
        gpu_suite.PipelineRun(fast, 8, 60.0, 9.0),
        gpu_suite.PipelineRun(fast, 8, 600.0, 80.0),
    ]
    release_row, fast_row = gpu_suite.projection_rows(runs)
    assert release_row.time.startswith("3000 s")  # 50 s × 60 from the 1-minute run
    assert "1 min × 60" in release_row.note
    assert fast_row.time.startswith("480 s")  # 80 s × 6 from the 10-minute run
    assert "10 min × 6" in fast_row.note


@pytest.mark.parametrize(
    ("predicted", "largest", "bracketed"),
    [(35, 37, True), (40, 37, True), (37, 37, True), (20, 25, False)],
)
def test_largest_fitting_batch_searches_from_the_prediction(predicted, largest, bracketed):
    tried = []

    def fits(batch):
        tried.append(batch)
        return batch <= 37

    found, trace, is_bracketed = gpu_suite.largest_fitting_batch(predicted, fits)
    assert (found, is_bracketed) == (largest, bracketed)
    assert [batch for batch, _ in trace] == tried
    assert len(tried) <= 6


def test_largest_fitting_batch_is_none_when_nothing_fits():
    found, trace, bracketed = gpu_suite.largest_fitting_batch(3, lambda batch: False)
    assert found is None and not bracketed
    assert [batch for batch, _ in trace] == [3, 2, 1]


def test_fit_line_recovers_intercept_and_slope():
    intercept, slope = gpu_suite.fit_line([(1, 1.5 + 0.25), (4, 1.5 + 1.0), (16, 1.5 + 4.0)])
    assert intercept == pytest.approx(1.5)
    assert slope == pytest.approx(0.25)


def test_write_section_replaces_its_own_heading_only(tmp_path):
    results_file = tmp_path / "RESULTS.md"
    results_file.write_text("# Benchmark results\n\n## A\n\nold a\n\n## GPU\n\nold\n\n## B\n\nb\n")
    write_section(results_file, "## GPU\n\nnew\n")
    assert (
        results_file.read_text()
        == "# Benchmark results\n\n## A\n\nold a\n\n## GPU\n\nnew\n\n## B\n\nb\n"
    )
    write_section(results_file, "## C\n\nc\n")
    assert results_file.read_text().endswith("## B\n\nb\n\n## C\n\nc\n")

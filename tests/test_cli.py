import subprocess
import sys

import pytest

from a2sb import __version__
from a2sb.cli import main


def test_version_prints_package_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"a2sb {__version__}"


def test_help_runs_as_module():
    result = subprocess.run(
        [sys.executable, "-m", "a2sb", "--help"], capture_output=True, text=True, check=True
    )
    assert "usage: a2sb" in result.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["restore", "x.wav", "--seed", "abc"], "a2sb: restore: argument --seed: invalid int"),
        (["restore"], "a2sb: restore: the following arguments are required: INPUT"),
        (["app", "--port", "x"], "a2sb: app: argument --port: invalid int value"),
        (["evaluate", "--no-such-option"], "a2sb: evaluate: "),
        (["train", "--no-such-option"], "a2sb: train: "),
        (["no-such-command"], "a2sb: argument COMMAND: invalid choice: 'no-such-command'"),
    ],
)
def test_every_usage_error_is_one_line_with_where_to_read_the_usage(capsys, argv, expected):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(expected) and error.count("\n") == 1, error
    assert error.rstrip().endswith("--help") and "usage:" not in error

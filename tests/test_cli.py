import subprocess
import sys

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

"""The `a2sb` command line.

Each command lives in its own module of this package with two functions:
`add_parser(subparsers)` registers its arguments (and `set_defaults(run=run)`), and
`run(args) -> int` carries it out. A new command is one module added to `COMMAND_MODULES`.
Errors a user can fix (`A2SBInputError`) and usage errors are printed as one line, `a2sb:
<message>`, with exit code 2 and no traceback; a result that cannot be written
(`A2SBWriteError`) likewise, with exit code 1; Ctrl-C or SIGTERM (`a2sb.cli.interruption`) ends
a command with `a2sb: interrupted` and exit code 130 or 143. Before a command runs, glibc's
malloc is told to keep freed memory (`a2sb.allocator`), which makes CPU restoration
markedly faster.
"""

import argparse
import sys
from collections.abc import Sequence

from a2sb import __version__
from a2sb.allocator import keep_freed_memory
from a2sb.cli import app, assemble, convert, env, evaluate, restore, train
from a2sb.cli.console import printable
from a2sb.cli.interruption import Interrupted, signals_interrupt
from a2sb.errors import A2SBInputError, A2SBWriteError
from a2sb.io.atomic_output import os_error_message

COMMAND_MODULES: list = [restore, app, evaluate, train, assemble, convert, env]


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, `a2sb: <command>: <error>`, with
    where to read the usage (`--help`) instead of the whole usage block; exit code 2. Its
    subcommands' parsers are of the same class."""

    def error(self, message: str):
        command = self.prog.removeprefix("a2sb").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"a2sb: {where}{message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `a2sb` with every registered command."""
    parser = OneLineParser(
        prog="a2sb",
        description=(
            "Restore high-resolution music with Audio-to-Audio Schrödinger Bridges: "
            "bandwidth extension and inpainting of 44.1 kHz audio."
        ),
    )
    parser.add_argument("--version", action="version", version=f"a2sb {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    parser.command_parsers = subparsers.choices
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str] | None):
    """`parser.parse_args`, with an unknown option reported by the command it was given to."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command_parser = parser.command_parsers.get(args.command, parser)
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `a2sb` console script; returns the process exit code."""
    parser = build_parser()
    args = parse_arguments(parser, argv)
    if args.command is None:
        parser.print_help()
        return 0
    keep_freed_memory()
    try:
        with signals_interrupt():
            return args.run(args)
    except A2SBInputError as error:
        print(printable(f"a2sb: {error}"), file=sys.stderr)
        return 2
    except A2SBWriteError as error:
        print(printable(f"a2sb: {error}"), file=sys.stderr)
        return 1
    except Interrupted as interruption:
        print("a2sb: interrupted", file=sys.stderr)
        return interruption.exit_code
    except OSError as error:  # a path the file system refuses to look up (too long, a loop)
        print(printable(f"a2sb: {os_error_message(error)}"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""`accelerate launch -m a2sb.training --config CONFIG [KEY=VALUE ...]` (or `torchrun -m`)."""

import argparse
import sys

from a2sb.errors import A2SBInputError
from a2sb.training.arguments import add_training_arguments, run_training


def main() -> int:
    """Parse the arguments and train; user-fixable errors end with one line and exit code 2."""
    parser = argparse.ArgumentParser(
        prog="python -m a2sb.training", description="Train an A2SB network with Accelerate."
    )
    add_training_arguments(parser)
    try:
        return run_training(parser.parse_args())
    except A2SBInputError as error:
        print(f"a2sb: {error}", file=sys.stderr)
        return 2


sys.exit(main())

"""`accelerate launch -m a2sb.training --config CONFIG [KEY=VALUE ...]` (or `torchrun -m`)."""

import argparse
import logging
import sys

from a2sb.errors import A2SBInputError, A2SBWriteError
from a2sb.training.arguments import add_training_arguments, config_from_arguments
from a2sb.training.config import config_to_yaml
from a2sb.training.trainer import train


def main() -> int:
    """Parse the arguments and train; user-fixable errors end with one line and exit code 2,
    a checkpoint or pipeline that cannot be written with one line and exit code 1."""
    parser = argparse.ArgumentParser(
        prog="python -m a2sb.training", description="Train an A2SB network with Accelerate."
    )
    add_training_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = config_from_arguments(args)
        if args.print_config:
            print(config_to_yaml(config), end="")
            return 0
        train(config)
    except A2SBInputError as error:
        print(f"a2sb: {error}", file=sys.stderr)
        return 2
    except A2SBWriteError as error:
        print(f"a2sb: {error}", file=sys.stderr)
        return 1
    return 0


sys.exit(main())

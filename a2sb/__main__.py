import sys

from a2sb.cli import main

sys.exit(main())

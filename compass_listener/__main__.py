"""Lets `python -m compass_listener` behave exactly like the `compass-listener` command."""

import sys

from compass_listener.cli import main

sys.exit(main())

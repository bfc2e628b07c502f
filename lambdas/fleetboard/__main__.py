"""`python -m fleetboard`: the same as the `fleetboard` command."""

import sys

from fleetboard.cli import main

sys.exit(main())

"""`python -m app.cli`: the same as the `queue-service` console script."""

import sys

from app.cli.main import main

sys.exit(main())

"""The `queue-service` command: the composition root.

The one package of `app` that may import `workers`, to start them. Settings are
read here and handed down as plain values. One module per concern: `main`
(the parser and the entry point), `migrate`, `jobs` (enqueue and the admin
commands), `worker`, `serve` (the API, and `dev`), `tokens`; `connection`
holds what the database commands share.
"""

from app.cli.main import build_parser, main
from app.cli.migrate import VERSION, run_migrations

__all__ = ["VERSION", "build_parser", "main", "run_migrations"]

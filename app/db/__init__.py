"""The database seam: the only package of `app` that uses psycopg.

Internal, not a stable API: other services talk to the queue through the SQL
functions and views of schema `queue`, or the HTTP API.
"""

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

# The connection type callers hand to the services: a connection (and therefore a
# transaction) the caller owns.
Connection = psycopg.AsyncConnection[Any]
# A process's pool of such connections.
Pool = AsyncConnectionPool

__all__ = ["Connection", "Pool"]

"""The database as the HTTP layer sees it: a connection type and a pool.

The API receives connections and opens a pool without importing `app.db`.
"""

from app.db import Connection, Pool
from app.db.errors import DATABASE_UNAVAILABLE, unavailable_reason
from app.db.pool import check_in_background, create_pool

__all__ = [
    "DATABASE_UNAVAILABLE",
    "Connection",
    "Pool",
    "check_in_background",
    "create_pool",
    "unavailable_reason",
]

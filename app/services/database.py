"""The database as the HTTP layer sees it: a connection type and a pool.

The API receives connections and opens a pool without importing `app.db`.
"""

from app.db import Connection, Pool
from app.db.pool import create_pool

__all__ = ["Connection", "Pool", "create_pool"]

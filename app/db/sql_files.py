"""Where the SQL files live: the repository's `sql/`, or the copy in a wheel."""

from pathlib import Path


def sql_dir() -> Path:
    """Return the directory that holds `migrations/` and `queries/`."""
    packaged = Path(__file__).resolve().parent.parent / "_sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"

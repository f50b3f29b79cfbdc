"""Typed wrappers of `sql/queries/fleet.sql`: the old counters summed over every process."""

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import execute, fetch_all


@dataclass(frozen=True)
class FleetCount:
    """One series of a counter: its sample name, labels and value."""

    sample: str
    labels: dict[str, str]
    value: float


async def add_fleet_counts(conn: Connection, counts: Sequence[FleetCount]) -> None:
    """Add these increments to the fleet's sums, in one statement."""
    await execute(
        conn,
        "add_fleet_counts",
        {
            "samples": [count.sample for count in counts],
            "labels": [Jsonb(count.labels) for count in counts],
            "values": [count.value for count in counts],
        },
    )


async def fleet_counts(conn: Connection) -> list[FleetCount]:
    """Return the fleet's sums, one per series."""
    return await fetch_all(conn, "fleet_counts", {}, FleetCount)

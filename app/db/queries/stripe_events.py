"""Typed wrappers of `sql/queries/stripe_events.sql`: what the stripe-event task reads."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db import Connection
from app.db.queries import fetch_one


@dataclass(frozen=True)
class StripeOrigin:
    """The job whose Stripe call made an object; its row may be gone (retention)."""

    job_id: int
    job_type: str | None
    state: str | None
    data: Any
    meta: Any


async def find_stripe_origin(
    conn: Connection, *, object_id: str, created: datetime, window_s: float
) -> StripeOrigin | None:
    """Return the job whose recorded Stripe answer names `object_id`, if any.

    Only calls started within `window_s` of `created` (the object's creation,
    by Stripe's clock) are searched.
    """
    return await fetch_one(
        conn,
        "find_stripe_origin",
        {"object_id": object_id, "created": created, "window_s": window_s},
        StripeOrigin,
    )

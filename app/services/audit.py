"""The audit log of operator actions, written in the action's own transaction."""

from dataclasses import dataclass
from typing import Any

from app.db import Connection
from app.db.queries.audit import insert_audit
from app.domain.access import Principal


@dataclass(frozen=True)
class AuditContext:
    """Who acts, and from which request."""

    principal: Principal
    request_id: str | None
    ip: str | None


async def record(
    conn: Connection, context: AuditContext, action: str, target: str, **details: Any
) -> None:
    """Record `action` on `target` by the context's caller."""
    await insert_audit(
        conn,
        actor=context.principal.sub,
        role=context.principal.role.value,
        action=action,
        target=target,
        request_id=context.request_id,
        ip=context.ip,
        details=details,
    )

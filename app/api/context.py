"""What a request tells the services about who acts and from where."""

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from app.api.request_ids import request_id_of
from app.domain.access import Principal
from app.services.audit import AuditContext
from app.services.database import Connection, Pool
from app.services.group_enqueue import GroupEnqueuer
from app.settings import Settings


def audit_context(request: Request[Principal, Any, Any]) -> AuditContext:
    """Return the audit context of an authenticated request."""
    client = request.client
    return AuditContext(
        principal=request.user,
        request_id=request_id_of(request.scope),
        ip=client.host if client else None,
    )


# A request whose caller passed authentication.
AuthRequest = Request[Principal, Any, Any]

# The app-level dependencies, named explicitly as Litestar asks.
Conn = NamedDependency[Connection]
DbPool = NamedDependency[Pool]
Enqueuer = NamedDependency[GroupEnqueuer]
AppSettings = NamedDependency[Settings]

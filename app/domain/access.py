"""Who may do what: the roles of the old service's API, as pure rules.

- admin: everything.
- venue_admin: add jobs for their venues; see, retry and cancel their venues' jobs.
- user: add jobs; see their own.
- monitoring: read-only queues, metrics, rate limits and alerts; no jobs.
"""

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The roles a token may carry."""

    ADMIN = "admin"
    VENUE_ADMIN = "venue_admin"
    USER = "user"
    MONITORING = "monitoring"


@dataclass(frozen=True)
class Principal:
    """The caller, as its token describes it."""

    sub: str
    role: Role
    venues: tuple[str, ...] = ()

    @property
    def key_scope(self) -> str:
        """The caller's own idempotency-key space: a digest of its subject.

        Fixed-length hex, so no subject can spell another's scope.
        """
        return "sub-" + hashlib.sha256(self.sub.encode()).hexdigest()[:32]


ENQUEUERS = frozenset({Role.ADMIN, Role.VENUE_ADMIN, Role.USER})
OBSERVERS = frozenset({Role.ADMIN, Role.MONITORING})
JOB_MANAGERS = frozenset({Role.ADMIN, Role.VENUE_ADMIN})


def can_see_job(
    principal: Principal, *, user_id: str | None, venue_id: str | None
) -> bool:
    """Return True when the caller may read this job."""
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.VENUE_ADMIN:
        return venue_id is not None and venue_id in principal.venues
    if principal.role is Role.USER:
        return user_id is not None and user_id == principal.sub
    return False


def sees_payloads(principal: Principal) -> bool:
    """Return True when lists of a queue's jobs show this caller their data.

    The monitoring role watches queues, not what is in them: job data carries
    personal details (emails, phone numbers, payment references).
    """
    return principal.role is Role.ADMIN


def can_manage_job(principal: Principal, *, venue_id: str | None) -> bool:
    """Return True when the caller may retry or cancel this job."""
    if principal.role is Role.ADMIN:
        return True
    return (
        principal.role is Role.VENUE_ADMIN
        and venue_id is not None
        and venue_id in principal.venues
    )


def can_enqueue_for_venue(principal: Principal, venue_id: str | None) -> bool:
    """Return True when the caller may add a job concerning this venue.

    A venue admin adds jobs for their own venues only; a user's jobs are theirs
    whatever the venue; an admin's are anyone's.
    """
    if principal.role is Role.VENUE_ADMIN:
        return venue_id is not None and venue_id in principal.venues
    return principal.role in ENQUEUERS

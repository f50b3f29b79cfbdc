"""Who may do what: the roles of the old service's API, as pure rules.

- admin: everything.
- venue_admin: add jobs for their venues; see, retry and cancel their venues' jobs.
- user: add jobs; see their own.
- monitoring: read-only queues, metrics, rate limits and alerts; no jobs over
  the API. In the console it browses every job and reads each one's state,
  attempts and errors, its payload redacted (`redact_payload`).
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


def can_browse_jobs(principal: Principal) -> bool:
    """Return True when the caller may list every job of every queue (the console's browser).

    The operators' roles only: the listing is not narrowed to a caller's
    venues or jobs.
    """
    return principal.role in OBSERVERS


def can_inspect_job(
    principal: Principal, *, user_id: str | None, venue_id: str | None
) -> bool:
    """Return True when the caller may read this job's state, attempts and errors.

    Those who may see the job, and the monitoring role, which watches every
    queue: what the job carries it sees only as `sees_payloads` allows.
    """
    return principal.role is Role.MONITORING or can_see_job(
        principal, user_id=user_id, venue_id=venue_id
    )


def redact_payload(value: object) -> object:
    """Return a JSON value with its shape kept and every value in it replaced.

    Objects keep their keys and lists their length, so a watcher sees which
    fields a job carries; each string, number, boolean and null becomes the
    name of its JSON type ("<string>"), which says nothing of what it was.
    Used where `sees_payloads` is False but a job is shown whole.
    """
    if isinstance(value, dict):
        return {str(key): redact_payload(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_payload(item) for item in value]
    if value is None:
        return "<null>"
    if isinstance(value, bool):
        return "<boolean>"
    if isinstance(value, int | float):
        return "<number>"
    if isinstance(value, str):
        return "<string>"
    return "<value>"


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

"""What a page says after an action: fixed sentences, chosen by a slug in the URL.

The redirect after a POST names its outcome (`?notice=paused`); the page
looks the sentence up here, so nothing a URL carries is shown as text.
"""

NOTICES = {
    "paused": "Queue paused: running jobs finish, nothing more is claimed.",
    "resumed": "Queue resumed: its workers were woken.",
    "retried": "Job requeued with a fresh set of attempts.",
    "cancelled": "Job cancelled.",
    "aborting": "Abort requested: the job's worker stops it.",
    "bulk-retried": "The selected failed jobs were requeued.",
    "bulk-cancelled": "The group's jobs waiting for another attempt were cancelled.",
    "bulk-retried-partly": "The group's failed jobs were requeued, except those whose "
    "queueing lock a waiting job holds: they stay failed.",
    "bulk-discarded": "The group's failed jobs were discarded.",
    "bulk-nothing": "No failed job of that group was left to act on.",
    "acknowledged": "Alert acknowledged.",
    "stopped": "Emergency stop: no call to this provider is made until it is resumed.",
    "provider-resumed": "Provider resumed.",
    "stopped-all": "Emergency stop of every provider: no provider call is made until "
    "they are resumed.",
    "resumed-all": "Every provider resumed.",
    "reset": "Bucket refilled and its Retry-After hold lifted.",
    "enabled": "Schedule enabled.",
    "disabled": "Schedule disabled.",
    "ran": "The schedule's job was enqueued now.",
}


def notice_text(slug: str | None) -> str:
    """Return the sentence of a notice slug; an unknown slug says nothing."""
    return NOTICES.get(slug or "", "")

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
    "bulk-cancelled": "The selected jobs were cancelled.",
    "acknowledged": "Alert acknowledged.",
    "stopped": "Emergency stop: no call to this provider is made until it is resumed.",
    "provider-resumed": "Provider resumed.",
    "enabled": "Schedule enabled.",
    "disabled": "Schedule disabled.",
    "ran": "The schedule's job was enqueued now.",
}


def notice_text(slug: str | None) -> str:
    """Return the sentence of a notice slug; an unknown slug says nothing."""
    return NOTICES.get(slug or "", "")

"""The job-type catalogue and what is derived from it."""

import re

import pytest

from app.domain.access import Role
from app.domain.job_types import CATALOGUE
from workers.tasks import TaskCatalogueMismatch, task_bodies
from workers.tasks.registry import BODIES, task_body

# The job_types_idempotency_key_template_check constraint of queue.job_types.
TEMPLATE = re.compile(r"^([^{}]|\{[A-Za-z][A-Za-z0-9_]*(\|[A-Za-z][A-Za-z0-9_]*)*\})+$")


def test_every_catalogued_type_has_a_task_body_and_every_body_a_type():
    assert set(task_bodies(30)) == set(CATALOGUE)


def test_a_body_without_a_catalogued_type_stops_the_worker():
    task_body("not-catalogued")(lambda context: None)
    try:
        with pytest.raises(
            TaskCatalogueMismatch, match="not in the catalogue: not-catalogued"
        ):
            task_bodies(30)
    finally:
        del BODIES["not-catalogued"]


def test_a_catalogued_type_without_a_body_stops_the_worker():
    body = BODIES.pop("send-sms")
    try:
        with pytest.raises(TaskCatalogueMismatch, match="no body for send-sms"):
            task_bodies(30)
    finally:
        BODIES["send-sms"] = body


def test_a_job_type_cannot_have_two_bodies():
    with pytest.raises(ValueError, match="send-sms has two task bodies"):
        task_body("send-sms")(lambda context: None)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_entry_is_well_formed(name):
    entry = CATALOGUE[name]
    assert entry.name == name
    assert re.fullmatch(r"[a-z][a-z0-9-]*", name)
    assert 1 <= entry.default_priority <= 10
    assert entry.key_template is None or TEMPLATE.fullmatch(entry.key_template)
    # A provider call needs both its breaker and its bucket.
    assert (entry.provider is None) == (entry.bucket is None)
    assert entry.enqueue_roles <= set(Role)


# Who may enqueue each type over HTTP: the decision, written down once more so
# that a change of it is deliberate (docs/concepts.md "Who may enqueue what").
EXPECTED_ENQUEUERS = {
    "payment-process": {"admin", "venue_admin", "user"},
    "analytics-track": {"admin", "venue_admin", "user"},
    "nft-mint": {"admin", "venue_admin"},
    "send-email": {"admin", "venue_admin"},
    "send-sms": {"admin", "venue_admin"},
    "send-push": {"admin", "venue_admin"},
    "refund-process": {"admin"},
    "payout-process": {"admin"},
    "webhook-deliver": {"admin"},
    "cleanup-old-data": {"admin"},
    "generate-report": {"admin"},
    "rescue-stalled-jobs": set(),
    "run-retention": set(),
    "run-schedules": set(),
    "age-priorities": set(),
    "monitor": set(),
    "deliver-alert": set(),
    # Enqueued by POST /webhooks/stripe alone, on Stripe's signature.
    "stripe-event": set(),
}


def test_every_type_says_who_may_enqueue_it_over_http():
    assert set(CATALOGUE) == set(EXPECTED_ENQUEUERS)
    for name, entry in CATALOGUE.items():
        assert {role.value for role in entry.enqueue_roles} == EXPECTED_ENQUEUERS[
            name
        ], name
    # Nobody may trigger the service's own jobs, whatever the queue says.
    assert all(
        not e.enqueue_roles for e in CATALOGUE.values() if e.queue == "maintenance"
    )

"""The job-type catalogue and what is derived from it."""

import re

import pytest

from app.domain.access import ENQUEUERS, Role
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


def test_only_operators_may_enqueue_the_maintenance_types():
    for entry in CATALOGUE.values():
        if entry.queue == "maintenance":
            assert entry.enqueue_roles == {Role.ADMIN}, entry.name
        else:
            assert entry.enqueue_roles == ENQUEUERS, entry.name

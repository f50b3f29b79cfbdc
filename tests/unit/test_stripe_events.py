"""What a Stripe event becomes as a job: its stream, and what of its object is kept."""

import pytest
import stripe

from app.domain.errors import StripeEventInvalid
from app.domain.job_types import CATALOGUE, validate_payload
from app.domain.stripe_events import job_data, stream_of
from tests.helpers.stripe_events import (
    WEBHOOK_SECRET,
    body_of,
    event,
    payment_intent,
    sign,
)


@pytest.mark.parametrize(
    ("obj", "stream"),
    [
        ({"id": "pi_1", "object": "payment_intent"}, "pi_1"),
        ({"id": "ch_1", "object": "charge", "payment_intent": "pi_1"}, "pi_1"),
        ({"id": "ch_1", "object": "charge", "payment_intent": None}, "ch_1"),
        (
            {
                "id": "re_1",
                "object": "refund",
                "payment_intent": "pi_1",
                "charge": "ch_1",
            },
            "pi_1",
        ),
        ({"id": "re_1", "object": "refund", "charge": "ch_1"}, "ch_1"),
        (
            {"id": "dp_1", "object": "dispute", "payment_intent": {"id": "pi_1"}},
            "pi_1",
        ),
        ({"id": "po_1", "object": "payout"}, "po_1"),
        ({"object": "balance", "available": []}, None),
    ],
    ids=[
        "intent",
        "charge",
        "legacy-charge",
        "refund",
        "refund-of-charge",
        "expanded",
        "payout",
        "no-id",
    ],
)
def test_an_event_runs_in_its_payments_stream(obj, stream):
    assert stream_of(obj) == stream
    data = job_data(event("x.updated", obj))
    assert data.get("objectId") == stream


def test_the_ordering_key_is_rendered_from_the_stream_and_the_key_from_the_id():
    entry = CATALOGUE["stripe-event"]
    assert (entry.queue, entry.key_template, entry.ordering_template) == (
        "money",
        "stripe-event-{id}",
        "stripe-{objectId}",
    )
    assert entry.enqueue_roles == frozenset()


def test_what_is_kept_of_the_object_is_what_the_task_reads_and_nothing_personal():
    intent = payment_intent(
        status="succeeded",
        latest_charge={"id": "ch_9", "object": "charge", "billing_details": {}},
        metadata={"venueId": "v-1", "nested": {"no": "strings only"}},
    )
    data = job_data(event("payment_intent.succeeded", intent))
    kept = data["object"]
    assert kept["latest_charge"] == "ch_9"  # an expanded object stands for its id
    assert kept["metadata"] == {"venueId": "v-1"}
    assert set(kept) <= {
        "id",
        "object",
        "created",
        "livemode",
        "status",
        "amount",
        "amount_received",
        "currency",
        "latest_charge",
        "metadata",
        "last_payment_error",
    }
    assert "payment_method" not in kept["last_payment_error"]
    validate_payload("stripe-event", data)


def test_a_refused_body_says_where_it_is_wrong():
    with pytest.raises(StripeEventInvalid) as refused:
        job_data({**event("charge.refunded", {"object": "charge"}), "created": -1})
    assert refused.value.errors == [
        {"detail": "Input should be greater than or equal to 0", "pointer": "/created"}
    ]
    assert "/created" in refused.value.detail


def test_the_test_signer_signs_as_stripes_sdk_verifies():
    # The header the tests build by hand is the one Stripe's code accepts.
    body = body_of(event("payout.paid", {"id": "po_1", "object": "payout"}))
    assert stripe.WebhookSignature.verify_header(
        body.decode(), sign(body), WEBHOOK_SECRET, 300
    )

"""Inbound Stripe events: what makes a body one, and the job data it becomes.

Stripe POSTs snapshot events (`"object": "event"`) to `POST /webhooks/stripe`.
Once the signature is verified, `job_data` turns the event into the `data` of
a `stripe-event` job:

- what identifies the event: `id`, `type`, `created`, `livemode`,
  `apiVersion`;
- `object`: the event's object cut down to `OBJECT_FIELDS`, the fields the
  task reads or forwards. PaymentIntents and charges carry their customers'
  names, emails, addresses and card details; this service has no use for
  them and keeps its money jobs for months, so they are never stored;
- `objectId`, the stream the event runs in: the PaymentIntent its object
  belongs to, else the charge, else the object itself. A payment's
  PaymentIntent, charge and refund events are therefore one stream, run one
  at a time in the order they arrived (the type's ordering template).
"""

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.domain.errors import StripeEventInvalid
from app.domain.payloads import (
    StripeApiVersion,
    StripeEventId,
    StripeEventType,
    StripeObject,
    json_pointer,
)

# Fields of an event's object that are kept: what the task matches on and
# what a callback receiver needs to know what happened, nothing personal.
OBJECT_FIELDS = (
    "id",
    "object",
    "created",
    "livemode",
    "status",
    "amount",
    "amount_received",
    "amount_refunded",
    "currency",
    "payment_intent",
    "charge",
    "latest_charge",
    "refunded",
    "reason",
    "cancellation_reason",
    "failure_code",
    "failure_message",
    "arrival_date",
    "method",
)
# Of a PaymentIntent's last_payment_error: why, never the payment method.
ERROR_FIELDS = ("type", "code", "decline_code", "message")
# Where an object names what it belongs to, the nearest payment first.
STREAM_FIELDS = ("payment_intent", "charge")

_ID = re.compile(r"[!-~]{1,255}")


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    object: StripeObject


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    id: StripeEventId
    object: Literal["event"]
    type: StripeEventType
    created: int = Field(ge=0)
    livemode: bool
    api_version: StripeApiVersion | None = None
    data: _Data


def job_data(event: object) -> dict[str, Any]:
    """Return the `data` of the `stripe-event` job for a verified Stripe event.

    Raises:
        StripeEventInvalid: `event` is not a Stripe snapshot event; `errors`
            point into the body.
    """
    if not isinstance(event, dict):
        raise StripeEventInvalid(
            "the body is not a JSON object, so not a Stripe event",
            errors=[{"detail": "must be a JSON object", "pointer": ""}],
        )
    if event.get("object") == "v2.core.event":
        raise StripeEventInvalid(
            "the body is a thin event (v2.core.event); this endpoint takes snapshot "
            "events: give the Stripe endpoint the snapshot payload",
            errors=[{"detail": "must be 'event'", "pointer": "/object"}],
        )
    try:
        parsed = _Event.model_validate(event)
    except ValidationError as exc:
        errors = [
            {"detail": error["msg"], "pointer": json_pointer(error["loc"])}
            for error in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors)
        raise StripeEventInvalid(
            f"the body is not a Stripe event: {summary}", errors=errors
        ) from None
    raw = event["data"]["object"]
    data: dict[str, Any] = {
        "id": parsed.id,
        "type": parsed.type,
        "created": parsed.created,
        "livemode": parsed.livemode,
        "apiVersion": parsed.api_version,
        "object": kept_object(raw),
    }
    stream = stream_of(raw)
    if stream is not None:
        data["objectId"] = stream
    return data


def kept_object(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the fields of a Stripe object this service keeps (`OBJECT_FIELDS`)."""
    kept: dict[str, Any] = {}
    for name in OBJECT_FIELDS:
        if name in raw and (value := _scalar(raw[name])) is not _DROPPED:
            kept[name] = value
    metadata = raw.get("metadata")
    if isinstance(metadata, dict):
        # Stripe's metadata values are strings; what the caller set
        # (payment-process: userId, venueId, eventId) is how a receiver
        # finds its own records.
        kept["metadata"] = {
            str(k): v for k, v in metadata.items() if isinstance(v, str)
        }
    error = raw.get("last_payment_error")
    if isinstance(error, dict):
        kept["last_payment_error"] = {
            name: error[name]
            for name in ERROR_FIELDS
            if isinstance(error.get(name), str)
        }
    return kept


def stream_of(raw: dict[str, Any]) -> str | None:
    """Return the stream of an event about `raw`: its payment, else itself."""
    for name in STREAM_FIELDS:
        ref = _scalar(raw.get(name))
        if isinstance(ref, str) and _ID.fullmatch(ref):
            return ref
    own = raw.get("id")
    return own if isinstance(own, str) and _ID.fullmatch(own) else None


_DROPPED = object()


def _scalar(value: Any) -> Any:
    # An expanded object stands for its id; lists and other nested values
    # are not kept.
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return _DROPPED

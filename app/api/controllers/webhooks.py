"""/api/v1/queue/webhooks/stripe: events Stripe sends, proven by their signature.

Stripe sends no token: the `Stripe-Signature` header, made with the
endpoint's signing secret (STRIPE_WEBHOOK_SECRET), is the request's
authentication, so the path is exempt from the JWT middleware and from the
per-caller rate limit (`app.api.auth.OPEN_PATHS`; Stripe's deliveries come
from a few shared addresses). It answers 200 once the event's job is
enqueued, before any processing, as Stripe asks of an endpoint.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, post
from litestar.openapi.spec import (
    OpenAPIMediaType,
    Operation,
    Parameter,
    RequestBody,
)
from litestar.params import HeaderParameter
from litestar.status_codes import HTTP_200_OK

from app.api.context import AppSettings, Conn
from app.api.controllers.health import OPEN
from app.api.documented import problems
from app.api.request_ids import request_id_of
from app.api.schemas.webhooks import STRIPE_EVENT, StripeEventReceived
from app.services.stripe_events import receive_stripe_event

PATH = "/api/v1/queue/webhooks/stripe"
# Stripe's events are kilobytes; a body this large is nobody's event. Only
# what the task reads is enqueued (app.domain.stripe_events), well under the
# 64 KiB of a job's data.
MAX_BODY_BYTES = 1024 * 1024
SIGNATURE = "Stripe-Signature"

# Optional to Litestar, so that a missing header is answered as a bad
# signature (400) like every other; the document says it is required.
StripeSignature = Annotated[
    str | None,
    HeaderParameter(
        name=SIGNATURE,
        required=False,
        min_length=1,
        max_length=4096,
        description='`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs.',
    ),
]


@dataclass
class SignedBodyOperation(Operation):
    """The body is read raw, its schema is the Stripe event's; the signature is required."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=STRIPE_EVENT)},
            required=True,
        )
        for parameter in self.parameters or ():
            if isinstance(parameter, Parameter) and parameter.name == SIGNATURE:
                parameter.required = True


@post(
    PATH,
    operation_id="receiveStripeEvent",
    summary="Receive a Stripe event",
    tags=["webhooks"],
    security=OPEN,
    status_code=HTTP_200_OK,
    request_max_body_size=MAX_BODY_BYTES,
    operation_class=SignedBodyOperation,
    responses=problems(
        common=(400, 403, 413, 422, 503),
        described={
            400: "The Stripe-Signature header is missing, malformed, stale or "
            "does not sign this body.",
            403: "STRIPE_WEBHOOK_SECRET is unset: no event can be verified.",
            413: f"The body is larger than {MAX_BODY_BYTES} bytes.",
            422: "The body is signed but is not a Stripe event; `errors` "
            "points at what is wrong.",
        },
    ),
)
async def stripe_event(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: AppSettings,
    stripe_signature: StripeSignature = None,
) -> StripeEventReceived:
    """Take an event Stripe sends: verify its signature, enqueue it once (by event id)."""
    secret = settings.providers.stripe_webhook_secret
    received = await receive_stripe_event(
        conn,
        body=await request.body(),
        signature=stripe_signature,
        secret=secret.get_secret_value() if secret is not None else None,
        request_id=request_id_of(request.scope),
    )
    return StripeEventReceived(
        event_id=received.event_id,
        job_id=received.job_id,
        status="duplicate" if received.duplicate else "queued",
    )

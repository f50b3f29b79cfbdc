"""Bodies of /webhooks: the event Stripe sends, and what it is answered."""

from typing import Literal

from litestar.openapi.spec import OpenAPIType
from litestar.openapi.spec import Schema as OpenAPISchema

from app.api.schemas.base import Schema


class StripeEventReceived(Schema):
    """POST /webhooks/stripe: the job the event is, new or already there."""

    event_id: str
    job_id: int
    status: Literal["queued", "duplicate"]


STRING = OpenAPIType.STRING

# The body is read raw (its signature covers its bytes), so the document's
# schema is written here rather than derived from a model. Stripe's events
# carry more members than these, all allowed; these are the ones checked.
STRIPE_EVENT = OpenAPISchema(
    type=OpenAPIType.OBJECT,
    description=(
        "A Stripe event (snapshot payload), exactly as Stripe sends it; the "
        "Stripe-Signature header signs these bytes."
    ),
    required=["id", "object", "type", "created", "livemode", "data"],
    properties={
        "id": OpenAPISchema(type=STRING, pattern=r"^evt_[!-~]{1,250}$"),
        "object": OpenAPISchema(type=STRING, enum=["event"]),
        "type": OpenAPISchema(
            type=STRING, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$", max_length=255
        ),
        "created": OpenAPISchema(type=OpenAPIType.INTEGER, minimum=0),
        "livemode": OpenAPISchema(type=OpenAPIType.BOOLEAN),
        "api_version": OpenAPISchema(
            one_of=[
                OpenAPISchema(type=STRING, max_length=64),
                OpenAPISchema(type=OpenAPIType.NULL),
            ]
        ),
        "data": OpenAPISchema(
            type=OpenAPIType.OBJECT,
            required=["object"],
            properties={
                "object": OpenAPISchema(
                    type=OpenAPIType.OBJECT,
                    required=["object"],
                    properties={
                        "object": OpenAPISchema(
                            type=STRING, pattern=r"^[a-z0-9_.]{1,100}$"
                        ),
                        "id": OpenAPISchema(type=STRING, pattern=r"^[!-~]{1,255}$"),
                        "created": OpenAPISchema(type=OpenAPIType.INTEGER, minimum=0),
                    },
                )
            },
        ),
    },
)

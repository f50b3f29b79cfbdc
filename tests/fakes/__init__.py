"""Local HTTP fakes of the providers, for running the real SDKs against.

In-process: `with FakeStripe() as fake: ...` (or the fixtures in
`tests.fakes.fixtures`). In another process: `python -m tests.fakes stripe
--port 0` prints the port and serves until killed (`tests.fakes.process`).
"""

from tests.fakes.base import Answer, FakeServer, RecordedRequest
from tests.fakes.http_services import FakeMinting, FakePush, FakeWebhookReceiver
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.stripe import FakeStripe
from tests.fakes.twilio import FakeTwilio

FAKES: dict[str, type[FakeServer]] = {
    "stripe": FakeStripe,
    "sendgrid": FakeSendGrid,
    "twilio": FakeTwilio,
    "minting": FakeMinting,
    "push": FakePush,
    "webhook": FakeWebhookReceiver,
}

__all__ = [
    "FAKES",
    "Answer",
    "FakeMinting",
    "FakePush",
    "FakeSendGrid",
    "FakeServer",
    "FakeStripe",
    "FakeTwilio",
    "FakeWebhookReceiver",
    "RecordedRequest",
]

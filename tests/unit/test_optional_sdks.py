"""Without the `sendgrid`/`twilio` extras the worker runs; their jobs fail for good.

One child interpreter, in which the SDKs cannot be imported (as in an image
built without the extras), imports the worker and the entry points, warms the
providers up and makes each call that needs an SDK; the tests read its report.
"""

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from tests.helpers.workers import ROOT
from workers.providers.errors import is_outside_import

# A finder ahead of every other: the SDKs (and SendGrid's HTTP client) are not
# there, as when their distributions are not installed.
WITHOUT_SDKS = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = {"twilio", "sendgrid", "python_http_client"}


class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""

# Credentials set, and base URLs where nothing listens: a call that went out
# would fail as unreachable, not as "not installed".
CHILD = """
import asyncio
import json
import logging

blocked = []
for name in ("twilio", "twilio.rest", "sendgrid", "python_http_client"):
    try:
        __import__(name)
    except ImportError:
        blocked.append(name)

import app.api.asgi
import app.cli.main
import app.cli.migrate
import app.cli.serve
import app.cli.worker
import workers.runtime
import workers.tasks
from app.domain.errors import ProviderNotConfigured
from app.settings import ProviderSettings
from workers.providers import Providers
from workers.providers.twilio import TwilioProvider
from workers.retry import PERMANENT

loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
providers = Providers.from_settings(
    ProviderSettings(
        sendgrid_api_key="SG.test",
        sendgrid_from="tickets@example.com",
        sendgrid_api_base="http://127.0.0.1:9",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
        twilio_from="+14155550100",
        twilio_api_base="http://127.0.0.1:9",
    )
)
unconfigured = TwilioProvider(account_sid=None, auth_token=None, from_number=None)
CALLS = {
    "send-sms": lambda: providers.twilio.send_sms(to="+14155550123", body="Hi"),
    "voice-call": lambda: providers.twilio.call(to="+14155550123", twiml="<Response/>"),
    "send-email": lambda: providers.sendgrid.send(
        to="fan@example.com",
        subject="Tickets",
        content="<p>Hi</p>",
        template_id=None,
        dynamic_data=None,
    ),
    "unconfigured": lambda: unconfigured.send_sms(to="+14155550123", body="Hi"),
}


async def attempt(call):
    try:
        answer = await call()
    except Exception as exc:
        return {
            "type": type(exc).__name__,
            "message": str(exc),
            "not_configured": isinstance(exc, ProviderNotConfigured),
            "permanent": isinstance(exc, PERMANENT),
        }
    return {"type": None, "answer": answer}


async def main():
    try:
        return {name: await attempt(call) for name, call in CALLS.items()}
    finally:
        await providers.aclose()


providers.warm_up()
print(json.dumps({"blocked": blocked, "loaded": loaded, "calls": asyncio.run(main())}))
"""

MESSAGES = {
    "send-sms": "send-sms needs the Twilio SDK, which is not installed: "
    "install queue-service[twilio]; the message was not sent",
    "voice-call": "voice call needs the Twilio SDK, which is not installed: "
    "install queue-service[twilio]; nobody was called",
    "send-email": "send-email needs the SendGrid SDK, which is not installed: "
    "install queue-service[sendgrid]; the email was not sent",
}


@pytest.fixture(scope="module")
def child() -> dict[str, Any]:
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_SDKS + textwrap.dedent(CHILD)],
        cwd=ROOT,
        env={**env, "QUEUE_ENV": "dev"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {**json.loads(result.stdout), "stderr": result.stderr}


def test_the_child_cannot_import_the_sdks(child):
    assert child["blocked"] == [
        "twilio",
        "twilio.rest",
        "sendgrid",
        "python_http_client",
    ]


def test_workers_and_entry_points_import_without_the_sdks(child):
    assert child["loaded"] == []


def test_warm_up_warns_naming_each_extra_and_the_worker_goes_on(child):
    stderr = child["stderr"]
    assert "WARNING The SendGrid SDK is not installed" in stderr
    assert "WARNING The Twilio SDK is not installed" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("call", sorted(MESSAGES))
def test_a_call_without_its_sdk_fails_naming_the_extra(child, call):
    failed = child["calls"][call]
    assert failed["type"] == "ProviderNotConfigured"
    assert failed["message"] == MESSAGES[call]


@pytest.mark.parametrize("call", sorted(MESSAGES))
def test_a_call_without_its_sdk_fails_for_good_like_a_missing_credential(child, call):
    failed = child["calls"][call]
    assert failed["not_configured"] is True
    assert failed["permanent"] is True


def test_missing_credentials_are_still_reported_first(child):
    failed = child["calls"]["unconfigured"]
    assert failed["type"] == "ProviderNotConfigured"
    assert failed["message"].startswith("send-sms needs TWILIO_ACCOUNT_SID")


@pytest.mark.parametrize(
    ("name", "outside"),
    [
        ("twilio", True),
        ("twilio.rest", True),
        ("python_http_client", True),
        ("workers.providers.errors", False),
        ("app.settings", False),
    ],
)
def test_is_outside_import_tells_a_missing_extra_from_our_bug(name, outside):
    assert is_outside_import(ModuleNotFoundError("x", name=name)) is outside

"""A fake Twilio API 2010-04-01: Messages and Calls.

Auth is HTTP Basic `account_sid:auth_token`, and the SID in the path must be
the caller's. Errors are Twilio's `{"code", "message", "more_info", "status"}`;
a `To` that is not E.164 is code 21211.
"""

import re
import secrets
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from tests.fakes.base import Answer, FakeServer, RecordedRequest

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-auth-token-0123456789"  # noqa: S105 - a fake's token

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/(?P<resource>[^/]+)$")


@dataclass(frozen=True)
class Sent:
    """A message or call Twilio accepted."""

    sid: str
    to: str
    from_: str
    body: str | None = None
    twiml: str | None = None


def _error(status: int, code: int, message: str) -> Answer:
    return Answer.json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


class FakeTwilio(FakeServer):
    """Twilio's `Messages.json` and `Calls.json`."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.reset_state()

    def reset_state(self) -> None:
        self.messages: list[Sent] = []
        self.calls: list[Sent] = []

    def state(self) -> dict[str, Any]:
        return {
            "messages": [vars(m) for m in self.messages],
            "calls": [vars(c) for c in self.calls],
        }

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"code": 20429, "message": "Too Many Requests", "status": 429}
        if status >= 500:
            return {"code": 20500, "message": "Internal Server Error", "status": status}
        return {
            "code": 20001,
            "message": f"Injected failure {status}",
            "status": status,
        }

    def max_in_window(self, window_s: float, *, resource: str = "Messages.json") -> int:
        """The most requests to `resource` within any `window_s` seconds.

        Counts every request the fake received (also failed ones), by its
        arrival time: what a provider's rate limiter would see.
        """
        times = sorted(r.at for r in self.requests if r.path.endswith("/" + resource))
        best = start = 0
        for end, at in enumerate(times):
            while at - times[start] >= window_s:
                start += 1
            best = max(best, end - start + 1)
        return best

    def authenticate(self, request: RecordedRequest) -> Answer | None:
        credentials = request.basic_auth()
        match = _ACCOUNT_PATH.match(request.path)
        if (
            credentials == (self.account_sid, self.auth_token)
            and match is not None
            and match["sid"] == self.account_sid
        ):
            return None
        return _error(401, 20003, "Authenticate")

    def answer(self, request: RecordedRequest) -> Answer:
        match = _ACCOUNT_PATH.match(request.path)
        resource = match["resource"] if match else ""
        if request.method == "POST" and resource == "Messages.json":
            return self._message(request.form)
        if request.method == "POST" and resource == "Calls.json":
            return self._call(request.form)
        return _error(
            404, 20404, f"The requested resource {request.path} was not found"
        )

    def _check_numbers(self, form: dict[str, str]) -> Answer | None:
        to = form.get("To", "")
        if not E164.match(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not form.get("From"):
            return _error(400, 21603, "A 'From' phone number is required.")
        return None

    def _resource(self, sid: str, form: dict[str, str], **extra: Any) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "date_created": formatdate(usegmt=True),
            "api_version": "2010-04-01",
            **extra,
        }

    def _message(self, form: dict[str, str]) -> Answer:
        problem = self._check_numbers(form)
        if problem is not None:
            return problem
        body = form.get("Body", "")
        if not body and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        sid = "SM" + secrets.token_hex(16)
        self.messages.append(
            Sent(sid=sid, to=form["To"], from_=form["From"], body=body)
        )
        return Answer.json(
            201,
            self._resource(
                sid, form, body=body, num_segments="1", direction="outbound-api"
            ),
        )

    def _call(self, form: dict[str, str]) -> Answer:
        problem = self._check_numbers(form)
        if problem is not None:
            return problem
        twiml = form.get("Twiml")
        if not twiml and not form.get("Url"):
            return _error(400, 21205, "Url parameter is required.")
        sid = "CA" + secrets.token_hex(16)
        self.calls.append(Sent(sid=sid, to=form["To"], from_=form["From"], twiml=twiml))
        return Answer.json(201, self._resource(sid, form, direction="outbound-api"))

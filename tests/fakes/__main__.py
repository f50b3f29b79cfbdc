"""Serve one fake until killed: `python -m tests.fakes <name> --port N`.

Prints the bound port on the first line of stdout (useful with `--port 0`).
Options set the credentials the fake accepts.
"""

import argparse
import signal
import sys
import threading
from typing import Any

from tests.fakes import FAKES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes")
    parser.add_argument("name", choices=sorted(FAKES))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", help="stripe and sendgrid: the accepted key")
    parser.add_argument("--account-sid", help="twilio: the accepted account SID")
    parser.add_argument("--auth-token", help="twilio: the accepted auth token")
    parser.add_argument("--secret", help="webhook: the signing secret to verify")
    parser.add_argument("--delay-s", type=float, default=0.0)
    args = parser.parse_args(argv)

    options: dict[str, Any] = {"host": args.host, "port": args.port}
    if args.api_key and args.name in ("stripe", "sendgrid"):
        options["api_key"] = args.api_key
    if args.account_sid and args.name == "twilio":
        options["account_sid"] = args.account_sid
    if args.auth_token and args.name == "twilio":
        options["auth_token"] = args.auth_token
    if args.secret and args.name == "webhook":
        options["secret"] = args.secret.encode()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fake = FAKES[args.name](**options)
    fake.delay_s = args.delay_s
    with fake:
        sys.stdout.write(f"{fake.port}\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

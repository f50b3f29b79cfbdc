"""Email addresses and phone numbers never reach a log line; ids and times do."""

import json
import logging
import sys
import time

import pytest

from app.observability.logging import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    redact,
    redact_value,
)

UUID = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"
DIGIT_UUID = "12345678-1234-1234-1234-123456789012"
ISO = "2026-11-26T14:05:00.123456+00:00"
SURVIVORS = [
    UUID,
    DIGIT_UUID,
    ISO,
    "2026-11-26 14:05:00,123",
    "127.0.0.1:3020",
    "http://127.0.0.1:3020/api/v1/queue/jobs/42",
    "job 14155550100",  # a bare digit run is an id, not a phone
    "1732631122.123",
    "10.415.555.0100",
    "v123.456.7890",
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "priority +1",
    "+1234567",  # too short for E.164
    "sms-+1-seat-2026-11-26T14",
]


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("ada@example.com", "a***@example.com"),
        ("to Frank.O+tag@Mail.Example.co.uk.", "to F***@Mail.Example.co.uk."),
        ("<ada@example.com>, bob@example.org", "<a***@example.com>, b***@example.org"),
        (
            "The 'To' number +14155550100 is not a valid phone number.",
            "The 'To' number +*******0100 is not a valid phone number.",
        ),
        ("?to=+14155550100&x=1", "?to=+*******0100&x=1"),
        ("+1 (415) 555-0100", "+* (***) ***-0100"),
        ("+1-415-555-0100", "+*-***-***-0100"),
        ("+44 20 7946 0958", "+** ** **** 0958"),
        ("(415) 555-0100", "(***) ***-0100"),
        ("call 415-555-0100.", "call ***-***-0100."),
        ("415.555.0100", "***.***.0100"),
        ("tel:415 555 0100", "tel:*** *** 0100"),
    ],
)
def test_redact_masks_emails_and_phones(text, redacted):
    assert redact(text) == redacted


@pytest.mark.parametrize("text", SURVIVORS)
def test_redact_leaves_ids_times_and_addresses_alone(text):
    assert redact(text) == text


def test_redact_value_walks_nested_values_and_keeps_scalars():
    value = {
        "to": "+14155550100",
        "nested": [{"email": "ada@example.com"}, ("bob@example.org", 3)],
        "job_id": 42,
        "ratio": 0.5,
        "ok": True,
        "none": None,
    }
    assert redact_value(value) == {
        "to": "+*******0100",
        "nested": [{"email": "a***@example.com"}, ["b***@example.org", 3]],
        "job_id": 42,
        "ratio": 0.5,
        "ok": True,
        "none": None,
    }


class _Recipient:
    def __str__(self) -> str:
        return "Recipient(ada@example.com)"


def _record(
    msg="Sending to %s.", args=("ada@example.com",), exc=None, name="app.test", **extra
):
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def _exc_info():
    try:
        raise ValueError("The 'To' number +14155550100 is not a valid phone number")
    except ValueError:
        return sys.exc_info()


def test_json_formatter_redacts_message_extras_and_exception():
    line = JsonFormatter().format(
        _record(
            exc=_exc_info(),
            action="job_failed",
            job_id=42,
            request_id=UUID,
            data={"to": "+1 (415) 555-0100", "cc": ["bob@example.org"]},
            recipient=_Recipient(),
            at=ISO,
        )
    )
    entry = json.loads(line)
    assert entry["message"] == "Sending to a***@example.com."
    assert entry["data"] == {"to": "+* (***) ***-0100", "cc": ["b***@example.org"]}
    assert entry["recipient"] == "Recipient(a***@example.com)"
    assert "+*******0100 is not a valid phone number" in entry["exc_info"]
    assert (entry["job_id"], entry["request_id"], entry["at"]) == (42, UUID, ISO)
    assert "example.com" in line and "ada@" not in line and "4155550100" not in line


def test_json_formatter_redacts_stack_info():
    record = _record(msg="Where ada@example.com was.", args=())
    record.stack_info = 'File "x.py", line 1, in send("+14155550100")'
    entry = json.loads(JsonFormatter().format(record))
    assert entry["stack_info"].endswith('send("+*******0100")')


def test_text_formatter_redacts_message_extras_and_exception():
    line = TextFormatter().format(
        _record(
            exc=_exc_info(),
            job_id=42,
            request_id=UUID,
            data={"to": "415-555-0100", "listen": "127.0.0.1:3020"},
        )
    )
    assert "Sending to a***@example.com." in line
    assert "'to': '***-***-0100'" in line
    assert "+*******0100 is not a valid phone number" in line
    assert "job_id=42" in line and f"request_id={UUID}" in line
    assert "127.0.0.1:3020" in line
    assert "ada@" not in line and "555-0100" not in line


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.mark.parametrize("json_lines", [True, False])
@pytest.mark.parametrize(
    "logger_name", ["procrastinate.worker", "uvicorn.error", "workers.middleware"]
)
def test_configured_logging_redacts_every_logger(
    root_logging, capsys, json_lines, logger_name
):
    configure_logging(level="INFO", json_lines=json_lines)
    logging.getLogger(logger_name).info(
        "Message for %s.", "ada@example.com", extra={"phone": "+14155550100"}
    )
    err = capsys.readouterr().err
    assert "a***@example.com" in err and "+*******0100" in err
    assert "ada@" not in err and "4155550100" not in err


def test_building_the_api_keeps_the_configured_handler(root_logging):
    from app.api.app import create_app
    from app.settings import ApiSettings, DatabaseSettings, Settings

    configure_logging(level="INFO", json_lines=True)
    handlers = logging.getLogger().handlers[:]
    create_app(
        Settings(
            env="test",
            database=DatabaseSettings(url="postgresql://nobody@127.0.0.1:1/none"),
            api=ApiSettings(jwt_secret="x" * 40),
        )
    )
    assert logging.getLogger().handlers == handlers
    assert isinstance(handlers[0].formatter, JsonFormatter)


def test_redact_long_digit_runs_cost_one_pass():
    # Digit groups after a "+" could be split in thousands of ways; the
    # pattern must not try them all (it once took 0.3 s for this line).
    text = ("+1" + "2" * 30 + " ") * 300
    started = time.perf_counter()
    assert redact(text) == text  # over 15 digits: not a phone
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "could not connect to postgresql://queue:s3cret@db.example.com:5432/q",
            "could not connect to postgresql://***@db.example.com:5432/q",
        ),
        ("host=db password=s3cret dbname=q", "host=db password=*** dbname=q"),
        (
            "dsn host=db password='with space' port=5432",
            "dsn host=db password=*** port=5432",
        ),
        (
            "POST https://bob:tok@hooks.example.com/x",
            "POST https://***@hooks.example.com/x",
        ),
    ],
)
def test_credentials_in_urls_and_dsns_are_masked_whole(text, masked):
    # The email mask alone left "s***@db.example.com": the password's first letter.
    assert redact(text) == masked
    assert "s3cret" not in redact(text) and "tok@" not in redact(text)


@pytest.mark.parametrize("json_lines", [True, False])
def test_text_lines_leave_procrastinates_routine_out_json_lines_keep_it(
    root_logging, capsys, json_lines
):
    configure_logging(level="INFO", json_lines=json_lines)
    periodic = logging.getLogger("procrastinate.periodic")
    periodic.info(
        "Periodic job monitor[6] deferred",
        extra={
            "action": "periodic_task_deferred",
            "job": {"id": 6, "queue": "maintenance"},
        },
    )
    periodic.warning("A periodic task is late.", extra={"action": "periodic_task_late"})
    logging.getLogger("uvicorn.error").info(
        "Started server process", extra={"color_message": "Started \x1b[36m1\x1b[0m"}
    )
    err = capsys.readouterr().err
    assert ("periodic_task_deferred" in err) is json_lines
    assert "A periodic task is late." in err
    assert "Started server process" in err
    assert ("color_message" in err) is json_lines

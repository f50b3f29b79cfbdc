"""A real worker refused by Twilio: its log lines and the stored error keep no phone number."""

import json

from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.workers import (
    enqueue,
    provider_env,
    query,
    wait_for,
    worker_process,
)

NUMBER = "+14155550100"
MASKED = "+*******0100"


def test_refused_sms_is_logged_and_recorded_without_the_number(
    db_dsn, tmp_path, fake_twilio
):
    # Twilio's own wording for error 21211 quotes the number.
    fake_twilio.fail_next(
        1,
        400,
        body={
            "code": 21211,
            "message": f"The 'To' number {NUMBER} is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    job = enqueue(
        db_dsn,
        "communication",
        "send-sms",
        {"to": NUMBER, "message": "Doors open at 7", "template": "doors"},
    )
    env = provider_env(settings_for_fakes(twilio=fake_twilio))
    with worker_process(
        db_dsn, tmp_path, "--queues", "communication", LOG_FORMAT="json", **env
    ):
        wait_for(
            lambda: (
                query(
                    db_dsn,
                    "SELECT status::text FROM procrastinate_jobs WHERE id = %s",
                    (job,),
                )
                == [("failed",)]
            ),
            timeout=30,
            what="Twilio's refusal to fail the job",
        )

    assert fake_twilio.requests_to("/2010-04-01/")  # the call was made
    log = (tmp_path / "worker.log").read_text()
    failed = [
        json.loads(line)
        for line in log.splitlines()
        if f'"job_id": {job}' in line and '"action": "job_failed"' in line
    ]
    assert failed, log
    assert failed[0]["error"].endswith(
        f"The 'To' number {MASKED} is not a valid phone number."
    )
    assert NUMBER[1:] not in log

    (error,) = query(
        db_dsn,
        "SELECT error_message FROM queue.job_outcomes WHERE job_id = %s AND status = 'failed'",
        (job,),
    )[0]
    assert error.endswith(f"The 'To' number {MASKED} is not a valid phone number.")
    assert query(
        db_dsn, "SELECT last_error FROM queue.failures WHERE id = %s", (job,)
    ) == [(error,)]
    ledger = query(
        db_dsn, "SELECT error FROM queue.side_effects WHERE job_id = %s", (job,)
    )
    assert ledger and all(NUMBER[1:] not in (e or "") for (e,) in ledger)

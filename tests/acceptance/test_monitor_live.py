"""The monitor in real worker processes: one page per alert, however many workers run."""

from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.api import api_client, auth
from tests.helpers.workers import enqueue, provider_env, query, wait_for, worker_process

ONCALL = "+14155550199"


def test_two_workers_page_a_critical_alert_once_by_sms_and_voice(
    db_dsn, tmp_path, fake_twilio
):
    for n in range(3):
        enqueue(db_dsn, "money", "refund-process", {"transactionId": f"pi_{n}"})
    env = {
        **provider_env(settings_for_fakes(twilio=fake_twilio)),
        "ONCALL_PHONE": ONCALL,
        "ALERT_THRESHOLD_MONEY_MAX_WAITING": "2",
        "WORKER_MONITOR_EVERY_S": "1",
    }
    # Workers on maintenance only: money's jobs stay waiting, and nobody serves money.
    with (
        worker_process(db_dsn, tmp_path, "--queues", "maintenance", name="w1", **env),
        worker_process(db_dsn, tmp_path, "--queues", "maintenance", name="w2", **env),
    ):
        wait_for(
            lambda: len(fake_twilio.calls) >= 2,
            timeout=60,
            what="the on-call number to be called",
        )
        # Several more monitor runs in both processes: nothing more is sent.
        wait_for(
            lambda: (
                query(db_dsn, "SELECT count(*) FROM queue.queue_metrics")[0][0] >= 40
            ),
            timeout=30,
            what="ten more monitor runs",
        )

    alerts = query(
        db_dsn,
        "SELECT type, severity, queue_name, channels FROM queue.alert_history ORDER BY id",
    )
    assert {(t, s, q) for t, s, q, _ in alerts} == {
        ("queue_depth", "critical", "money"),
        ("no_workers", "critical", "money"),
        ("no_workers", "warning", "communication"),
        ("no_workers", "info", "background"),
    }
    assert len(alerts) == 4  # once each, across two processes and many runs
    paged = [c for t, s, q, c in alerts if s == "critical"]
    assert all(
        c["sms"].startswith("sent SM") and c["voice"].startswith("sent CA")
        for c in paged
    )
    assert sorted(m.to for m in fake_twilio.messages) == [ONCALL, ONCALL]
    assert any("3 jobs waiting in money" in m.body for m in fake_twilio.messages)
    assert len(fake_twilio.calls) == 2


async def test_test_alert_by_sms_is_sent_by_a_worker(db_dsn, tmp_path, fake_twilio):
    settings = settings_for_fakes(twilio=fake_twilio).model_copy(
        update={"oncall_phone": ONCALL}
    )
    async with api_client(db_dsn, providers=settings) as client:
        sent = await client.post(
            "/api/v1/queue/alerts/test",
            json={"severity": "critical", "channel": "sms"},
            headers=auth("admin"),
        )
    assert sent.status_code == 200
    assert sent.json()["channels"] == {"log": "sent", "sms": "queued"}
    alert_id = sent.json()["id"]

    env = {
        **provider_env(settings_for_fakes(twilio=fake_twilio)),
        "ONCALL_PHONE": ONCALL,
    }
    with worker_process(db_dsn, tmp_path, **env):
        wait_for(lambda: fake_twilio.messages, timeout=30, what="the test SMS")

    (sms,) = [m for m in fake_twilio.messages if "test alert" in m.body]
    assert sms.to == ONCALL and "test alert (critical)" in sms.body
    ((channels,),) = query(
        db_dsn, "SELECT channels FROM queue.alert_history WHERE id = %s", (alert_id,)
    )
    assert channels["sms"] == f"sent {sms.sid}"

"""The old documentation's job data (JOB TYPES & DATA CONTRACTS), as old clients send it.

Each payload has the fields and types of the old contract, with values of
those types. An old field name is read as ours by the payload model's alias,
and an old default (a payment's currency, USD) is the model's default, so the
HTTP API, an SQL producer calling `queue.enqueue` with the same data, and the
worker that runs the job read the same thing: the data is stored as given and
the worker validates it with the same model (`workers.tasks.payload`).

Where the old service took data this one refuses, the test says why: a rule of
who may do what (`app.domain.job_types`, docs/security.md), or a job the new
service can only run with more than the old stub needed.
"""

from typing import Any

import pytest

from app.domain.payloads import (
    AnalyticsTrack,
    CleanupOldData,
    GenerateReport,
    PaymentProcess,
    PayoutProcess,
)
from tests.helpers.api import auth
from tests.helpers.old_contract import (
    API,
    EVENT,
    TICKET,
    USER,
    VENUE,
    enqueue,
    sql,
)
from workers.tasks.payload import load_payload

ADMIN = auth("admin", sub="ops")

PAYMENT = {
    "userId": USER,
    "venueId": VENUE,
    "eventId": EVENT,
    "amount": 10000,
    "paymentMethod": "pm_card_visa",
    "deviceFingerprint": "fp-1",
    "metadata": {"orderId": "o-1"},
}
REFUND = {
    "transactionId": "pi_3Nq",
    "amount": 5000,
    "reason": "requested_by_customer",
    "userId": USER,
    "venueId": VENUE,
}
PAYOUT = {
    "venueId": VENUE,
    "amount": 250000,
    "bankAccountId": "ba_1",
    "type": "instant",
}
NFT = {
    "eventId": EVENT,
    "ticketId": TICKET,
    "seatId": "A-12",
    "userId": USER,
    "venueId": VENUE,
    "metadata": {"section": "A"},
}
EMAIL = {
    "to": "fan@example.com",
    "template": "order-confirmation",
    "data": {"orderId": "o-1"},
    "subject": "Your tickets",
    "from": "tickets@example.com",
}
SMS = {"to": "+15555550100", "message": "Doors open at 7", "from": "+15555550199"}
PUSH = {"userId": USER, "title": "Doors open", "body": "See you soon", "data": {}}
ANALYTICS = {
    "eventType": "seat_viewed",
    "venueId": VENUE,
    "userId": USER,
    "eventId": EVENT,
    "data": {"seat": "A-12"},
    "timestamp": "2025-01-15T10:00:00Z",
}
CLEANUP = {"dataType": "sessions", "olderThan": "2025-01-01T00:00:00Z"}
REPORT = {
    "reportType": "failures",
    "venueId": VENUE,
    "startDate": "2025-01-01",
    "endDate": "2025-01-31",
    "format": "csv",
}


async def _add(client, queue: str, job_type: str, data: dict[str, Any], role="admin"):
    return await client.post(
        f"{API}/jobs",
        json={"queue": queue, "type": job_type, "data": data},
        headers=auth(role, sub="caller-1", venues=(VENUE,)),
    )


def _stored(dsn: str, job_id: int) -> dict[str, Any]:
    ((data,),) = sql(
        dsn, "SELECT args -> 'data' FROM procrastinate_jobs WHERE id = %s", (job_id,)
    )
    return dict(data)


@pytest.mark.parametrize(
    ("queue", "job_type", "data"),
    [
        ("money", "payment-process", PAYMENT),
        ("communication", "send-email", EMAIL),
        ("communication", "send-sms", SMS),
        ("communication", "send-push", PUSH),
        ("background", "analytics-track", ANALYTICS),
    ],
)
async def test_old_data_is_taken_over_http_and_from_sql(
    client, db_dsn, queue, job_type, data
):
    created = await _add(client, queue, job_type, data)

    assert created.status_code == 201, created.text
    assert _stored(db_dsn, created.json()["jobId"]) == data
    # An SQL producer with the same data (its keys are not the HTTP caller's,
    # so this is a job of its own): the database checks it as the model does.
    from_sql = enqueue(db_dsn, f"{queue}-queue", job_type, data)
    assert from_sql != created.json()["jobId"]
    assert _stored(db_dsn, from_sql) == data


async def test_a_payment_reads_payment_method_and_defaults_the_currency(client, db_dsn):
    created = await _add(client, "money", "payment-process", PAYMENT, role="user")

    assert created.status_code == 201, created.text
    payment = load_payload(PaymentProcess, _stored(db_dsn, created.json()["jobId"]))
    assert (payment.payment_method_id, payment.currency) == ("pm_card_visa", "USD")
    # The new name wins when a caller sends both.
    both = load_payload(
        PaymentProcess, {**PAYMENT, "paymentMethodId": "pm_new", "currency": "EUR"}
    )
    assert (both.payment_method_id, both.currency) == ("pm_new", "EUR")


async def test_analytics_data_is_its_properties(client, db_dsn):
    created = await _add(client, "background", "analytics-track", ANALYTICS, "user")

    assert created.status_code == 201, created.text
    event = load_payload(AnalyticsTrack, _stored(db_dsn, created.json()["jobId"]))
    assert event.properties == {"seat": "A-12"}


async def test_a_refund_is_taken_from_an_admin_only(client):
    created = await _add(client, "money", "refund-process", REFUND)
    # The old service let any caller enqueue a refund, so a user could refund
    # anyone's payment; refunds move money out and are admin-only now
    # (docs/security.md).
    as_user = await _add(client, "money", "refund-process", REFUND, role="user")
    as_venue_admin = await _add(
        client, "money", "refund-process", REFUND, role="venue_admin"
    )

    assert created.status_code == 201, created.text
    assert as_user.status_code == as_venue_admin.status_code == 403


async def test_a_refund_reason_is_one_of_stripes(client):
    # The old contract typed the reason as any string; the refund goes to
    # Stripe, which takes only its three reason codes, so other text would
    # make every such refund fail at Stripe: it is refused here instead.
    free_text = await _add(
        client, "money", "refund-process", {**REFUND, "reason": "Customer asked"}
    )

    assert free_text.status_code == 422, free_text.text
    assert [e["pointer"] for e in free_text.json()["errors"]] == ["/data/reason"]


async def test_a_payout_reads_type_and_defaults_the_currency_but_needs_its_record(
    client, db_dsn
):
    # A payout moves money out: without the caller's payout record id
    # (payoutId, its idempotency key) a repeated request would pay twice.
    # The old service never ran payouts (no processor), so no client relied
    # on going without it.
    old = await _add(client, "money", "payout-process", PAYOUT)
    payout_id = "7e9a1c3e-5b7d-4f9a-8c2e-4a6c8e0a2b05"
    created = await _add(
        client, "money", "payout-process", {**PAYOUT, "payoutId": payout_id}
    )
    # Admin-only, like refunds: the old service let any caller pay a venue out.
    as_venue_admin = await _add(
        client,
        "money",
        "payout-process",
        {**PAYOUT, "payoutId": payout_id},
        role="venue_admin",
    )

    assert old.status_code == 422, old.text
    assert [e["pointer"] for e in old.json()["errors"]] == ["/data/payoutId"]
    assert created.status_code == 201, created.text
    payout = load_payload(PayoutProcess, _stored(db_dsn, created.json()["jobId"]))
    assert (payout.method, payout.currency) == ("instant", "USD")
    assert as_venue_admin.status_code == 403


async def test_a_mint_needs_the_wallet_it_goes_to(client):
    # The old mint was a stub that minted nothing; a real mint sends the NFT
    # to a wallet, which the caller names (walletAddress).
    old = await _add(client, "money", "nft-mint", NFT)
    created = await _add(
        client, "money", "nft-mint", {**NFT, "walletAddress": "So1anaWa11et"}
    )
    # Mints are the venue's staff's: the old service let any user mint.
    as_user = await _add(
        client, "money", "nft-mint", {**NFT, "walletAddress": "w"}, role="user"
    )

    assert old.status_code == 422, old.text
    assert [e["pointer"] for e in old.json()["errors"]] == ["/data/walletAddress"]
    assert created.status_code == 201, created.text
    assert as_user.status_code == 403


@pytest.mark.parametrize(
    ("queue", "job_type", "data"),
    [
        ("communication", "send-email", EMAIL),
        ("communication", "send-sms", SMS),
        ("communication", "send-push", PUSH),
    ],
)
async def test_messages_to_people_are_the_venues_staffs(client, queue, job_type, data):
    # The old service let any user message any address or number; messages
    # are sent by a venue's staff (admin, venue admins), so a user's token
    # cannot spam or phish through the venue's sender.
    as_user = await _add(client, queue, job_type, data, role="user")
    # A venue admin acts for their own venues only, which the job names
    # (data.venueId): the old message contracts had no venue, so an old
    # venue admin's message is refused until it names one.
    unnamed = await _add(client, queue, job_type, data, role="venue_admin")
    named = await _add(
        client, queue, job_type, {**data, "venueId": VENUE}, role="venue_admin"
    )

    assert as_user.status_code == unnamed.status_code == 403, unnamed.text
    assert named.status_code == 201, named.text


async def test_cleanup_reads_data_type_as_its_target(client, db_dsn):
    # The old data types (sessions, temp_files, old_logs) were the old
    # service's own stores, which this one does not have: taken as "all", a
    # cleanup of sessions would delete outcomes, keys and reports instead.
    old = await _add(client, "background", "cleanup-old-data", CLEANUP)
    ours = await _add(
        client, "background", "cleanup-old-data", {**CLEANUP, "dataType": "reports"}
    )

    assert old.status_code == 422, old.text
    assert [e["pointer"] for e in old.json()["errors"]] == ["/data/dataType"]
    assert ours.status_code == 201, ours.text
    cleanup = load_payload(CleanupOldData, _stored(db_dsn, ours.json()["jobId"]))
    assert cleanup.target == "reports"


async def test_a_report_reads_start_and_end_dates(client, db_dsn):
    created = await _add(client, "background", "generate-report", REPORT)
    # Reports are over this service's own jobs, in CSV or JSON: the old
    # processor (never implemented) promised PDF and any report type.
    pdf = await _add(
        client, "background", "generate-report", {**REPORT, "format": "pdf"}
    )
    sales = await _add(
        client, "background", "generate-report", {**REPORT, "reportType": "sales"}
    )

    assert created.status_code == 201, created.text
    report = load_payload(GenerateReport, _stored(db_dsn, created.json()["jobId"]))
    assert (report.period_start.isoformat(), report.period_end.isoformat()) == (
        "2025-01-01T00:00:00",
        "2025-01-31T00:00:00",
    )
    assert pdf.status_code == sales.status_code == 422

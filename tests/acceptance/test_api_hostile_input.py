"""What a hostile caller sends, and the 4xx problem each gets: never a 500."""

import time

import jwt
import psycopg
import pytest

from tests.helpers.api import SECRET, auth

JOBS = "/api/v1/queue/jobs"
QUEUES = "/api/v1/queue/queues"
REFUND = {"queue": "money", "type": "refund-process", "data": {"transactionId": "pi_1"}}


def forged(**claims: object) -> dict[str, str]:
    # Signed with the real secret: only the claims are hostile.
    now = int(time.time())
    encoded = jwt.encode(
        {"exp": now + 600, "iat": now, **claims}, SECRET, algorithm="HS256"
    )
    return {"Authorization": f"Bearer {encoded}"}


def jobs(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone()
    return int(row[0]) if row else 0


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["request_id"]
    return problem


async def test_a_body_that_is_not_utf8_is_a_400_with_a_pointer(client, db_dsn):
    body = (
        b'{"queue":"money","type":"refund-process","data":{"transactionId":"\xff\xfe"}}'
    )

    response = await client.post(
        JOBS,
        content=body,
        headers={**auth("admin"), "Content-Type": "application/json"},
    )

    problem = assert_problem(response, 400)
    assert problem["type"] == "/problems/not-utf-8"
    assert problem["errors"] == [{"detail": "not UTF-8", "pointer": ""}]
    assert jobs(db_dsn) == 0


async def test_a_request_id_that_is_not_utf8_is_replaced(client):
    response = await client.get(
        QUEUES, headers={**auth("admin"), "X-Request-ID": b"\xff\xfe"}
    )

    assert response.status_code == 200
    assert len(response.headers["X-Request-ID"]) == 36  # a generated UUID


@pytest.mark.parametrize("key", [b"\xff\xfe", b"with space", b"tab\there"])
async def test_an_idempotency_key_of_other_than_visible_ascii_is_refused(
    client, db_dsn, key
):
    response = await client.post(
        JOBS, json=REFUND, headers={**auth("admin"), "Idempotency-Key": key}
    )

    problem = assert_problem(response, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/header/Idempotency-Key"]
    assert jobs(db_dsn) == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "ops", "role": ["admin"]},
        {"sub": "ops", "role": {"admin": True}},
        {"sub": "ops", "role": 1},
        {"sub": "ops", "role": None},
        {"sub": "ops\u0000admin", "role": "admin"},
        {"sub": "x" * 257, "role": "admin"},
        {"sub": "ops", "role": "venue_admin", "venues": ["v\nw"]},
        {"sub": "ops", "role": "venue_admin", "venues": "v-1"},
    ],
    ids=[
        "role-list",
        "role-object",
        "role-number",
        "role-null",
        "sub-nul",
        "sub-long",
        "venue-newline",
        "venues-string",
    ],
)
async def test_a_token_with_claims_of_the_wrong_shape_is_a_401(client, claims):
    response = await client.get(QUEUES, headers=forged(**claims))

    problem = assert_problem(response, 401)
    assert "claim" in problem["detail"] or problem["detail"] == "Invalid token"


async def test_a_batch_job_type_with_a_nul_is_refused_and_the_rest_written(
    client, db_dsn
):
    batch = {
        "queue": "money",
        "jobs": [
            {"type": "refund-process", "data": {"transactionId": "pi_1"}},
            {"type": "refund\u0000process", "data": {"transactionId": "pi_2"}},
        ],
    }

    response = await client.post(f"{JOBS}/batch", json=batch, headers=auth("admin"))

    problem = assert_problem(response, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/jobs/1/type"]
    assert jobs(db_dsn) == 0


async def test_a_job_nested_900_deep_is_a_422(client, db_dsn):
    deep: dict = {}
    for _ in range(900):
        deep = {"a": deep}

    response = await client.post(
        JOBS,
        json={"queue": "background", "type": "analytics-track", "data": deep},
        headers=auth("admin"),
    )

    assert_problem(response, 422)
    assert jobs(db_dsn) == 0


async def test_a_body_over_10_mb_is_a_413(client, db_dsn):
    huge = {**REFUND, "data": {"transactionId": "pi_1", "pad": "x" * (11 << 20)}}

    response = await client.post(JOBS, json=huge, headers=auth("admin"))

    assert_problem(response, 413)
    assert jobs(db_dsn) == 0


@pytest.mark.parametrize("value", [0, "1", "yes", 1.0])
async def test_a_boolean_field_takes_true_or_false_only(client, value):
    response = await client.post(
        f"{JOBS}/batch",
        json={
            "queue": "money",
            "jobs": [{"type": "refund-process", "data": {"transactionId": "pi_1"}}],
            "options": {"stopOnError": value},
        },
        headers=auth("admin"),
    )

    problem = assert_problem(response, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/options/stopOnError"]

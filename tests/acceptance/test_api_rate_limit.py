"""The API's per-user rate limit, shared by API processes through Postgres."""

from tests.helpers.api import api_client, auth

QUEUES = "/api/v1/queue/queues"


async def test_rate_limit_headers_then_429_with_retry_after(db_dsn):
    async with api_client(db_dsn, rate_limit_per_minute=3) as client:
        first = await client.get(QUEUES, headers=auth("admin", sub="busy"))
        assert first.status_code == 200
        assert (
            first.headers["X-RateLimit-Limit"],
            first.headers["X-RateLimit-Remaining"],
        ) == ("3", "2")
        for _ in range(2):
            assert (
                await client.get(QUEUES, headers=auth("admin", sub="busy"))
            ).status_code == 200
        refused = await client.get(QUEUES, headers=auth("admin", sub="busy"))
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "3 requests per minute" in refused.json()["detail"]
        # Another caller has a window of their own; probes are never limited.
        assert (
            await client.get(QUEUES, headers=auth("admin", sub="calm"))
        ).status_code == 200
        assert (await client.get("/health/live")).status_code == 200


async def test_rate_limit_is_shared_by_api_processes(db_dsn):
    async with (
        api_client(db_dsn, rate_limit_per_minute=2) as one,
        api_client(db_dsn, rate_limit_per_minute=2) as two,
    ):
        assert (
            await one.get(QUEUES, headers=auth("admin", sub="roaming"))
        ).status_code == 200
        assert (
            await two.get(QUEUES, headers=auth("admin", sub="roaming"))
        ).status_code == 200
        assert (
            await one.get(QUEUES, headers=auth("admin", sub="roaming"))
        ).status_code == 429
        assert (
            await two.get(QUEUES, headers=auth("admin", sub="roaming"))
        ).status_code == 429

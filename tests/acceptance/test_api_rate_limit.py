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


async def test_requests_refused_by_authentication_are_limited_by_address(db_dsn):
    async with api_client(db_dsn, rate_limit_per_minute=3) as client:
        answers = [
            await client.get(
                QUEUES,
                headers={
                    "Authorization": "Bearer forged",
                    "X-Request-ID": f"guess-{n}",
                },
            )
            for n in range(5)
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
        # Each names its request, in the header and in the problem.
        for n, answer in enumerate(answers):
            assert answer.headers.get_list("X-Request-ID") == [f"guess-{n}"]
            assert answer.json()["request_id"] == f"guess-{n}"
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
        # A caller with a valid token from the same address has its own window.
        assert (await client.get(QUEUES, headers=auth("admin"))).status_code == 200


async def test_endpoint_limits_count_beside_the_global_one(db_dsn):
    async with api_client(
        db_dsn,
        rate_limit_per_minute=10,
        rate_limit_queues_per_minute=2,
        rate_limit_metrics_per_minute=3,
    ) as client:
        caller = auth("admin", sub="endpoints")
        first = await client.get(QUEUES, headers=caller)
        # The tighter limit is the one the headers tell.
        assert (
            first.headers["X-RateLimit-Limit"],
            first.headers["X-RateLimit-Remaining"],
        ) == ("2", "1")
        assert (
            await client.get(f"{QUEUES}/money/status", headers=caller)
        ).status_code == 200
        refused = await client.get(QUEUES, headers=caller)
        assert refused.status_code == 429
        assert refused.headers["X-RateLimit-Limit"] == "2"
        # /metrics has its own window, and other paths only the global one.
        summary = "/api/v1/queue/metrics/summary"
        assert (await client.get(summary, headers=caller)).status_code == 200
        alerts = await client.get("/api/v1/queue/alerts", headers=caller)
        assert alerts.status_code == 200 and alerts.headers["X-RateLimit-Limit"] == "10"
        # The global limit still counts every request: 3 /queues (one refused
        # by its own limit, after spending a global one), 1 /metrics, 1 /alerts.
        assert alerts.headers["X-RateLimit-Remaining"] == "5"

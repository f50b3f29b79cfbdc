"""Problems a caller should wait out: 429 and 503, with Retry-After, from real API processes."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import own_database, serve
from psycopg import sql

from queue_service_client import (
    QueueClient,
    RateLimited,
    ServerError,
    ServiceUnavailable,
)
from tests.helpers.api import token

pytestmark = pytest.mark.acceptance


@pytest.fixture
def own_dsn(admin_dsn: str, template_db: str) -> Iterator[str]:
    with own_database(admin_dsn) as dsn:
        yield dsn


def test_rate_limited_carries_retry_after(own_dsn: str, tmp_path: Path):
    with serve(own_dsn, tmp_path, API_RATE_LIMIT_PER_MINUTE="2") as base:
        with QueueClient(base, token("admin", sub=f"limited-{uuid.uuid4()}")) as queue:
            for _ in range(2):
                with pytest.raises(Exception) as first:
                    queue.get_job(2**40)
                assert first.type.__name__ == "JobNotFound"
            with pytest.raises(RateLimited) as raised:
                queue.get_job(2**40)

    error = raised.value
    assert error.status == 429
    assert error.type == "about:blank"
    assert error.retry_after is not None and 1 <= error.retry_after <= 60
    assert "rate limit of 2 requests per minute" in error.detail


def test_database_unavailable_is_503_with_retry_after(
    admin_dsn: str, own_dsn: str, tmp_path: Path
):
    name = psycopg.conninfo.conninfo_to_dict(own_dsn)["dbname"]
    with serve(own_dsn, tmp_path) as base:
        with QueueClient(base, token("admin", sub=f"outage-{uuid.uuid4()}")) as queue:
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(
                        sql.Identifier(name)
                    )
                )
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s",
                    (name,),
                )
            with pytest.raises(ServiceUnavailable) as raised:
                queue.get_job(1)

    error = raised.value
    assert isinstance(error, ServerError)
    assert error.status == 503
    assert error.retry_after == 2
    assert "database is unavailable" in error.detail

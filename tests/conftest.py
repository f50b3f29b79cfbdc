from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fakes.fixtures import (  # noqa: F401 - fixtures
    fake_minting,
    fake_provider_settings,
    fake_push,
    fake_sendgrid,
    fake_stripe,
    fake_twilio,
    fake_webhook_receiver,
)
from tests.helpers import database

TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Markers come from the directory, so a test cannot be filed in one place
    # and marked as another. The client's tests (clients/python/tests) mark
    # their own.
    for item in items:
        path = Path(item.fspath)
        if path.is_relative_to(TESTS):
            item.add_marker(getattr(pytest.mark, path.relative_to(TESTS).parts[0]))


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    with database.database_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def template_db(admin_dsn: str) -> Iterator[str]:
    database.create_template(admin_dsn)
    yield database.TEMPLATE
    database.drop_database(admin_dsn, database.TEMPLATE)


@pytest.fixture
def db_dsn(admin_dsn: str, template_db: str) -> Iterator[str]:
    """A migrated database of this test's own: it may commit and LISTEN."""
    name = database.clone_template(admin_dsn)
    yield database.dsn_for(admin_dsn, name)
    database.drop_database(admin_dsn, name)


@pytest.fixture
def empty_db_dsn(admin_dsn: str) -> Iterator[str]:
    name = database.create_empty(admin_dsn)
    yield database.dsn_for(admin_dsn, name)
    database.drop_database(admin_dsn, name)


@pytest.fixture
async def conn(db_dsn: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(
        db_dsn, autocommit=True
    ) as connection:
        yield connection

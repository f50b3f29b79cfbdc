import pytest

from tests.helpers.api import api_client


@pytest.fixture
async def client(db_dsn):
    async with api_client(db_dsn) as test_client:
        yield test_client

"""The API under Litestar's test client, on a test database, with tokens per role."""

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from litestar.testing import AsyncTestClient

from app.api.app import create_app
from app.api.auth import issue_token
from app.domain.access import Role
from app.settings import ApiSettings, DatabaseSettings, ProviderSettings, Settings

SECRET = "test-secret-that-is-long-enough-for-hs256"  # noqa: S105 - test only


def test_settings(
    dsn: str,
    *,
    rate_limit_per_minute: int = 600,
    providers: ProviderSettings | None = None,
    **api_settings: object,
) -> Settings:
    """Settings of an API under test; `api_settings` are more ApiSettings fields."""
    api = ApiSettings(
        jwt_secret=SECRET,
        rate_limit_per_minute=rate_limit_per_minute,
        **api_settings,  # type: ignore[arg-type]
    )
    return Settings(
        env="test",
        database=DatabaseSettings(url=dsn),
        api=api,
        providers=providers or ProviderSettings(),
    )


def token(
    role: str,
    sub: str = "user-1",
    venues: tuple[str, ...] = (),
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """Return a valid token for the test secret."""
    return issue_token(secret=SECRET, role=Role(role), sub=sub, venues=venues, ttl=ttl)


def auth(
    role: str, sub: str = "user-1", venues: tuple[str, ...] = ()
) -> dict[str, str]:
    """Return the Authorization header of a token."""
    return {"Authorization": f"Bearer {token(role, sub, venues)}"}


@contextlib.asynccontextmanager
async def api_client(
    dsn: str,
    *,
    rate_limit_per_minute: int = 600,
    providers: ProviderSettings | None = None,
    **api_settings: object,
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """Yield a test client of the API on `dsn`."""
    settings = test_settings(
        dsn,
        rate_limit_per_minute=rate_limit_per_minute,
        providers=providers,
        **api_settings,
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


# The per-job options this service adds to the old ones, as a body echoes them
# when they are not given.
NEW_OPTIONS = {
    "orderingKey": None,
    "concurrencyKey": None,
    "dependsOn": None,
    "uniqueWhile": None,
    "onDuplicate": None,
}

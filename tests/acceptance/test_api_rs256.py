"""RS256 tokens, verified with JWT_PUBLIC_KEY_FILE."""

import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import AsyncTestClient

from app.api.app import create_app
from app.settings import ApiSettings, DatabaseSettings, Settings
from tests.helpers.api import SECRET


async def test_rs256_tokens_are_verified_with_the_public_key(db_dsn, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = tmp_path / "jwt.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=db_dsn),
        api=ApiSettings(jwt_secret=SECRET, jwt_public_key_file=str(public)),
    )
    now = int(time.time())
    claims = {"sub": "ops", "role": "monitoring", "iat": now, "exp": now + 60}
    signed = jwt.encode(claims, key, algorithm="RS256")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256")
    hs256 = jwt.encode(claims, SECRET, algorithm="HS256")
    async with AsyncTestClient(app=create_app(settings)) as client:
        ok = await client.get(
            "/api/v1/queue/queues", headers={"Authorization": f"Bearer {signed}"}
        )
        bad = await client.get(
            "/api/v1/queue/queues", headers={"Authorization": f"Bearer {forged}"}
        )
        wrong_kind = await client.get(
            "/api/v1/queue/queues", headers={"Authorization": f"Bearer {hs256}"}
        )
    assert (ok.status_code, bad.status_code, wrong_kind.status_code) == (200, 401, 401)

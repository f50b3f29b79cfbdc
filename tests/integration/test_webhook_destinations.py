"""Webhook and callback URLs are callers': what they may reach (SSRF).

The network tests only ever connect to loopback; the addresses that must be
refused are refused before a socket exists, so nothing is sent to them.
"""

import socket
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest

from app.settings import ProviderSettings
from tests.fakes.fixtures import settings_for_fakes
from tests.fakes.http_services import FakeWebhookReceiver
from workers.providers.destinations import DestinationPolicy, DestinationRefused
from workers.providers.errors import ProviderRejected
from workers.providers.webhooks import WebhookSender


def without_allow_list() -> ProviderSettings:
    return settings_for_fakes().model_copy(update={"webhook_allowed_networks": ()})


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    made = WebhookSender.from_settings(without_allow_list())
    yield made
    await made.aclose()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "fe80::1",
        "fd00::1",
        "224.0.0.1",
        "::",
    ],
)
def test_only_public_addresses_are_permitted_by_default(address: str):
    assert not DestinationPolicy().permits(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07::1"])
def test_public_addresses_are_permitted(address: str):
    assert DestinationPolicy().permits(address)


def test_the_allow_list_names_networks_that_may_be_reached():
    policy = DestinationPolicy([ip_network("127.0.0.0/8")])

    assert policy.permits("127.0.0.1")
    assert policy.permits("::ffff:127.0.0.2")
    assert not policy.permits("::1")
    assert not policy.permits("169.254.169.254")


def test_the_socket_factory_refuses_before_any_socket_exists():
    open_socket = DestinationPolicy().socket_factory()
    metadata = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))

    with pytest.raises(DestinationRefused) as caught:
        open_socket(metadata)
    # The owner of the job sees the rule, not the address a name resolved to.
    assert "169.254" not in str(caught.value)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        # A name: checked on the address it resolves to when connecting, so a
        # name that resolved elsewhere when enqueued (DNS rebinding) is
        # refused all the same.
        "localhost",
        "[::ffff:127.0.0.1]",
    ],
)
async def test_a_webhook_to_loopback_is_refused_and_nothing_is_sent(
    fake_webhook_receiver: FakeWebhookReceiver, sender: WebhookSender, host: str
):
    port = fake_webhook_receiver.url.rsplit(":", 1)[1]

    with pytest.raises(ProviderRejected) as caught:
        await sender.deliver(
            url=f"http://{host}:{port}/hook", event="e", event_id="evt-1", payload={}
        )

    assert caught.value.code == "destination_refused"
    assert "WEBHOOK_ALLOWED_NETWORKS" in str(caught.value)
    assert fake_webhook_receiver.requests == []


async def test_a_redirect_to_loopback_is_not_followed(
    fake_webhook_receiver: FakeWebhookReceiver,
):
    # The receiver is allowed; where it redirects is never visited.
    sender = WebhookSender.from_settings(settings_for_fakes())
    fake_webhook_receiver.fail_next(
        1, 307, body=b"", headers={"Location": "http://localhost:9/admin"}
    )
    try:
        with pytest.raises(ProviderRejected) as caught:
            await sender.deliver(
                url=fake_webhook_receiver.url + "/hook",
                event="e",
                event_id="evt-2",
                payload={},
            )
    finally:
        await sender.aclose()

    assert caught.value.code == "http_307"
    assert [r.path for r in fake_webhook_receiver.requests] == ["/hook"]


async def test_a_failed_delivery_does_not_show_what_the_server_answered(
    fake_webhook_receiver: FakeWebhookReceiver,
):
    sender = WebhookSender.from_settings(settings_for_fakes())
    fake_webhook_receiver.fail_next(1, 400, body={"internal": "db-password-hunter2"})
    try:
        with pytest.raises(ProviderRejected) as caught:
            await sender.deliver(
                url=fake_webhook_receiver.url, event="e", event_id="evt-3", payload={}
            )
    finally:
        await sender.aclose()

    assert str(caught.value) == "webhook rejected the request (HTTP 400, http_400)"

"""Which addresses a caller-given URL may reach: public ones, and the allowed.

Webhook and callback URLs come from callers, so a URL naming an internal
address would make the worker call it for them (SSRF). The check is made on
the socket, just before it connects, for every address the connection tries:
a name that resolves to a public address at enqueue time and to 127.0.0.1
when delivered (DNS rebinding), a literal IP, an IPv4-mapped IPv6 address all
meet the same rule. Redirects are never followed, so no answer can point the
worker elsewhere.
"""

import errno
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SocketFactory = Callable[[tuple[Any, ...]], socket.socket]


class DestinationRefused(OSError):
    """A connection to an address that is neither public nor allowed.

    The message never names the address: it reaches the job's owner, who
    could otherwise map internal names to addresses through it.
    """

    def __init__(self) -> None:
        super().__init__(
            errno.EACCES,
            "the destination is not a public address and WEBHOOK_ALLOWED_NETWORKS"
            " does not name it",
        )


class DestinationPolicy:
    """Public addresses, and those in the allowed networks."""

    def __init__(self, allowed: Iterable[IPNetwork] = ()) -> None:
        self._allowed = tuple(allowed)

    def permits(self, address: str) -> bool:
        """Whether a connection to this IP address may be opened."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel.
            ip = ip.ipv4_mapped
        if any(ip in network for network in self._allowed):
            return True
        return ip.is_global and not ip.is_multicast

    def socket_factory(self) -> SocketFactory:
        """A socket factory for aiohttp that refuses what `permits` does not."""

        def open_socket(addr_info: tuple[Any, ...]) -> socket.socket:
            family, kind, proto, _, address = addr_info
            if not self.permits(address[0]):
                raise DestinationRefused()
            return socket.socket(family=family, type=kind, proto=proto)

        return open_socket

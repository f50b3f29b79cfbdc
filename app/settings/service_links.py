"""Kubernetes service links: the variables the platform puts in every pod.

For each Service of the namespace (unless the pod sets `enableServiceLinks:
false`) the kubelet adds, with NAME the Service's name upper-cased and "-" as
"_" (queue-service-api: QUEUE_SERVICE_API):

    NAME_SERVICE_HOST=192.0.2.1                 the cluster IP
    NAME_SERVICE_PORT=3020                     the first port
    NAME_SERVICE_PORT_<PORTNAME>=3020          each named port
    NAME_PORT=tcp://192.0.2.1:3020              the first port, Docker-link style
    NAME_PORT_3020_TCP=tcp://192.0.2.1:3020     and for each port:
    NAME_PORT_3020_TCP_PROTO=tcp
    NAME_PORT_3020_TCP_PORT=3020
    NAME_PORT_3020_TCP_ADDR=192.0.2.1

A variable is a service link when both its name and its value have one of these
shapes: the value is what tells `WORKER_METRIC_PORT=9464` (a typo of ours) from
`WORKER_METRIC_PORT=tcp://192.0.2.7:9464` (a Service named worker-metric).
"""

import ipaddress
import re
from collections.abc import Callable

_NAME = r"[A-Z][A-Z0-9_]*"
_PORT_PREFIX = rf"{_NAME}_PORT_[0-9]+_(?:TCP|UDP|SCTP)"
_URL = re.compile(r"(?:tcp|udp|sctp)://(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+):[0-9]+")
_NUMBER = re.compile(r"[0-9]+")
_PROTOCOL = re.compile(r"tcp|udp|sctp")


def _fits(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# (name shape, value check), tried in turn: NAME_PORT_80_TCP_PORT is both a
# NAME_PORT (of a Service named name-port-80-tcp) and a port number.
_SHAPES: tuple[tuple[re.Pattern[str], Callable[[str], bool]], ...] = (
    (re.compile(rf"{_NAME}_SERVICE_HOST"), _is_ip),
    (re.compile(rf"{_NAME}_SERVICE_PORT(?:_[A-Z0-9_]+)?"), _fits(_NUMBER)),
    (re.compile(rf"{_NAME}_PORT|{_PORT_PREFIX}"), _fits(_URL)),
    (re.compile(rf"{_PORT_PREFIX}_PROTO"), _fits(_PROTOCOL)),
    (re.compile(rf"{_PORT_PREFIX}_PORT"), _fits(_NUMBER)),
    (re.compile(rf"{_PORT_PREFIX}_ADDR"), _is_ip),
)


def has_service_link_name(name: str) -> bool:
    """Tell whether Kubernetes could inject a variable named `name`."""
    return any(shape.fullmatch(name) for shape, _ in _SHAPES)


def is_service_link(name: str, value: str) -> bool:
    """Tell whether `name=value` looks like a variable Kubernetes injected."""
    return any(shape.fullmatch(name) and fits(value) for shape, fits in _SHAPES)

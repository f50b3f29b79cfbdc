"""Writing a Prometheus rule file: its alerts and groups as YAML text.

Rendered by hand rather than dumped, so the file keeps its comments and reads
like a hand-written one; every value is quoted where YAML would read it back
as something else. `app.observability.alert_rules` decides what the alerts are.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

RUNBOOK = "ops/runbook.md#"
_YAML_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
)
_PLAIN = re.compile(r"[a-z][a-z0-9_-]*")


@dataclass(frozen=True)
class Alert:
    """One alerting rule: its expression, how long it must hold, labels and texts."""

    name: str
    expr: str
    for_s: int
    labels: dict[str, str]
    summary: str
    description: str
    runbook: str


@dataclass(frozen=True)
class Group:
    """A rule group: its name, the comment above it, its alerts."""

    name: str
    comment: str
    alerts: list[Alert] = field(default_factory=list)


def number(value: float) -> str:
    """Return `value` as an integer when it is one (1000000, not 1e+06)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def duration(seconds: int) -> str:
    """Return `seconds` in Prometheus's duration syntax, in the largest whole unit."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def scalar(value: str) -> str:
    """Return a label value as YAML reads it back: the same string (`"no"`, not false)."""
    if _PLAIN.fullmatch(value) and value not in _YAML_WORDS:
        return value
    return json.dumps(value)


def _render_alert(alert: Alert) -> Iterator[str]:
    yield f"      - alert: {alert.name}"
    yield "        expr: |"
    for line in alert.expr.splitlines():
        yield f"          {line}"
    yield f"        for: {duration(alert.for_s)}"
    yield "        labels:"
    for key, value in alert.labels.items():
        yield f"          {key}: {scalar(value)}"
    yield "        annotations:"
    yield f"          summary: {json.dumps(alert.summary, ensure_ascii=False)}"
    yield f"          description: {json.dumps(alert.description, ensure_ascii=False)}"
    yield f'          runbook_url: "{RUNBOOK}{alert.runbook}"'


def render_group(group: Group) -> Iterator[str]:
    """Yield the lines of `group` in the rule file."""
    yield f"  # {group.comment}"
    yield f"  - name: {scalar(group.name)}"
    yield "    rules:"
    for alert in group.alerts:
        yield from _render_alert(alert)

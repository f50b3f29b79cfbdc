"""The Prometheus alert rules, rendered from the thresholds the monitor checks.

The monitor (`app.services.monitoring`) alerts from each queue's row of
`queue.queues` (its alert severity and `alert_max_*` thresholds, which
ALERT_THRESHOLD_<QUEUE>_* override when a worker starts) and from the
database limits of `AlertSettings`. `render_rules` turns those same values
into the rule file Prometheus loads, so the two never disagree:
`queue-service ops prometheus-rules` writes it, and the checked-in
ops/prometheus/rules/queue-service.rules.yml is that command's output over a
freshly migrated database (tests/ops compare them).

What the monitor has no setting for is a policy of this module, by severity
and tier: how long a condition must hold (`for`), and whether a long pause
warns. An alert the monitor pages the on-call about itself (SMS, and a voice
call for money: every critical breach, `page_channels`) carries
`paged_by: queue-service`, so Alertmanager records it without paging twice
(ops/alertmanager/alertmanager.yml).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.monitoring import (
    CRITICAL_TRANSACTION_FACTOR,
    STALE_VACUUM_SHARE,
    DatabaseThresholds,
)
from app.observability.rules_file import Alert, Group, number, render_group

COMMAND = "queue-service ops prometheus-rules"
RULES_PATH = "ops/prometheus/rules/queue-service.rules.yml"
# The label of alerts the service pages about itself, and its value.
PAGED_BY = ("paged_by", "queue-service")
# The monitor pages about a breach of this severity (app.services.monitoring.page_channels).
PAGING_SEVERITY = "critical"
# The queue the monitor and its pages (`deliver-alert`) run on.
MONITOR_QUEUE = "maintenance"


@dataclass(frozen=True)
class QueueThresholds:
    """A queue's alert thresholds and severity, as the monitor reads them."""

    name: str
    tier: str
    severity: str
    max_waiting: int
    max_oldest_age_s: float
    max_failed_per_hour: int


@dataclass(frozen=True)
class _Waits:
    """How long a queue's backlog and missing workers must last before Prometheus alerts."""

    depth_s: int
    no_workers_s: int


# The more severe a queue's alerts, the sooner they fire.
_WAITS_BY_SEVERITY = {
    "critical": _Waits(depth_s=300, no_workers_s=120),
    "warning": _Waits(depth_s=600, no_workers_s=300),
    "info": _Waits(depth_s=900, no_workers_s=900),
}
_TIER_ORDER = {"critical": 0, "important": 1, "ephemeral": 2}
# An old job or dead letters fire after a minute, whatever the severity: the
# threshold already says how long (the age) or how many in an hour.
_AGE_AND_FAILURES_FOR_S = 60
# A paused queue of these tiers warns after a while, at this severity; an
# ephemeral queue may stay paused.
_PAUSED_BY_TIER = {"critical": (1800, "warning"), "important": (7200, "info")}
# What a queue's alerts add to their description, for the queues we ship.
_QUEUE_NOTES = {
    MONITOR_QUEUE: " The maintenance queue runs the monitor and its pages, the "
    "stalled-job rescue and retention.",
}


def _words(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds / size).is_integer():
            count = int(seconds // size)
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{number(seconds)} seconds"


def _queue_labels(queue: QueueThresholds, severity: str) -> dict[str, str]:
    labels = {"severity": severity, "tier": queue.tier, "queue_name": queue.name}
    if severity == PAGING_SEVERITY:
        labels[PAGED_BY[0]] = PAGED_BY[1]
    return labels


def _queue_group(queue: QueueThresholds) -> Group:
    name, severity = queue.name, queue.severity
    # A severity added to queue.alert_severities waits as a warning does.
    waits = _WAITS_BY_SEVERITY.get(severity, _WAITS_BY_SEVERITY["warning"])
    note = _QUEUE_NOTES.get(name, "")
    selector = f'queue_name="{name}"'
    not_paused = (
        "unless on (queue_name) max by (queue_name) "
        f"(queue_service_queue_paused{{{selector}}}) == 1"
    )
    labels = _queue_labels(queue, severity)
    paging = "; the service pages these itself" if severity == PAGING_SEVERITY else ""
    if name == MONITOR_QUEUE:
        paging = "; the monitor runs here, so Alertmanager pages when it cannot"
    group = Group(
        f"queue-service-{name}",
        f"-- {name}: tier {queue.tier}, severity {severity}{paging} --",
    )
    group.alerts.append(
        Alert(
            "QueueDepthHigh",
            "max by (queue_name) "
            f'(queue_depth{{{selector}, status="waiting"}}) > {queue.max_waiting}\n'
            + not_paused,
            waits.depth_s,
            labels,
            "{{ $labels.queue_name }}: {{ $value | humanize }} jobs waiting",
            f"More than {queue.max_waiting} due jobs have waited in queue "
            f"{{{{ $labels.queue_name }}}} for {_words(waits.depth_s)}: workers cannot "
            f"keep up or are stuck.{note}",
            "queuedepthhigh",
        )
    )
    group.alerts.append(
        Alert(
            "QueueOldestJobTooOld",
            "max by (queue_name) "
            f"(oldest_job_age_seconds{{{selector}}}) > {number(queue.max_oldest_age_s)}\n"
            + not_paused,
            _AGE_AND_FAILURES_FOR_S,
            labels,
            "{{ $labels.queue_name }}: oldest waiting job is "
            "{{ $value | humanizeDuration }} old",
            "A due job in queue {{ $labels.queue_name }} has waited more than "
            f"{_words(queue.max_oldest_age_s)}.{note}",
            "queueoldestjobtooold",
        )
    )
    group.alerts.append(
        Alert(
            "QueueFailureRateHigh",
            "sum by (queue_name) (increase(queue_service_jobs_dead_lettered_total"
            f"{{{selector}}}[1h])) > {queue.max_failed_per_hour}",
            _AGE_AND_FAILURES_FOR_S,
            labels,
            "{{ $labels.queue_name }}: {{ $value | humanize }} jobs failed for good "
            "in the last hour",
            f"More than {queue.max_failed_per_hour} jobs of queue "
            "{{ $labels.queue_name }} were dead-lettered within an hour "
            f"(see queue.failures).{note}",
            "queuefailureratehigh",
        )
    )
    group.alerts.append(
        Alert(
            "QueueNoWorkers",
            f"max by (queue_name) (queue_service_workers_alive{{{selector}}}) == 0",
            waits.no_workers_s,
            labels,
            "{{ $labels.queue_name }}: no live worker listens to this queue",
            "No worker process with a fresh heartbeat serves queue "
            f"{{{{ $labels.queue_name }}}}: nothing will run its jobs.{note}",
            "queuenoworkers",
        )
    )
    paused = _PAUSED_BY_TIER.get(queue.tier)
    if paused is not None:
        paused_for_s, paused_severity = paused
        group.alerts.append(
            Alert(
                "QueuePausedTooLong",
                f"max by (queue_name) (queue_service_queue_paused{{{selector}}}) == 1",
                paused_for_s,
                _queue_labels(queue, paused_severity),
                "{{ $labels.queue_name }}: paused for more than "
                f"{_words(paused_for_s)}",
                "Queue {{ $labels.queue_name }} is paused; its depth and age alerts "
                "are silenced while it is.",
                "queuepausedtoolong",
            )
        )
    return group


def _jobs_group() -> Group:
    return Group(
        "queue-service-jobs",
        "-- jobs and workers, whatever the queue --",
        [
            Alert(
                "StalledJobs",
                "max(queue_service_stalled_jobs) > 0",
                300,
                {"severity": "warning"},
                "{{ $value | humanize }} running jobs belong to workers that stopped "
                "heartbeating",
                "Jobs have been running on dead workers for over 5 minutes; the rescue "
                "returns them within about a minute, so it is not running.",
                "stalledjobs",
            ),
            Alert(
                "CircuitBreakerOpen",
                "max by (provider) (queue_service_circuit_breaker_state) == 2",
                300,
                {"severity": "warning"},
                "{{ $labels.provider }}: circuit breaker open",
                "Calls to {{ $labels.provider }} have been refused by the circuit "
                "breaker for 5 minutes; its jobs are retried later.",
                "circuitbreakeropen",
            ),
        ],
    )


def _database_group(thresholds: DatabaseThresholds) -> Group:
    dead = thresholds.max_dead_tuples
    stale_dead = dead // STALE_VACUUM_SHARE
    transaction = thresholds.max_transaction_age_s
    critical_transaction = transaction * CRITICAL_TRANSACTION_FACTOR

    def long_transaction(age_s: float, severity: str) -> Alert:
        labels = {"severity": severity}
        if severity == PAGING_SEVERITY:
            labels[PAGED_BY[0]] = PAGED_BY[1]
        return Alert(
            "DatabaseLongTransaction",
            f"max(queue_service_db_oldest_transaction_age_seconds) > {number(age_s)}",
            120,
            labels,
            "a transaction has been open for {{ $value | humanizeDuration }}",
            f"An open transaction older than {_words(age_s)} holds back vacuum of "
            "every table, the job table first.",
            "databaselongtransaction",
        )

    return Group(
        "queue-service-database",
        "-- PostgreSQL health: the queue lives in it --",
        [
            Alert(
                "TableBloat",
                f"max by (table) (queue_service_db_dead_tuples) > {dead}",
                1800,
                {"severity": "warning"},
                "{{ $labels.table }}: {{ $value | humanize }} dead tuples",
                f"Table {{{{ $labels.table }}}} has held over {dead} dead tuples for "
                "30 minutes: autovacuum cannot keep up or is blocked.",
                "tablebloat",
            ),
            Alert(
                "AutovacuumStale",
                "max by (table) (queue_service_db_last_autovacuum_age_seconds) > "
                f"{number(thresholds.max_vacuum_age_s)}\n"
                "and on (table) max by (table) (queue_service_db_dead_tuples) > "
                f"{stale_dead}",
                3600,
                {"severity": "warning"},
                "{{ $labels.table }}: not autovacuumed for "
                "{{ $value | humanizeDuration }}",
                f"Table {{{{ $labels.table }}}} has over {stale_dead} dead tuples and "
                f"no autovacuum for {_words(thresholds.max_vacuum_age_s)}.",
                "tablebloat",
            ),
            long_transaction(transaction, "warning"),
            long_transaction(critical_transaction, "critical"),
        ],
    )


def _processes_group() -> Group:
    http = 'app_name="queue_service"'
    return Group(
        "queue-service-processes",
        "-- the processes themselves: the service cannot page about its own absence --",
        [
            Alert(
                "ApiDown",
                'up{job="queue-service-api"} == 0',
                120,
                {"severity": "critical"},
                "API target {{ $labels.instance }} is down",
                "Prometheus has not scraped {{ $labels.instance }} for 2 minutes.",
                "service-down",
            ),
            Alert(
                "ApiAbsent",
                'absent(up{job="queue-service-api"})',
                300,
                {"severity": "critical"},
                "no API target is known to Prometheus",
                "Service discovery finds no queue-service API instance.",
                "service-down",
            ),
            Alert(
                "WorkerDown",
                'up{job="queue-service-worker"} == 0',
                300,
                {"severity": "warning"},
                "worker target {{ $labels.instance }} is down",
                "Prometheus has not scraped the worker metrics of "
                "{{ $labels.instance }} for 5 minutes.",
                "service-down",
            ),
            Alert(
                "ApiErrorRateHigh",
                f"sum(rate(queue_service_http_requests_error_total{{{http}}}[5m]))\n"
                f"  / sum(rate(queue_service_http_requests_total{{{http}}}[5m])) > 0.05",
                600,
                {"severity": "warning"},
                "{{ $value | humanizePercentage }} of API requests fail with 5xx",
                "More than 5% of API requests have answered 5xx for 10 minutes.",
                "apierrorratehigh",
            ),
        ],
    )


_HEADER = f"""\
# Alert rules of queue-service, one group per queue of queue.queues (design §1, §8).
#
# GENERATED by `{COMMAND}` (app/observability/alert_rules.py) from the
# thresholds the service's own monitor checks: each queue's row of queue.queues
# (alert_severity, alert_max_*; ALERT_THRESHOLD_<QUEUE>_* override them) and the
# ALERT_THRESHOLD_DEAD_TUPLES / _VACUUM_AGE_S / _TRANSACTION_AGE_S settings.
# Do not edit it: change the thresholds, then run
#   DATABASE_URL=... {COMMAND} --output {RULES_PATH}
# (this file is that output over a freshly migrated database; tests/ops fail
# when they differ).
#
# Gauges read from SQL at scrape time (queue_depth, oldest_job_age_seconds,
# queue_service_queue_paused, _workers_alive, _stalled_jobs, _db_*) are exposed
# by every API replica, so they are aggregated with max, never summed. Counters
# come from each worker process and are summed.
#
# Every alert carries severity, tier and queue_name where it is about a queue, a
# summary, a description and runbook_url: a section of ops/runbook.md (prefix it
# with your repository's browse URL when you deploy). An alert the service pages
# the on-call about itself (SMS, voice for money) carries paged_by:
# queue-service; Alertmanager routes it to chat only
# (ops/alertmanager/alertmanager.yml).
#
# Checked by `promtool check rules` and unit-tested by
# ops/prometheus/rules/tests/queue-service.rules.test.yml (tests/ops).

groups:
"""


def render_rules(
    queues: Sequence[QueueThresholds], database: DatabaseThresholds
) -> str:
    """Return the rule file for these queues and database limits.

    The queues' groups come first, the most critical tier first, then by name.
    """
    ordered = sorted(queues, key=lambda q: (_TIER_ORDER.get(q.tier, 99), q.name))
    groups = [_queue_group(queue) for queue in ordered]
    groups += [_jobs_group(), _database_group(database), _processes_group()]
    blocks = ["\n".join(render_group(group)) for group in groups]
    return _HEADER + "\n\n".join(blocks) + "\n"

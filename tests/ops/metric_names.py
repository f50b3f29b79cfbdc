"""Which metric names exist, and which ones a PromQL expression reads."""

import re

from tests.ops.binaries import REPO

# Litestar's PrometheusConfig middleware with prefix "http" (app/api/app.py).
HTTP = frozenset(
    {
        "queue_service_http_requests_total",
        "queue_service_http_request_duration_seconds",
        "queue_service_http_requests_in_progress",
        "queue_service_http_requests_error_total",
    }
)
# prometheus_client's process collector, and what Prometheus itself makes.
PROCESS = frozenset({"process_resident_memory_bytes", "process_cpu_seconds_total"})
PROMETHEUS = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})

# A declaration calls a metric class or a subclass of one (JobResultsCounter).
_DECLARATION = re.compile(
    r"\b\w*(?:Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\""
)
_SERIES_SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def declared() -> frozenset[str]:
    """Return the metric names app/observability/metrics.py declares."""
    source = (REPO / "app" / "observability" / "metrics.py").read_text()
    names = frozenset(_DECLARATION.findall(source))
    assert names, "no metric declarations found in app/observability/metrics.py"
    return names


def known() -> frozenset[str]:
    """Return every metric name a rule or a panel may read."""
    return declared() | HTTP | PROCESS | PROMETHEUS


def base_name(series: str, names: frozenset[str]) -> str:
    """Map a histogram's or counter's series name (`x_bucket`) to its metric (`x`)."""
    for suffix in _SERIES_SUFFIXES:
        if series.endswith(suffix) and series[: -len(suffix)] in names:
            return series[: -len(suffix)]
    return series


_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPINGS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
)
_NUMBERS = re.compile(r"(?<![A-Za-z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\()")
_FUNCTION = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*\s*\(")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)


def read_by(expr: str) -> set[str]:
    """Return the metric names a PromQL expression selects (a regex reading, not a parser)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPINGS.sub(" ", text)
    text = _NUMBERS.sub(" ", text)
    text = _FUNCTION.sub(" ", text)
    return {word for word in _IDENTIFIER.findall(text) if word not in _KEYWORDS}

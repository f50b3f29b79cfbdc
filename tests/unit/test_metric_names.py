"""Every metric the service registers keeps an old service's name or starts with
`queue_service_`: the API's and the workers' own, and Litestar's HTTP metrics
(with the prefix the app configures)."""

from litestar import Litestar, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.testing import TestClient
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
)

import app.observability.fleet  # noqa: F401 - registers what the old path sums
import workers.runtime
import workers.tasks  # noqa: F401 - and whatever a worker process registers
from app.api.app import create_app
from app.observability import metrics
from tests.helpers.api import test_settings as settings_for

# The old service's metrics, as its documentation lists them (its "Prometheus
# Metrics"), whose dashboards and alerts read them by these names.
OLD_SERVICE = {
    "queue_depth",
    "oldest_job_age_seconds",
    "failed_jobs_total",
    "job_results_total",
    "job_processing_duration_seconds",
    "alerts_sent_total",
}
PREFIX = "queue_service_"
# prometheus_client's own process, platform and GC metrics keep the names every
# Prometheus client gives them.
STANDARD = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)


def _metric_names(family_name: str, family_type: str) -> str:
    # prometheus_client drops a counter's `_total` from its family's name.
    return family_name + "_total" if family_type == "counter" else family_name


def _registered() -> set[str]:
    standard = {family.name for collector in STANDARD for family in collector.collect()}
    return {
        _metric_names(family.name, family.type)
        for family in REGISTRY.collect()
        if family.name not in standard
    }


def _the_apps_prometheus_config() -> PrometheusConfig:
    api = create_app(settings_for("postgresql://unused/unused"))
    [config] = [
        entry.kwargs["config"]
        for entry in api.middleware
        if getattr(entry, "middleware", None) is PrometheusMiddleware
    ]
    assert isinstance(config, PrometheusConfig)
    return config


def _register_http_metrics() -> None:
    # Litestar registers its metrics on the first request: one request through
    # the app's own PrometheusConfig, on an app without a database.
    @get("/ping", sync_to_thread=False)
    def ping() -> str:
        return "pong"

    config = _the_apps_prometheus_config()
    with TestClient(Litestar([ping], middleware=[config.middleware])) as client:
        assert client.get("/ping").status_code == 200


def test_the_old_names_are_the_old_services():
    assert metrics.OLD_NAMES == OLD_SERVICE
    assert metrics.PREFIX == PREFIX


def test_every_registered_metric_is_old_or_prefixed():
    _register_http_metrics()
    names = _registered()
    assert OLD_SERVICE <= names
    assert "queue_service_http_requests_total" in names
    strays = sorted(n for n in names - OLD_SERVICE if not n.startswith(PREFIX))
    assert strays == [], f"metrics without the {PREFIX} prefix: {strays}"


def test_the_http_metrics_prefix_is_the_apps():
    config = _the_apps_prometheus_config()
    assert config.prefix == metrics.HTTP_PREFIX
    assert config.prefix.startswith(PREFIX)

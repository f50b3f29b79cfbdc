"""The old counters of every process, summed: what the API's old scrape path serves.

The old service's scrape config reads one path of the API, and its dashboards
read `job_results_total`, `job_processing_duration_seconds` and
`alerts_sent_total` there. Those are counted where the work is done, mostly in
the workers. So each process (API and worker) keeps its own counters, served
per process on `/metrics` and the workers' ports, and every
`METRICS_REPORT_S` adds what they rose by to `queue.fleet_counters`; the old
path serves those sums in their place. `CounterRises` takes the rises,
`fleet_families` turns the sums back into metric families, and `OldPath` is
the exposition of the old path.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from app.observability.metrics import ALERTS_SENT, JOB_DURATION, JOB_RESULTS

# The counters the old dashboards read.
FLEET_METRICS: tuple[Collector, ...] = (JOB_RESULTS, JOB_DURATION, ALERTS_SENT)
# prometheus-client's creation timestamps are a process's own, not a sum.
_PER_PROCESS_SUFFIX = "_created"
_SAMPLE_SUFFIXES = ("_total", "_bucket", "_count", "_sum")

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Series:
    """One series of a counter: what it rose by, or the fleet's sum of it."""

    sample: str
    labels: Mapping[str, str]
    value: float


def _readings(metrics: Iterable[Collector]) -> dict[tuple[str, Labels], float]:
    readings: dict[tuple[str, Labels], float] = {}
    for metric in metrics:
        for family in metric.collect():
            for sample in family.samples:
                if not sample.name.endswith(_PER_PROCESS_SUFFIX):
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    readings[key] = sample.value
    return readings


class CounterRises:
    """What this process's old counters rose by since they were last reported.

    `take()` reads the counters and marks what rose as reported; a report that
    could not be stored is handed back with `give_back()` and goes into the
    next one. Taking at once means two reports in flight never add the same
    rise, so one instance serves the whole process (`PROCESS_RISES`).
    """

    def __init__(self, metrics: Iterable[Collector] = FLEET_METRICS) -> None:
        self._metrics = tuple(metrics)
        self._reported: dict[tuple[str, Labels], float] = {}

    def take(self) -> list[Series]:
        """Return every series that rose since the last report, marked reported."""
        rises = []
        for key, value in _readings(self._metrics).items():
            reported = self._reported.get(key, 0.0)
            if value > reported:
                sample, labels = key
                rises.append(Series(sample, dict(labels), value - reported))
                self._reported[key] = value
        return rises

    def give_back(self, rises: Iterable[Series]) -> None:
        """Mark rises that could not be stored as not reported."""
        for rise in rises:
            key = (rise.sample, tuple(sorted(rise.labels.items())))
            self._reported[key] -= rise.value


# The process's counters are its registry's: one reporter for the process.
PROCESS_RISES = CounterRises()


def _family_of(sample: str, families: Mapping[str, Metric]) -> Metric | None:
    for suffix in _SAMPLE_SUFFIXES:
        if sample.endswith(suffix) and sample.removesuffix(suffix) in families:
            return families[sample.removesuffix(suffix)]
    return None


def _exposition_order(row: Series) -> tuple[str, Labels, float]:
    # Buckets of one series in rising bounds, as a histogram is written.
    bound = row.labels.get("le")
    others = tuple(sorted((k, v) for k, v in row.labels.items() if k != "le"))
    return (row.sample, others, float(bound) if bound is not None else 0.0)


def fleet_families(
    sums: Iterable[Series], metrics: Iterable[Collector] = FLEET_METRICS
) -> list[Metric]:
    """Return the old counters' families with the fleet's sums as their samples."""
    families: dict[str, Metric] = {}
    for metric in metrics:
        for own in metric.collect():
            families[own.name] = Metric(own.name, own.documentation, own.type)
    for row in sorted(sums, key=_exposition_order):
        summed = _family_of(row.sample, families)
        if summed is not None:
            summed.add_sample(row.sample, dict(row.labels), row.value)
    return list(families.values())


class OldPath(Collector):
    """The old scrape path's exposition: this process's metrics, the old counters summed.

    Everything the registry holds, except this process's own copies of the old
    counters, which are in the fleet's sums (once reported).
    """

    def __init__(self, fleet: list[Metric]) -> None:
        self._fleet = fleet

    def collect(self) -> Iterator[Metric]:
        """Yield the registry's families, the fleet's in place of the old counters."""
        summed = {family.name for family in self._fleet}
        for family in REGISTRY.collect():
            if family.name not in summed:
                yield family
        yield from self._fleet

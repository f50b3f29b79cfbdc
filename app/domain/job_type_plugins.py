"""Job types from other packages: entry points of group `queue_service.job_types`.

A package adds job types without forking the service: its pyproject names an
entry point of this group, and the entry point names a `JobTypePlugin`:

    [project.entry-points."queue_service.job_types"]
    tickets = "ticket_jobs:plugin"

The plugin holds its `JobType`s (each with a `Payload` model) and, for each
type, the import path of its task body. This module loads the types into the
catalogue (`app.domain.job_types.CATALOGUE`); the worker alone imports the
bodies (`workers.tasks.task_bodies`), so the API never loads task code.

A plugin's types obey the built-ins' rules (`job_type_problems`) and may take
no name the catalogue has. Anything wrong (an import error, a rule broken, a
name taken) raises `JobTypePluginError` naming the entry point, before any
type is added: a process has every plugin's types, or it does not start.
Each process's entry point calls `load_job_type_plugins` once, at start (the
`queue-service` command for every subcommand, and the ASGI app factory).
How to write one: docs/job-types.md.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib import metadata

from app.domain.access import Role
from app.domain.job_types import BUILT_IN, JobType, extend_catalogue
from app.domain.payload_rules import field_rules, one_of
from app.domain.payloads import Payload

ENTRY_POINT_GROUP = "queue_service.job_types"

# The checks of queue.job_types and queue.queues, as the database has them.
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_NAME_MAX_BYTES = 128
_QUEUE = re.compile(r"^[a-z][a-z0-9_-]*$")
_QUEUE_MAX_BYTES = 40
_TEMPLATE = re.compile(
    r"^([^{}]|\{[A-Za-z][A-Za-z0-9_]*(\|[A-Za-z][A-Za-z0-9_]*)*\})+$"
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# What a template may name besides the payload's fields (queue.render_idempotency_key).
_TEMPLATE_WORDS = frozenset({"date", "hour"})
# `module:function`, as an entry point's value.
_BODY_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class JobTypePluginError(RuntimeError):
    """A job-type plugin cannot be loaded."""


@dataclass(frozen=True)
class JobTypePlugin:
    """Job types a package adds, and where the worker finds each type's body.

    `bodies` maps each type's name to its task body's import path,
    `module:function`: an async function taking the job's context, `data` and
    `meta`, like the built-in bodies of `workers/tasks/`. Only the worker
    imports it, so the module holding the plugin must not import task code.
    """

    job_types: Sequence[JobType]
    bodies: Mapping[str, str]


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin, with the entry point and distribution it came from."""

    entry_point: str  # "tickets = ticket_jobs:plugin"
    distribution: str  # "ticket-jobs 0.1"
    plugin: JobTypePlugin

    def describe(self) -> str:
        """Return how an error names the plugin: its entry point and distribution."""
        return _describe(self.entry_point, self.distribution)


def _describe(entry_point: str, distribution: str) -> str:
    return f"job-type plugin {entry_point!r} of {distribution}"


def job_type_problems(entry: JobType) -> list[str]:
    """Return what breaks the catalogue's rules in `entry`; empty when it is sound.

    The rules every type obeys, built-in or a plugin's: what queue.job_types
    and queue.queues accept, templates naming only payload fields, a model the
    database can check on enqueue, and no HTTP caller for `maintenance` jobs.
    That the queue, bucket and provider exist is checked by `migrate`, which
    sees the database (`app.db.job_type_rows`).
    """
    problems: list[str] = []
    name = entry.name
    if not (isinstance(name, str) and _NAME.match(name)):
        problems.append(f"name {name!r} is not lowercase letters, digits and '-'")
    elif len(name.encode()) > _NAME_MAX_BYTES:
        problems.append(f"name {name!r} is longer than {_NAME_MAX_BYTES} bytes")
    problems.extend(_queue_problems(entry.queue))
    if not (isinstance(entry.description, str) and entry.description.strip()):
        problems.append("description is empty")
    priority = entry.default_priority
    if not (isinstance(priority, int) and not isinstance(priority, bool)) or not (
        1 <= priority <= 10
    ):
        problems.append(f"default_priority {priority!r} is not an integer 1-10")
    fields, model_problems = _payload_fields(entry.payload)
    problems.extend(model_problems)
    for what, template in (
        ("key_template", entry.key_template),
        ("ordering_template", entry.ordering_template),
    ):
        problems.extend(_template_problems(what, template, fields))
    if (entry.provider is None) != (entry.bucket is None):
        problems.append("provider and bucket go together: both, or neither")
    for what, value in (("provider", entry.provider), ("bucket", entry.bucket)):
        if value is not None and not (isinstance(value, str) and value):
            problems.append(f"{what} {value!r} is not a name")
    keep = entry.keep_succeeded
    if keep is not None and not (isinstance(keep, timedelta) and keep >= timedelta()):
        problems.append(f"keep_succeeded {keep!r} is not a duration of 0 or more")
    roles = entry.enqueue_roles
    if not (isinstance(roles, frozenset) and roles <= set(Role)):
        problems.append(f"enqueue_roles {roles!r} is not a frozenset of Role")
    elif entry.queue == "maintenance" and roles:
        problems.append("a maintenance job type may not be enqueued over HTTP")
    return problems


def _queue_problems(queue: object) -> list[str]:
    if not (isinstance(queue, str) and _QUEUE.match(queue)):
        return [f"queue {queue!r} is not lowercase letters, digits, '-' and '_'"]
    if len(queue.encode()) > _QUEUE_MAX_BYTES or queue.endswith("-queue"):
        return [f"queue {queue!r} is longer than 40 bytes or ends in -queue"]
    return []


def _payload_fields(payload: object) -> tuple[frozenset[str], list[str]]:
    # The model's top-level JSON keys, and why the database could not check it.
    if payload is None:
        return frozenset(), []
    if not (isinstance(payload, type) and issubclass(payload, Payload)):
        return frozenset(), [
            f"payload {payload!r} is not a subclass of app.domain.payloads.Payload"
        ]
    try:
        rules = field_rules(payload)
        one_of(payload)
    except ValueError as exc:
        return frozenset(), [
            f"payload {payload.__name__} cannot be checked on enqueue: {exc}"
        ]
    return frozenset(rule.field for rule in rules if rule.parent is None), []


def _template_problems(
    what: str, template: object, fields: frozenset[str]
) -> list[str]:
    if template is None:
        return []
    if not (isinstance(template, str) and _TEMPLATE.match(template)):
        return [
            f"{what} {template!r} is not text with {{field}} or {{a|b}} placeholders"
        ]
    named = {
        name for group in _PLACEHOLDER.findall(template) for name in group.split("|")
    }
    unknown = sorted(named - fields - _TEMPLATE_WORDS)
    if unknown:
        return [
            f"{what} {template!r} names {', '.join(unknown)}, not fields of the payload"
            f" model (fields: {', '.join(sorted(fields)) or 'none'})"
        ]
    return []


def find_plugins() -> tuple[LoadedPlugin, ...]:
    """Load and check the plugins installed on `sys.path`; add nothing to the catalogue.

    Raises:
        JobTypePluginError: naming the entry point whose plugin cannot be
            imported, is not a `JobTypePlugin`, breaks a rule, lacks a body
            path, or takes a name a built-in type or another plugin has.
    """
    found: list[LoadedPlugin] = []
    owners: dict[str, str] = dict.fromkeys(
        BUILT_IN, "a built-in job type of queue-service (app/domain/job_types.py)"
    )
    entry_points = sorted(
        metadata.entry_points(group=ENTRY_POINT_GROUP),
        key=lambda ep: (_distribution(ep), ep.name),
    )
    for entry_point in entry_points:
        named = f"{entry_point.name} = {entry_point.value}"
        distribution = _distribution(entry_point)
        plugin = _load(entry_point, _describe(named, distribution))
        loaded = LoadedPlugin(named, distribution, plugin)
        problems = _plugin_problems(loaded.plugin)
        if problems:
            raise JobTypePluginError(f"{loaded.describe()}: {'; '.join(problems)}")
        for job_type in loaded.plugin.job_types:
            owner = owners.get(job_type.name)
            if owner is not None:
                raise JobTypePluginError(
                    f"{loaded.describe()}: job type {job_type.name} is taken:"
                    f" it is {owner}"
                )
            owners[job_type.name] = f"a job type of {loaded.describe()}"
        found.append(loaded)
    return tuple(found)


def _distribution(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    if dist is None:
        return "an unknown distribution"
    return f"{dist.name} {dist.version}"


def _load(entry_point: metadata.EntryPoint, where: str) -> JobTypePlugin:
    try:
        plugin = entry_point.load()
    except Exception as exc:
        raise JobTypePluginError(
            f"{where} cannot be imported: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(plugin, JobTypePlugin):
        raise JobTypePluginError(
            f"{where} names a {type(plugin).__name__}, not an"
            " app.domain.job_type_plugins.JobTypePlugin"
        )
    return plugin


def _plugin_problems(plugin: JobTypePlugin) -> list[str]:
    # Read as plain objects: the plugin is another package's code, unchecked.
    job_types: object = plugin.job_types
    bodies: object = plugin.bodies
    if not (isinstance(job_types, list | tuple) and job_types):
        return ["job_types is not a non-empty list or tuple of JobType"]
    problems: list[str] = []
    names: list[str] = []
    for job_type in job_types:
        if not isinstance(job_type, JobType):
            problems.append(f"{job_type!r} is not an app.domain.job_types.JobType")
            continue
        names.append(job_type.name)
        problems.extend(
            f"job type {job_type.name}: {problem}"
            for problem in job_type_problems(job_type)
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        problems.append(f"job types listed twice: {', '.join(twice)}")
    if not isinstance(bodies, Mapping):
        return [*problems, "bodies is not a mapping of job type to 'module:function'"]
    for name in names:
        path = bodies.get(name)
        if path is None:
            problems.append(f"job type {name}: no task body in bodies")
        elif not (isinstance(path, str) and _BODY_PATH.match(path)):
            problems.append(f"job type {name}: body {path!r} is not 'module:function'")
    extra = sorted(set(map(str, bodies)) - set(names))
    if extra:
        problems.append(f"bodies for job types it does not define: {', '.join(extra)}")
    return problems


_loaded: tuple[LoadedPlugin, ...] | None = None


def load_job_type_plugins() -> tuple[LoadedPlugin, ...]:
    """Add every installed plugin's types to the catalogue, once per process.

    A second call returns the first one's plugins and loads nothing.

    Raises:
        JobTypePluginError: as `find_plugins`; the catalogue is then unchanged.
    """
    global _loaded
    if _loaded is None:
        found = find_plugins()
        extend_catalogue([t for loaded in found for t in loaded.plugin.job_types])
        _loaded = found
    return _loaded


def loaded_plugins() -> tuple[LoadedPlugin, ...]:
    """Return the plugins this process loaded (none before `load_job_type_plugins`)."""
    return _loaded or ()


def origin(job_type: str) -> str:
    """Say where a catalogued type comes from, for messages: built in, or its plugin."""
    for loaded in loaded_plugins():
        if any(t.name == job_type for t in loaded.plugin.job_types):
            return loaded.describe()
    return "built in" if job_type in BUILT_IN else "not catalogued"


__all__ = [
    "ENTRY_POINT_GROUP",
    "JobTypePlugin",
    "JobTypePluginError",
    "LoadedPlugin",
    "find_plugins",
    "job_type_problems",
    "load_job_type_plugins",
    "loaded_plugins",
    "origin",
]

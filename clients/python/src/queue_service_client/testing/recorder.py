"""What the recording clients share: the jobs they took, and the service's rules they follow."""

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import JsonValue, ValidationError

from queue_service_client.errors import (
    BatchRejected,
    IdempotencyKeyReused,
    InvalidDependency,
    InvalidJobData,
    JobTypeNotInQueue,
)
from queue_service_client.payloads import PAYLOAD_MODELS, Payload
from queue_service_client.schemas import (
    BatchCreated,
    BatchEntry,
    BatchEntryError,
    BatchMember,
    EnqueueArgs,
    EnqueuedJob,
    EnqueuedJobs,
    JobOptions,
    JobSpec,
    as_spec,
    job_options,
    resolve,
)
from queue_service_client.testing.matching import (
    contains,
    not_enqueued_message,
    show,
    type_name,
    wire_subset,
)

P = TypeVar("P", bound=Payload)

RecordedState = Literal["waiting", "completed", "failed", "cancelled"]

MAX_DEPTH = 32
# The old queue names the service still accepts.
_QUEUE_ALIASES = {
    "money-queue": "money",
    "communication-queue": "communication",
    "background-queue": "background",
}
# How many rounds run_inline goes on while handlers enqueue more of the type.
MAX_INLINE_ROUNDS = 10_000


@dataclasses.dataclass(frozen=True)
class RecordedJob:
    """A job a recording client took, and what has become of it."""

    job_id: int
    queue: str
    job_type: str
    data: Mapping[str, JsonValue]
    options: JobOptions
    idempotency_key: str | None = None
    request_id: str | None = None
    batch_id: int | None = None
    # A batch's callback: "complete" or "failure" of batch_id.
    callback: Literal["complete", "failure"] | None = None
    # Dependencies by job id, with their on_failure.
    depends_on: tuple[tuple[int, str], ...] = ()
    state: RecordedState = "waiting"
    error: BaseException | None = None

    def payload(self, model: type[P]) -> P:
        """Return the job's data as its payload model (by the wire's camelCase keys)."""
        return model.model_validate(self.data)


def _canonical_queue(queue: str) -> str:
    return _QUEUE_ALIASES.get(queue, queue)


def _pointer(location: Sequence[int | str], prefix: str) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in location]
    return prefix + "".join("/" + part for part in parts)


def _bounds_errors(data: object, prefix: str) -> list[dict[str, str]]:
    # The service's bounds of every payload: no NUL, at most 32 levels.
    stack: list[tuple[object, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        item, where = stack.pop()
        if len(where) > MAX_DEPTH:
            detail = f"nested deeper than {MAX_DEPTH} levels"
            return [{"detail": detail, "pointer": _pointer(where, prefix)}]
        if isinstance(item, str) and "\x00" in item:
            detail = "contains a NUL character (U+0000)"
            return [{"detail": detail, "pointer": _pointer(where, prefix)}]
        if isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str) and "\x00" in key:
                    detail = "has a key with a NUL character (U+0000)"
                    return [{"detail": detail, "pointer": _pointer(where, prefix)}]
                stack.append((child, (*where, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*where, i)) for i, child in enumerate(item))
    return []


def _data_errors(
    job_type: str, data: Mapping[str, JsonValue], prefix: str
) -> list[dict[str, str]]:
    found = _bounds_errors(data, prefix)
    model = PAYLOAD_MODELS.get(job_type)
    if found or model is None:
        return found
    try:
        model.model_validate(data)
    except ValidationError as exc:
        # The service keeps keys its model does not name; only this client's
        # models refuse them (to catch typos in code that builds them).
        return [
            {"detail": error["msg"], "pointer": _pointer(error["loc"], prefix)}
            for error in exc.errors(include_url=False)
            if error["type"] != "extra_forbidden"
        ]
    return []


class Recorder:
    """The state and rules both recording clients share: what the service would do with each job."""

    def __init__(self, *, first_job_id: int = 1) -> None:
        self._jobs: dict[int, RecordedJob] = {}
        self._ids = itertools.count(first_job_id)
        self._batch_ids = itertools.count(1)
        self._keys: dict[str, tuple[int, str]] = {}
        self._batch_keys: dict[str, tuple[BatchCreated, str]] = {}

    # What was recorded.

    @property
    def jobs(self) -> tuple[RecordedJob, ...]:
        """Every job recorded, in enqueue order."""
        return tuple(self._jobs.values())

    def enqueued(
        self, job_type: str | type[Payload] | None = None
    ) -> tuple[RecordedJob, ...]:
        """Return the jobs recorded, of one type if given, in enqueue order."""
        if job_type is None:
            return self.jobs
        name = type_name(job_type)
        return tuple(j for j in self._jobs.values() if j.job_type == name)

    def get(self, job_id: int) -> RecordedJob:
        """Return a recorded job by id.

        Raises:
            KeyError: no job has this id.
        """
        return self._jobs[job_id]

    def clear(self) -> None:
        """Forget every job, key and batch."""
        self._jobs.clear()
        self._keys.clear()
        self._batch_keys.clear()

    def assert_enqueued(
        self, job_type: str | type[Payload], /, **data_subset: object
    ) -> RecordedJob:
        """Assert a job of `job_type` whose data contains `data_subset` was enqueued; return it.

        Keys are a known type's attribute names (`user_id`) or wire keys
        (`userId`); values match as jsonb's `@>` does (objects by key, arrays
        by element).

        Raises:
            AssertionError: none was, listing the jobs of the type that were.
        """
        name = type_name(job_type)
        subset = wire_subset(name, data_subset)
        candidates = self.enqueued(name)
        for recorded in candidates:
            if contains(recorded.data, subset):
                return recorded
        raise AssertionError(
            not_enqueued_message(
                name,
                subset,
                [(j.job_id, j.data) for j in candidates],
                [j.job_type for j in self._jobs.values()],
            )
        )

    def refute_enqueued(
        self, job_type: str | type[Payload], /, **data_subset: object
    ) -> None:
        """Assert no job of `job_type` whose data contains `data_subset` was enqueued.

        Raises:
            AssertionError: one was, naming it.
        """
        name = type_name(job_type)
        subset = wire_subset(name, data_subset)
        for recorded in self.enqueued(name):
            if contains(recorded.data, subset):
                raise AssertionError(
                    f"a {name} job with data containing {show(subset)} was enqueued: "
                    f"job {recorded.job_id}: {show(recorded.data)}"
                )

    # Taking jobs.

    def _check(self, spec: JobSpec, prefix: str) -> list[dict[str, str]]:
        if spec.queue is None:
            raise ValueError(
                f"job type {spec.job_type!r} is not one this client knows: give its queue"
            )
        model = PAYLOAD_MODELS.get(spec.job_type)
        if model is not None and _canonical_queue(spec.queue) != model.QUEUE:
            raise JobTypeNotInQueue(
                f"job type {spec.job_type!r} belongs to queue {model.QUEUE!r}, "
                f"not {spec.queue!r}",
                status=400,
            )
        return _data_errors(spec.job_type, spec.data, prefix)

    def _dependencies(
        self, spec: JobSpec, ids_of_call: Sequence[int] | None
    ) -> tuple[tuple[int, str], ...]:
        found: list[tuple[int, str]] = []
        for dependency in spec.options.depends_on or ():
            if dependency.index is not None:
                if ids_of_call is None or dependency.index >= len(ids_of_call):
                    raise InvalidDependency(
                        f"depends_on index {dependency.index} names no earlier job "
                        "of an all-or-nothing call"
                    )
                found.append((ids_of_call[dependency.index], dependency.on_failure))
            elif dependency.job_id is not None:
                if dependency.job_id not in self._jobs:
                    raise InvalidDependency(
                        f"depends_on job {dependency.job_id} does not exist"
                    )
                found.append((dependency.job_id, dependency.on_failure))
        return tuple(found)

    def _record(
        self,
        spec: JobSpec,
        *,
        idempotency_key: str | None,
        request_id: str | None,
        ids_of_call: Sequence[int] | None = None,
        batch_id: int | None = None,
        callback: Literal["complete", "failure"] | None = None,
    ) -> tuple[RecordedJob, bool]:
        if spec.queue is None:
            raise ValueError(f"job type {spec.job_type!r} needs its queue")
        fingerprint = show(spec.member())
        if idempotency_key is not None and idempotency_key in self._keys:
            job_id, first = self._keys[idempotency_key]
            if first != fingerprint:
                raise IdempotencyKeyReused(
                    f"idempotency key already used for job {job_id} with a different request",
                    extras={"job_id": job_id},
                )
            return self._jobs[job_id], True
        recorded = RecordedJob(
            job_id=next(self._ids),
            queue=_canonical_queue(spec.queue),
            job_type=spec.job_type,
            data=spec.data,
            options=spec.options,
            idempotency_key=idempotency_key,
            request_id=request_id,
            batch_id=batch_id,
            callback=callback,
            depends_on=self._dependencies(spec, ids_of_call),
        )
        self._jobs[recorded.job_id] = recorded
        if idempotency_key is not None:
            self._keys[idempotency_key] = (recorded.job_id, fingerprint)
        return recorded, False

    def _enqueue(
        self,
        job_type_or_payload: str | Payload,
        data: Mapping[str, JsonValue] | None,
        args: EnqueueArgs,
    ) -> EnqueuedJob:
        job_type, payload, queue = resolve(job_type_or_payload, data, args.get("queue"))
        spec = JobSpec(
            job_type=job_type, data=payload, queue=queue, options=job_options(args)
        )
        errors = self._check(spec, "/data")
        if errors:
            raise _invalid(spec.job_type, errors)
        recorded, duplicate = self._record(
            spec,
            idempotency_key=args.get("idempotency_key"),
            request_id=args.get("request_id"),
        )
        return EnqueuedJob(
            job_id=recorded.job_id,
            queue=recorded.queue,
            job_type=recorded.job_type,
            status="duplicate" if duplicate else "queued",
            options=spec.options,
        )

    def _enqueue_many(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        queue: str | None,
        stop_on_error: bool,
        validate_all: bool,
        request_id: str | None,
    ) -> EnqueuedJobs:
        specs = [as_spec(item) for item in jobs]
        if queue is not None:
            specs = [spec.model_copy(update={"queue": queue}) for spec in specs]
        queues = {_canonical_queue(spec.queue or "") for spec in specs}
        if len(queues) != 1 or "" in queues:
            raise ValueError("POST /jobs/batch takes jobs of one queue: give queue=")
        checked = [
            (i, spec, self._check(spec, f"/jobs/{i}/data"))
            for i, spec in enumerate(specs)
        ]
        refused = [
            BatchEntryError(
                index=i,
                job_type=spec.job_type,
                error=_invalid(spec.job_type, errors).detail,
                errors=tuple(errors),
            )
            for i, spec, errors in checked
            if errors
        ]
        if stop_on_error and refused:
            shown = refused if validate_all else refused[:1]
            raise BatchRejected(
                f"{len(refused)} of {len(specs)} jobs are invalid; nothing was enqueued",
                extras={"errors": [e.to_wire() for e in shown]},
            )
        entries: list[BatchEntry] = []
        ids: list[int] = []
        for i, spec, errors in checked:
            if errors:
                continue
            recorded, duplicate = self._record(
                spec,
                idempotency_key=None,
                request_id=request_id,
                ids_of_call=ids if stop_on_error else None,
            )
            ids.append(recorded.job_id)
            entries.append(
                BatchEntry(
                    index=i,
                    job_id=recorded.job_id,
                    job_type=spec.job_type,
                    status="duplicate" if duplicate else "queued",
                )
            )
        (only,) = queues
        return EnqueuedJobs(
            queue=only,
            total=len(specs),
            successful=len(entries),
            failed=len(refused),
            jobs=tuple(entries),
            errors=tuple(refused),
        )

    def _create_batch(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        on_complete: JobSpec | Payload | None,
        on_failure: JobSpec | Payload | None,
        idempotency_key: str | None,
        request_id: str | None,
    ) -> BatchCreated:
        specs = [as_spec(item) for item in jobs]
        complete = as_spec(on_complete) if on_complete is not None else None
        failure = as_spec(on_failure) if on_failure is not None else None
        fingerprint = show(
            [s.member() for s in specs]
            + [c.member() if c else None for c in (complete, failure)]
        )
        if idempotency_key is not None and idempotency_key in self._batch_keys:
            made, first = self._batch_keys[idempotency_key]
            if first != fingerprint:
                raise IdempotencyKeyReused(
                    "idempotency key already used for another batch"
                )
            return made
        errors = [
            error
            for i, spec in enumerate(specs)
            for error in self._check(spec, f"/jobs/{i}/data")
        ]
        for name, callback in (("onComplete", complete), ("onFailure", failure)):
            if callback is not None:
                errors.extend(self._check(callback, f"/{name}/data"))
        if errors:
            raise InvalidJobData(
                "invalid data: "
                + "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors),
                extras={"errors": errors},
            )
        batch_id = next(self._batch_ids)
        ids: list[int] = []
        members: list[BatchMember] = []
        for i, spec in enumerate(specs):
            recorded, duplicate = self._record(
                spec,
                idempotency_key=None,
                request_id=request_id,
                ids_of_call=ids,
                batch_id=batch_id,
            )
            ids.append(recorded.job_id)
            members.append(
                BatchMember(
                    index=i,
                    job_id=recorded.job_id,
                    status="duplicate" if duplicate else "queued",
                )
            )
        callbacks: tuple[tuple[Literal["complete", "failure"], JobSpec | None], ...] = (
            ("complete", complete),
            ("failure", failure),
        )
        for kind, callback in callbacks:
            if callback is not None:
                self._record(
                    callback,
                    idempotency_key=None,
                    request_id=request_id,
                    batch_id=batch_id,
                    callback=kind,
                )
        made = BatchCreated(batch_id=batch_id, jobs=tuple(members))
        if idempotency_key is not None:
            self._batch_keys[idempotency_key] = (made, fingerprint)
        return made

    # Running jobs.

    def _set(self, job_id: int, **changes: Any) -> RecordedJob:
        updated = dataclasses.replace(self._jobs[job_id], **changes)
        self._jobs[job_id] = updated
        return updated

    def _settle(self) -> None:
        # Dependants of failed or cancelled jobs, and batch callbacks whose
        # batch has decided, as the service resolves them when a job ends.
        changed = True
        while changed:
            changed = False
            for recorded in list(self._jobs.values()):
                if recorded.state != "waiting":
                    continue
                for dependency_id, on_failure in recorded.depends_on:
                    ended = self._jobs[dependency_id].state
                    if on_failure == "fail" and ended in ("failed", "cancelled"):
                        self._set(
                            recorded.job_id,
                            state="failed" if ended == "failed" else "cancelled",
                        )
                        changed = True
                        break
                if (
                    recorded.callback == "failure"
                    and self._batch_ended(recorded.batch_id)
                    and not self._batch_failed(recorded.batch_id)
                ):
                    self._set(recorded.job_id, state="cancelled")
                    changed = True

    def _members(self, batch_id: int | None) -> list[RecordedJob]:
        return [
            j
            for j in self._jobs.values()
            if j.batch_id == batch_id and j.callback is None
        ]

    def _batch_ended(self, batch_id: int | None) -> bool:
        return all(j.state != "waiting" for j in self._members(batch_id))

    def _batch_failed(self, batch_id: int | None) -> bool:
        return any(j.state == "failed" for j in self._members(batch_id))

    def _runnable(self, recorded: RecordedJob) -> bool:
        if recorded.state != "waiting":
            return False
        if any(self._jobs[d].state == "waiting" for d, _ in recorded.depends_on):
            return False
        if recorded.callback == "complete":
            return self._batch_ended(recorded.batch_id)
        if recorded.callback == "failure":
            return self._batch_failed(recorded.batch_id)
        return True

    def _next_runnable(self, job_type: str) -> RecordedJob | None:
        self._settle()
        return next(
            (
                j
                for j in self._jobs.values()
                if j.job_type == job_type and self._runnable(j)
            ),
            None,
        )


def _invalid(job_type: str, errors: list[dict[str, str]]) -> InvalidJobData:
    summary = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors)
    return InvalidJobData(
        f"invalid data for job type {job_type}: {summary}", extras={"errors": errors}
    )


def handler_argument(recorded: RecordedJob, job_type: str | type[Payload]) -> object:
    """Return what a run_inline handler gets: the job as a model, or the recorded job."""
    if isinstance(job_type, str):
        return recorded
    return recorded.payload(job_type)

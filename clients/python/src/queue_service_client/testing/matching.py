"""Matching recorded job data against a subset, and the messages of a failed match.

Internal to `queue_service_client.testing`: both the recording clients and the
database assertions match as jsonb's `@>` does and word failures alike.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue
from pydantic_core import to_jsonable_python

from queue_service_client.payloads import PAYLOAD_MODELS, Payload


def contains(value: object, subset: object) -> bool:
    """Return whether `value` contains `subset`: jsonb's `@>`.

    Objects by key, arrays by element, scalars by equality.
    """
    if isinstance(subset, Mapping):
        return isinstance(value, Mapping) and all(
            key in value and contains(value[key], item) for key, item in subset.items()
        )
    if isinstance(subset, list):
        return isinstance(value, list) and all(
            any(contains(element, wanted) for element in value) for wanted in subset
        )
    if isinstance(value, bool) or isinstance(subset, bool):
        return type(value) is type(subset) and value == subset
    return bool(value == subset)


def wire_subset(job_type: str, subset: Mapping[str, object]) -> dict[str, Any]:
    """Return a data subset by wire keys, with JSON values.

    Attribute names of a known type's model (`user_id`) are its wire keys
    (`userId`); values go to JSON (UUIDs, datetimes, models).
    """
    model = PAYLOAD_MODELS.get(job_type)
    keys: Mapping[str, str] = {}
    if model is not None:
        keys = {name: field.alias or name for name, field in model.model_fields.items()}
    return {
        keys.get(key, key): to_jsonable_python(value, by_alias=True)
        for key, value in subset.items()
    }


def type_name(job_type: str | type[Payload]) -> str:
    """Return the job type a payload model class or a name stands for."""
    return job_type if isinstance(job_type, str) else job_type.JOB_TYPE


def show(value: object) -> str:
    """Return a value as compact, sorted JSON, for messages."""
    return json.dumps(value, sort_keys=True, default=str)


def mismatch(data: Mapping[str, JsonValue], subset: Mapping[str, Any]) -> str:
    """Say how `data` differs from `subset`, key by key."""
    differences = []
    for key, wanted in subset.items():
        if key not in data:
            differences.append(f"{key} missing")
        elif not contains(data[key], wanted):
            differences.append(f"{key}: {show(data[key])} != {show(wanted)}")
    return "; ".join(differences)


def not_enqueued_message(
    job_type: str,
    subset: Mapping[str, Any],
    candidates: Sequence[tuple[int, Mapping[str, JsonValue]]],
    others: Sequence[str],
) -> str:
    """Say that no job matched, listing the jobs of the type (or the types enqueued)."""
    wanted = f"data containing {show(subset)}" if subset else "any data"
    lines = [f"no {job_type} job with {wanted} was enqueued"]
    if candidates:
        lines.append(f"{job_type} jobs enqueued ({len(candidates)}):")
        lines.extend(
            f"  job {job_id}: {show(data)}  ({mismatch(data, subset)})"
            for job_id, data in candidates[:20]
        )
    else:
        lines.append(
            "jobs enqueued: " + (", ".join(sorted(set(others))) if others else "none")
        )
    return "\n".join(lines)

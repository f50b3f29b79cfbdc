"""The base of every API body: snake_case in Python, camelCase on the wire."""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic.config import ExtraValues

# Names as the catalogue and queue.queues allow them (the same checks as
# queue.job_types' and app.domain.payloads.QueueName), so a name that can
# never exist is a 422 with a pointer, not a lookup.
JOB_TYPE_PATTERN = r"^[a-z][a-z0-9-]*$"
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class Schema(BaseModel):
    """Base of every body: camelCase keys on the wire, unknown keys refused.

    Python builds and reads a body by its snake_case attribute names
    (`Job(max_attempts=3)`, `data.stop_on_error`); each field's alias is its
    camelCase wire name (`maxAttempts`), given explicitly where the Python name
    differs (`job_type` is `type`). Litestar dumps responses by alias and the
    OpenAPI document names the aliases (the app's pydantic plugin prefers them).

    A body read from a request (`model_validate`, which Litestar calls) is
    matched by alias only, so the wire is exactly the old service's: a
    snake_case key is an unknown field and refused (422), not a synonym.
    """

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    @classmethod
    def from_row(cls, row: object) -> Self:
        """Return the body of a row whose attributes have the body's snake_case names."""
        return cls.model_validate(
            row, from_attributes=True, by_alias=False, by_name=True
        )

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """Validate a body from the wire: camelCase keys only, unless told otherwise."""
        return super().model_validate(
            obj,
            strict=strict,
            extra=extra,
            from_attributes=from_attributes,
            context=context,
            by_alias=True if by_alias is None else by_alias,
            by_name=False if by_name is None else by_name,
        )

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """Validate a JSON body from the wire: camelCase keys only, unless told otherwise."""
        return super().model_validate_json(
            json_data,
            strict=strict,
            extra=extra,
            context=context,
            by_alias=True if by_alias is None else by_alias,
            by_name=False if by_name is None else by_name,
        )

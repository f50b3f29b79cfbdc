"""What the OpenAPI document says besides each operation's success.

Every operation documents the problems it may answer, as
`application/problem+json` (`app.api.problems` renders them): the ones any
authenticated operation may meet (`COMMON`) and those of its own (404, 409).
Bodies refuse unknown fields, and their schemas say so
(`additionalProperties: false`), so a client generated from the document
sends what the server takes.
"""

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import annotated_types
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation, RequestBody, Schema
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.typing import FieldDefinition
from pydantic import BaseModel, ConfigDict


class FieldProblem(BaseModel):
    """One refused field: what is wrong, and where (a JSON pointer)."""

    detail: str
    pointer: str


class BatchJobProblem(BaseModel):
    """A refused job of a batch: its index, type, why, and its fields' problems."""

    index: int
    type: str
    error: str
    errors: list[FieldProblem] = []


class ProblemBody(BaseModel):
    """RFC 9457 problem details, as every error is answered.

    Open: a problem adds the members of its type (`job_id`, `schedule`, ...).
    """

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    # A field's problems; for a refused batch, each refused job's.
    errors: list[FieldProblem | BatchJobProblem] | None = None


_DESCRIPTIONS = {
    400: "The request cannot be taken (unknown job type, queue or rule; bad JSON).",
    401: "No valid bearer token.",
    403: "The token's role may not do this.",
    404: "No such job, queue, schedule, alert or limit.",
    409: "The request conflicts with the resource's state or an idempotency key.",
    413: "The body is larger than the service takes.",
    422: "A field is invalid; `errors` points at each.",
    429: "Too many requests from this caller; see Retry-After.",
    503: "The database is unavailable; retry after Retry-After.",
}
COMMON = (400, 401, 403, 413, 422, 429, 503)


def problems(
    *own: int,
    common: tuple[int, ...] = COMMON,
    described: Mapping[int, str] | None = None,
) -> dict[int, ResponseSpec]:
    """The problem responses of an operation: `common`, and its `own` statuses.

    `described` words a status for this operation where the shared
    description does not fit it (an operation without a token has no 403 of
    roles).
    """
    return {
        status: ResponseSpec(
            data_container=ProblemBody,
            description=(described or {}).get(status, _DESCRIPTIONS[status]),
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in sorted({*common, *own})
    }


@dataclass
class OptionalBodyOperation(Operation):
    """An operation whose body may be left out (its handler has a default)."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


# Bounds Litestar leaves out when they are zero (it tests them for truth).
_ZERO_BOUNDS = (
    (annotated_types.Ge, "ge", "minimum"),
    (annotated_types.Gt, "gt", "exclusive_minimum"),
    (annotated_types.Le, "le", "maximum"),
    (annotated_types.Lt, "lt", "exclusive_maximum"),
)


class ClosedBodiesSchemaPlugin(PydanticSchemaPlugin):
    """Pydantic's schemas, closed where a model forbids extras, with every bound.

    Litestar 2 leaves out a bound of zero and a field's `pattern`; both are
    put back from the model's own field metadata. A model whose extra keys
    are typed (`__pydantic_extra__: dict[str, Model]`, a body keyed by a
    name) says what each extra key holds, which Litestar 2 leaves out too.
    """

    @classmethod
    def for_pydantic_model(
        cls, field_definition: FieldDefinition, schema_creator: Any
    ) -> Schema:
        """The model's schema; closed when its config says `extra="forbid"`."""
        schema = super().for_pydantic_model(field_definition, schema_creator)
        model = field_definition.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return schema
        if model.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        extra = typing.get_type_hints(model).get("__pydantic_extra__")
        if (
            model.model_config.get("extra") == "allow"
            and typing.get_origin(extra) is dict
        ):
            _, value = typing.get_args(extra)
            schema.additional_properties = schema_creator.for_field_definition(
                FieldDefinition.from_annotation(value)
            )
        for name, field in model.model_fields.items():
            prop = (schema.properties or {}).get(field.alias or name)
            if not isinstance(prop, Schema):
                continue
            for bound in field.metadata:
                for kind, attribute, key in _ZERO_BOUNDS:
                    if isinstance(bound, kind) and getattr(bound, attribute) == 0:
                        setattr(prop, key, 0)
                # Litestar does not carry pydantic's `pattern` over.
                pattern = getattr(bound, "pattern", None)
                if isinstance(pattern, str) and prop.pattern is None:
                    prop.pattern = pattern
        return schema

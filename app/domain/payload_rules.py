"""A payload model as field rules the database checks on enqueue.

The enqueue path (`queue.enqueue_jobs`) cannot run pydantic, so `migrate`
writes each catalogued model into `queue.payload_fields` as one rule per
top-level field, read off the model's JSON Schema: its JSON type, whether it
is required or may be null, lengths, bounds, choices and pattern. Formats
become the patterns of `app.domain.formats`, which the models check too, so
both sides give the same verdict on the same data.

Payloads are flat: a field is a scalar or a free object (`metadata`), so
top-level rules are the whole model. What spans fields (a seat or a ticket)
is the model's `ONE_OF`.
"""

import dataclasses
from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices
from pydantic_extra_types.currency_code import ISO4217

from app.domain import formats
from app.domain.payloads import Payload

_FORMAT_PATTERNS = {
    "uuid": formats.UUID,
    "uri": formats.HTTP_URL,
    "date-time": formats.TIMESTAMP,
}
_KINDS = {"string", "integer", "number", "boolean", "object", "array"}


@dataclass(frozen=True)
class FieldRule:
    """What one field of `data` must be; the columns of `queue.payload_fields`."""

    position: int
    field: str
    aliases: tuple[str, ...]
    required: bool
    nullable: bool
    kind: str
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple[str, ...] | None = None
    # The choices are matched in any case (currency codes: "usd" is USD).
    choices_any_case: bool = False
    is_timestamp: bool = False


def field_rules(model: type[Payload]) -> list[FieldRule]:
    """The rules of every field of `model`, in the model's order.

    Raises:
        ValueError: a field has a shape the database cannot check (a nested
            model, a union of two types): the model must stay flat.
    """
    schema = model.model_json_schema(by_alias=True, mode="validation")
    required = set(schema.get("required", ()))
    rules = []
    for position, (name, field) in enumerate(model.model_fields.items()):
        names = _wire_names(name, field.validation_alias, field.alias)
        if len(names) > 3:
            # queue.payload_field_value reads two aliases, inlined.
            raise ValueError(f"{model.__name__}.{name}: at most two old names")
        prop = schema["properties"][names[0]]
        options = prop.get("anyOf", [prop])
        nullable = any(option.get("type") == "null" for option in options)
        typed = [option for option in options if option.get("type") != "null"]
        if len(typed) != 1:
            raise ValueError(f"{model.__name__}.{name}: one JSON type expected")
        rule = _rule(position, names, names[0] in required, nullable, typed[0])
        if field.annotation is ISO4217:
            rule = dataclasses.replace(rule, choices_any_case=True)
        rules.append(rule)
    return rules


def _wire_names(name: str, validation_alias: Any, alias: str | None) -> tuple[str, ...]:
    if isinstance(validation_alias, AliasChoices):
        return tuple(str(choice) for choice in validation_alias.choices)
    if isinstance(validation_alias, str):
        return (validation_alias,)
    return (alias or name,)


def _rule(
    position: int,
    names: tuple[str, ...],
    required: bool,
    nullable: bool,
    prop: dict[str, Any],
) -> FieldRule:
    # A nested model ($ref) is checked for being an object; its inside by
    # the model, when the job runs.
    kind = "object" if "$ref" in prop else prop.get("type", "any")
    if kind not in _KINDS:
        kind = "any"
    fmt = prop.get("format")
    pattern = prop.get("pattern") or _FORMAT_PATTERNS.get(fmt or "")
    choices = prop.get("enum")
    if "const" in prop:
        choices = [prop["const"]]
    return FieldRule(
        position=position,
        field=names[0],
        aliases=names[1:],
        required=required,
        nullable=nullable,
        kind=kind,
        min_length=prop.get("minLength"),
        max_length=prop.get("maxLength")
        or (formats.HTTP_URL_MAX_LENGTH if fmt == "uri" else None),
        pattern=pattern,
        minimum=prop.get("minimum"),
        maximum=prop.get("maximum"),
        exclusive_minimum=prop.get("exclusiveMinimum"),
        exclusive_maximum=prop.get("exclusiveMaximum"),
        choices=tuple(str(choice) for choice in choices) if choices else None,
        is_timestamp=fmt == "date-time",
    )


def one_of(model: type[Payload]) -> list[list[str]] | None:
    """The model's groups of fields of which one must be present in full, if any."""
    groups = getattr(model, "ONE_OF", ())
    return [list(group) for group in groups] or None

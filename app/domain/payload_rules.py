"""A payload model as field rules the database checks on enqueue.

The enqueue path (`queue.enqueue_jobs`) cannot run pydantic, so `migrate`
writes each catalogued model into `queue.payload_fields` as one rule per
top-level field, read off the model's JSON Schema: its JSON type, whether it
is required or may be null, lengths, bounds, choices and pattern. Formats
become the patterns of `app.domain.formats`, which the models check too, so
both sides give the same verdict on the same data.

Payloads are nearly flat: a field is a scalar, a free object (`metadata`),
or a model of scalars (stripe-event's `object`), whose fields get rules of
their own read inside it. What spans fields (a seat or a ticket) is the
model's `ONE_OF`, over top-level fields without old names (the database
reads the groups by their keys).
"""

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
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
    # The top-level field a nested model's field is read in.
    parent: str | None = None


def field_rules(model: type[Payload]) -> list[FieldRule]:
    """The rules of every field of `model`, in the model's order.

    A field that is a model (stripe-event's `object`) is followed by the
    rules of its own fields, with `parent` naming it.

    Raises:
        ValueError: a field has a shape the database cannot check (a union
            of two types, a model inside a nested model, aliases on a nested
            model or its fields): the model must stay that flat.
    """
    rules: list[FieldRule] = []
    for field in _fields(model):
        rules.append(_rule(len(rules), field))
        nested = _nested_model(field.info.annotation)
        if nested is None:
            continue
        if field.aliases:
            raise ValueError(
                f"{model.__name__}.{field.name}: a nested model has no old names"
            )
        for inner in _fields(nested):
            if inner.aliases or _nested_model(inner.info.annotation):
                raise ValueError(
                    f"{model.__name__}.{field.name}.{inner.name}: nested fields are"
                    " plain, without old names"
                )
            rules.append(
                dataclasses.replace(_rule(len(rules), inner), parent=field.key)
            )
    return rules


@dataclass(frozen=True)
class _WireField:
    """A model's field as its JSON Schema has it."""

    name: str
    info: FieldInfo
    key: str  # the name on the wire
    aliases: tuple[str, ...]  # older names on the wire
    required: bool
    nullable: bool
    prop: dict[str, Any]  # the schema of its one JSON type


def _fields(model: type[BaseModel]) -> Iterator[_WireField]:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    required = set(schema.get("required", ()))
    for name, info in model.model_fields.items():
        names = _wire_names(name, info.validation_alias, info.alias)
        if len(names) > 3:
            # queue.payload_field_value reads two aliases, inlined.
            raise ValueError(f"{model.__name__}.{name}: at most two old names")
        prop = schema["properties"][names[0]]
        options = prop.get("anyOf", [prop])
        nullable = any(option.get("type") == "null" for option in options)
        typed = [option for option in options if option.get("type") != "null"]
        if len(typed) != 1:
            raise ValueError(f"{model.__name__}.{name}: one JSON type expected")
        yield _WireField(
            name, info, names[0], names[1:], names[0] in required, nullable, typed[0]
        )


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _wire_names(name: str, validation_alias: Any, alias: str | None) -> tuple[str, ...]:
    if isinstance(validation_alias, AliasChoices):
        return tuple(str(choice) for choice in validation_alias.choices)
    if isinstance(validation_alias, str):
        return (validation_alias,)
    return (alias or name,)


def _rule(position: int, field: _WireField) -> FieldRule:
    prop = field.prop
    # A nested model ($ref) is checked here for being an object; its fields
    # by rules of their own.
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
        field=field.key,
        aliases=field.aliases,
        required=field.required,
        nullable=field.nullable,
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
        # Currency codes are matched in any case ("usd" is USD).
        choices_any_case=field.info.annotation is ISO4217,
    )


def one_of(model: type[Payload]) -> list[list[str]] | None:
    """The model's groups of fields of which one must be present in full, if any.

    Raises:
        ValueError: a group names a field that has old names, or none of the
            model's: the database reads the groups by these keys alone.
    """
    groups = getattr(model, "ONE_OF", ())
    plain = {rule.field for rule in field_rules(model) if not rule.aliases}
    for group in groups:
        if not set(group) <= plain:
            raise ValueError(
                f"{model.__name__}.ONE_OF: {sorted(set(group) - plain)} are not"
                " top-level fields without old names"
            )
    return [list(group) for group in groups] or None

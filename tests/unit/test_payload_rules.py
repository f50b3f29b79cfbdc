"""The payload models as rules the database can check: what fits, what is refused."""

from typing import ClassVar

import pytest
from pydantic import AliasChoices, BaseModel, Field

from app.domain.payload_rules import field_rules, one_of
from app.domain.payloads import Payload


class Inner(BaseModel):
    kind: str = Field(pattern="^[a-z]+$")
    size: int | None = Field(default=None, ge=0)


class WithInner(Payload):
    name: str
    inner: Inner


def test_a_nested_model_s_fields_follow_it_read_in_it():
    rules = field_rules(WithInner)
    assert [(r.position, r.parent, r.field, r.kind) for r in rules] == [
        (0, None, "callbackUrl", "string"),
        (1, None, "name", "string"),
        (2, None, "inner", "object"),
        (3, "inner", "kind", "string"),
        (4, "inner", "size", "integer"),
    ]
    assert (rules[3].required, rules[3].pattern) == (True, "^[a-z]+$")
    assert (rules[4].required, rules[4].nullable, rules[4].minimum) == (
        False,
        True,
        0,
    )


class Deeper(BaseModel):
    inner: Inner


class TooDeep(Payload):
    outer: Deeper


class OldNamedInner(BaseModel):
    kind: str = Field(validation_alias=AliasChoices("kind", "type"))


class InnerWithOldNames(Payload):
    inner: OldNamedInner


class OldNamedParent(Payload):
    inner: Inner = Field(validation_alias=AliasChoices("inner", "nested"))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (TooDeep, "TooDeep.outer.inner: nested fields are plain"),
        (InnerWithOldNames, "InnerWithOldNames.inner.kind: nested fields are plain"),
        (OldNamedParent, "OldNamedParent.inner: a nested model has no old names"),
    ],
)
def test_what_the_database_cannot_read_stops_migrate(model, message):
    with pytest.raises(ValueError, match=message):
        field_rules(model)


class SeatOrTicket(Payload):
    seat_id: str | None = Field(
        default=None, validation_alias=AliasChoices("seatId", "seat")
    )
    ticket_id: str | None = None
    ONE_OF: ClassVar = (("seatId",), ("ticketId",))


def test_a_group_may_not_name_a_field_with_old_names():
    # The database reads the groups by their keys: `seat` would pass the
    # model and fail the database.
    with pytest.raises(ValueError, match=r"\['seatId'\] are not top-level fields"):
        one_of(SeatOrTicket)

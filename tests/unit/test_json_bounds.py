"""app.domain.json_bounds: payload bounds every job type meets."""

import pytest

from app.domain.errors import PayloadInvalid
from app.domain.job_types import validate_payload
from app.domain.json_bounds import MAX_DEPTH, check_json_bounds


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def test_nul_in_a_string_is_refused_with_its_pointer():
    with pytest.raises(PayloadInvalid) as caught:
        check_json_bounds({"properties": {"tags": ["ok", "x\x00"]}})
    assert caught.value.errors == [
        {
            "detail": "contains a NUL character (U+0000)",
            "pointer": "/data/properties/tags/1",
        }
    ]


def test_nul_in_a_key_is_refused():
    with pytest.raises(PayloadInvalid) as caught:
        check_json_bounds({"properties": {"a\x00b": 1}})
    assert caught.value.errors[0]["pointer"] == "/data/properties"
    assert "key" in caught.value.errors[0]["detail"]


def test_nesting_up_to_the_bound_passes_and_one_more_level_is_refused():
    check_json_bounds(nested(MAX_DEPTH))
    with pytest.raises(PayloadInvalid) as caught:
        check_json_bounds(nested(MAX_DEPTH + 1))
    assert f"deeper than {MAX_DEPTH}" in caught.value.errors[0]["detail"]


def test_a_hostile_depth_is_refused_without_recursion():
    # 100,000 levels would overflow any recursive walk.
    with pytest.raises(PayloadInvalid):
        check_json_bounds(nested(100_000))


def test_every_job_type_gets_the_bounds_even_without_a_model():
    with pytest.raises(PayloadInvalid):
        validate_payload("cleanup-old-data", {"note": "\x00"})
    with pytest.raises(PayloadInvalid):
        validate_payload("no-such-type", nested(MAX_DEPTH + 1))

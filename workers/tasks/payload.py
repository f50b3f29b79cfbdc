"""Turning a job's kwargs into its payload model, on the task's first line."""

from typing import Any, TypeVar

from pydantic import ValidationError

from app.domain.errors import PayloadInvalid, PermanentTaskError
from app.domain.json_bounds import check_json_bounds
from app.domain.payloads import Payload, json_pointer

P = TypeVar("P", bound=Payload)


def load_payload(model: type[P], data: Any) -> P:
    """Validate the job's data; a bad payload fails the job at once, without retries.

    Jobs enqueued through SQL are not validated by Python before they run, so a
    worker must not trust them.

    Raises:
        PermanentTaskError: naming each bad field by its JSON pointer.
    """
    if not isinstance(data, dict):
        raise PermanentTaskError(
            f"invalid payload: data must be a JSON object, got {type(data).__name__}"
        )
    try:
        # The bounds of every payload (no NUL, limited nesting): a document
        # nested hundreds deep would overflow what reads it after this line.
        check_json_bounds(data)
    except PayloadInvalid as exc:
        raise PermanentTaskError(f"invalid payload: {exc.detail}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(
            f"{json_pointer(error['loc'], '/data')}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise PermanentTaskError(f"invalid payload: {fields}") from None

"""Bounds every job payload meets, whatever its type: no NUL, limited nesting.

PostgreSQL's jsonb cannot hold U+0000 (SQLSTATE 22P05), and a deeply nested
document overflows recursive readers (the worker's JSON decoding, Python's
`json`, pydantic) long before it reaches the database. Both are refused here,
with the pointer of the offending value, before a job joins a batch where its
error would take the others down. The walk is iterative: a hostile document
cannot make this check itself recurse.
"""

from app.domain.errors import PayloadInvalid
from app.domain.payloads import json_pointer

MAX_DEPTH = 32


def check_json_bounds(value: object, *, pointer_prefix: str = "/data") -> None:
    """Refuse NUL characters in strings and keys, and nesting deeper than MAX_DEPTH.

    Raises:
        PayloadInvalid: naming the first offending value by its JSON pointer.
    """
    stack: list[tuple[object, tuple[int | str, ...]]] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if len(where) > MAX_DEPTH:
            _refuse(f"nested deeper than {MAX_DEPTH} levels", where, pointer_prefix)
        if isinstance(item, str):
            if "\x00" in item:
                _refuse("contains a NUL character (U+0000)", where, pointer_prefix)
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and "\x00" in key:
                    _refuse(
                        "has a key with a NUL character (U+0000)", where, pointer_prefix
                    )
                stack.append((child, (*where, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*where, index)) for index, child in enumerate(item))


def _refuse(detail: str, where: tuple[int | str, ...], prefix: str) -> None:
    # A key with NUL is named by its parent: the key itself cannot be shown.
    pointer = json_pointer(
        tuple(str(part).replace("\x00", "\\u0000") for part in where), prefix
    )
    raise PayloadInvalid(
        f"{pointer}: {detail}", errors=[{"detail": detail, "pointer": pointer}]
    )

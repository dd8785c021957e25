"""Typed records at the JSON boundary: frozen dataclasses inside the toolkit, plain JSON only where a record is
written or read."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, Union

R = TypeVar("R")


def to_json(record: Any) -> Any:
    """``record`` as JSON-ready values: a dataclass as an object of its fields in their order (a field that is None
    is left out: it has nothing to say), tuples as lists, everything else as it is."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        fields = ((f.name, getattr(record, f.name)) for f in dataclasses.fields(record))
        return {name: to_json(value) for name, value in fields if value is not None}
    if isinstance(record, (list, tuple)):
        return [to_json(value) for value in record]
    if isinstance(record, dict):
        return {key: to_json(value) for key, value in record.items()}
    return record


def from_json(kind: type[R], data: Any) -> R:
    """The record of type ``kind`` that :func:`to_json` wrote as ``data`` (nested records and tuples rebuilt)."""
    return _decode(kind, data)


def _decode(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(kind) if f.name in data})
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return _decode(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        args = typing.get_args(kind)
        items = args[:1] * len(data) if len(args) == 2 and args[1] is Ellipsis else args
        return tuple(_decode(a, v) for a, v in zip(items, data))
    return data

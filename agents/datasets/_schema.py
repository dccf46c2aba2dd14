"""Small helpers shared by the loaders: read JSON and check fields with clear errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Tuple, Type, Union

from vlnsim.errors import DatasetFormatError

PathLike = Union[str, Path]


def read_json(path: PathLike, schema: str) -> Any:
    """Parse a JSON file; a missing or unparsable file raises with its path and the expected schema."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(f"{path}: no such file; expected a {schema} JSON file")
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetFormatError(f"{path}: not valid JSON ({exc}); expected a {schema} file") from None


def field(obj: Any, key: str, types: Union[Type, Tuple[Type, ...]], path: PathLike, where: str, schema: str) -> Any:
    """``obj[key]`` checked for presence and type; errors name the file, the location and the field."""
    if not isinstance(obj, dict):
        raise DatasetFormatError(f"{path}: {where} is {type(obj).__name__}; expected an object ({schema} schema)")
    if key not in obj:
        raise DatasetFormatError(f"{path}: {where} has no field {key!r}; expected the {schema} schema")
    value = obj[key]
    # bool is an int subclass; an id given as true/false is a schema error.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        names = "/".join(t.__name__ for t in _as_tuple(types))
        raise DatasetFormatError(
            f"{path}: {where}.{key} is {type(value).__name__} {_short(value)}; expected {names} ({schema} schema)"
        )
    return value


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

"""Nested plain values, as read from YAML or JSON, into checked dataclasses.

`config_from_dict` walks a dataclass's type hints: every key must be a field, and every value
must fit its annotation (a nested dataclass, `X | None`, `Literal`, `list`, `tuple`, `dict`, or
a scalar). What does not is refused with one line that names the dotted key, and for a
misspelt key the closest known one.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from a2sb.errors import A2SBInputError


def config_from_dict(config_class: type, values: Mapping[str, Any], prefix: str = "") -> Any:
    """Build the dataclass `config_class` from nested plain values, checking keys and types.

    Args:
        config_class: a dataclass type (a2sb.training.config's, `TrainingMaskSampler`,
            `EndpointFill`).
        values: its fields as read from YAML/JSON.
        prefix: the dotted path of `values` in the whole configuration (for messages).
    """
    if not isinstance(values, Mapping):
        raise A2SBInputError(
            f"config key {prefix.rstrip('.') or '(top level)'} must be a mapping of keys to "
            f"values, got {values!r}"
        )
    hints = typing.get_type_hints(config_class)
    known = [item.name for item in dataclasses.fields(config_class)]
    for key in values:
        if key not in known:
            raise A2SBInputError(_unknown_key_message(f"{prefix}{key}", key, known, prefix))
    arguments = {
        key: _value_as(value, hints[key], f"{prefix}{key}") for key, value in values.items()
    }
    return config_class(**arguments)


def _unknown_key_message(full_key: str, key: str, known: list[str], prefix: str) -> str:
    group = prefix.rstrip(".") or "the top level"
    message = f"unknown config key {full_key!r}"
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        message += f"; did you mean {prefix + close[0]!r}?"
    return f"{message} (keys of {group}: {', '.join(known)})"


def _value_as(value: Any, annotation: Any, key: str) -> Any:
    """Check `value` against a type annotation and convert it (lists to tuples, ints to floats)."""
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if dataclasses.is_dataclass(annotation):
        return config_from_dict(annotation, value if value is not None else {}, f"{key}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        return _value_as(value, inner, key)
    if origin is Literal:
        if value not in arguments:
            choices = ", ".join(repr(choice) for choice in arguments)
            raise A2SBInputError(f"config key {key} is {value!r}; choose one of {choices}")
        return value
    if origin is list:
        items = value if isinstance(value, list | tuple) else [value]
        return [
            _value_as(item, arguments[0], f"{key}[{index}]") for index, item in enumerate(items)
        ]
    if origin is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(arguments):
            raise A2SBInputError(
                f"config key {key} must be a list of {len(arguments)} values, got {value!r}"
            )
        return tuple(
            _value_as(item, argument, f"{key}[{index}]")
            for index, (item, argument) in enumerate(zip(value, arguments, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise A2SBInputError(f"config key {key} must be a mapping, got {value!r}")
        return dict(value)
    return _scalar_as(value, annotation, key)


def _scalar_as(value: Any, annotation: type, key: str) -> Any:
    if annotation is bool and isinstance(value, bool):
        return value
    if annotation is int and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    if annotation is float and not isinstance(value, bool):
        # YAML 1.1 reads 8e-5 (no decimal point) as a string.
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if math.isfinite(number):
            return number
    if annotation is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise A2SBInputError(
        f"config key {key} must be {_TYPE_NAMES.get(annotation, annotation)}, got {value!r}"
    )


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}

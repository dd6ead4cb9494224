"""Positional parameters of one call, with errors that name the parameter (-32602)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from node.rpc.errors import InvalidParams

T = TypeVar("T")


class Params:
    """The `params` array of a request. Ethereum methods are positional; a missing trailing
    optional parameter and an explicit null are treated alike, as geth does."""

    def __init__(self, method: str, values: list[Any]) -> None:
        self.method = method
        self.values = values

    def at_most(self, count: int) -> None:
        if len(self.values) > count:
            raise InvalidParams(
                f"too many arguments for {self.method}: got {len(self.values)}, want at most {count}"
            )

    def required(self, index: int, name: str, parse: Callable[[Any], T]) -> T:
        if index >= len(self.values) or self.values[index] is None:
            raise InvalidParams(f"missing value for required argument {index} ({name})")
        return self._parse(index, name, parse)

    def optional(self, index: int, name: str, parse: Callable[[Any], T], default: T) -> T:
        if index >= len(self.values) or self.values[index] is None:
            return default
        return self._parse(index, name, parse)

    def raw(self, index: int) -> Any:
        return self.values[index] if index < len(self.values) else None

    def _parse(self, index: int, name: str, parse: Callable[[Any], T]) -> T:
        try:
            return parse(self.values[index])
        except ValueError as exc:
            raise InvalidParams(f"invalid argument {index} ({name}): {exc}") from None


def invalid(index: int, name: str, message: str) -> InvalidParams:
    """The error for a parameter whose check needs more than a parser (e.g. an await)."""
    return InvalidParams(f"invalid argument {index} ({name}): {message}")

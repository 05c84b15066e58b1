"""Liquid templates for notification text: strict variables, parsed once."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from liquid import BoundTemplate, Environment, StrictUndefined
from liquid.exceptions import LiquidError

_ENV = Environment(undefined=StrictUndefined)


class TemplateError(ValueError):
    """A template that does not parse, or a variable that is missing."""


def _first_line(exc: LiquidError) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@lru_cache(maxsize=1024)
def compile_template(source: str) -> BoundTemplate:
    try:
        return _ENV.from_string(source)
    except LiquidError as exc:
        raise TemplateError(_first_line(exc)) from None


def render(source: str, variables: dict[str, Any]) -> str:
    if "{" not in source:
        return source
    try:
        return compile_template(source).render(**variables)
    except LiquidError as exc:
        raise TemplateError(_first_line(exc)) from None

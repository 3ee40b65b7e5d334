"""Typed settings: one dataclass per settings group, with a help line and bounds per field.

The engine's `TrainConfig` and every modality's options (`ImageOptions`, `TableOptions`, ...) are
`Options` dataclasses whose fields are declared with `option(...)`. From that single declaration
come the CLI flags (`fewgan train <modality> --help`), the API keywords, validation with one-line
errors, and the JSON that config.json holds. A field left at None means "chosen from the data"
(the modality's `resolve_defaults` fills it, and the resolved value is what gets saved).

This module imports neither torch nor numpy: `fewgan --help` builds every flag from it.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import UsageError


def option(default: Any, help: str, *, minimum: float | None = None, maximum: float | None = None,
           exclusive: bool = False, choices: tuple[str, ...] | None = None, flag: str | None = None,
           cli: str = "value", metavar: str | None = None, comma_choices: bool = False, auto: bool = False) -> Any:
    """A typed field. minimum/maximum bound numbers (exclusive=True: strictly above minimum);
    choices: allowed strings (comma_choices: a comma list of them); cli: "value" (--flag V),
    "switch" (--flag sets True), "negate" (--no-flag sets False), "append" (repeatable --flag V),
    "none" (no CLI flag: API and config only); auto=True: None means "chosen from the data"
    (otherwise None means unset / off)."""
    meta = dict(help=help, minimum=minimum, maximum=maximum, exclusive=exclusive, choices=choices, flag=flag,
                cli=cli, metavar=metavar, comma_choices=comma_choices, auto=auto)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Spec:
    """Everything the CLI, the API and validation need to know about one field."""
    name: str
    kind: type                 # int, float, bool, str, list or dict (None is always allowed when default is None)
    optional: bool             # None is a valid value
    default: Any
    help: str
    minimum: float | None
    maximum: float | None
    exclusive: bool
    choices: tuple[str, ...] | None
    comma_choices: bool
    cli: str
    metavar: str | None
    flag: str
    auto: bool = False

    def describe_default(self) -> str | None:
        """The default as the help shows it; None where there is nothing to show (unset)."""
        if self.default is None:
            return "by data" if self.auto else None
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, list):
            return None
        return str(self.default)

    def check(self, value: Any) -> Any:
        """The value, type-checked and bounded; a UsageError naming the flag otherwise."""
        if value is None:
            if self.optional:
                return None
            raise UsageError(f"{self.flag} must be set (got None)")
        kind = self.kind
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if kind is list and isinstance(value, tuple):
            value = list(value)
        if kind is list and isinstance(value, str):       # "a,b" where a list is asked for
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            raise UsageError(f"{self.flag} must be {_kind_name(kind)}, got {value!r}")
        if kind in (int, float):
            if kind is float and not math.isfinite(value):
                raise UsageError(f"{self.flag} must be a finite number, got {value}")
            lo, hi = self.minimum, self.maximum
            if lo is not None and (value < lo or (self.exclusive and value == lo)):
                raise UsageError(f"{self.flag} must be {'>' if self.exclusive else '>='} {lo:g}"
                                 + (f" and <= {hi:g}" if hi is not None else "") + f", got {value}")
            if hi is not None and value > hi:
                raise UsageError(f"{self.flag} must be <= {hi:g}, got {value}")
        if self.choices is not None and kind is str:
            items = [v for v in value.split(",") if v] if self.comma_choices else [value]
            bad = [v for v in items if v not in self.choices]
            if bad:
                what = "a comma list of" if self.comma_choices else "one of"
                raise UsageError(f"{self.flag} {','.join(bad)!r}: unknown value: use {what} {', '.join(self.choices)}")
        return value


def _kind_name(kind: type) -> str:
    return {int: "a whole number", float: "a number", bool: "true or false", str: "a string",
            list: "a list", dict: "a mapping"}.get(kind, kind.__name__)


def _resolve_type(tp) -> tuple[type, bool]:
    """(base type, optional) of an annotation such as `int | None`."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        base, _ = _resolve_type(args[0]) if len(args) == 1 else (object, False)
        return base, True
    if origin is not None:
        return origin, False
    return tp, False


class Options:
    """Base of every settings dataclass. Subclasses are @dataclass with option(...) fields."""

    @classmethod
    def specs(cls) -> list[Spec]:
        cached = cls.__dict__.get("_specs")
        if cached is not None:
            return cached
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            if not f.metadata:
                continue
            if hasattr(Options, f.name):
                raise TypeError(f"{cls.__name__}.{f.name}: the name of an Options method, choose another")
            kind, optional = _resolve_type(hints[f.name])
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            m = f.metadata
            flag = m["flag"] or "--" + f.name.replace("_", "-")
            out.append(Spec(f.name, kind, optional or default is None, default, m["help"], m["minimum"],
                            m["maximum"], m["exclusive"], m["choices"], m["comma_choices"], m["cli"], m["metavar"],
                            flag, m["auto"]))
        cls._specs = out
        return out

    @classmethod
    def spec_map(cls) -> dict[str, Spec]:
        return {s.name: s for s in cls.specs()}

    @classmethod
    def names(cls) -> list[str]:
        return [s.name for s in cls.specs()]

    def validate(self):
        """Type and bound checks of every field, then the class's own `check()` of combinations."""
        for s in self.specs():
            object.__setattr__(self, s.name, s.check(getattr(self, s.name)))
        self.check()
        return self

    def check(self) -> None:
        """Rules between fields; override (raise UsageError)."""

    def fill_none(self, **defaults):
        """A copy with every field that is still None set from `defaults`."""
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {s.name: _plain(getattr(self, s.name)) for s in self.specs()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "config"):
        if not isinstance(d, dict):
            raise UsageError(f"{what}: expected a JSON object of settings, got {type(d).__name__}")
        unknown_keys(cls.names(), d, what)
        try:
            return cls(**d)
        except TypeError as e:  # a required field is missing
            raise UsageError(f"{what}: {e}") from None


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def unknown_keys(valid: list[str], given, what: str) -> None:
    """UsageError naming the first unknown key and the closest valid one."""
    bad = [k for k in given if k not in valid]
    if not bad:
        return
    close = difflib.get_close_matches(bad[0], valid, n=1)
    hint = f": did you mean {close[0]!r}?" if close else f": valid keys are {', '.join(sorted(valid))}"
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise UsageError(f"{what}: unknown setting {bad[0]!r}{more}{hint}")

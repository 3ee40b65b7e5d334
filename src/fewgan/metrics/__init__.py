"""Metric registry shared by every modality.

A metric is a function ``compute(real, fake, **ctx) -> dict`` registered with the keys it returns,
each with a goal (min or max) and a range. `--until "fd<=30"`, best.pt and the report's verdicts
all read metrics by key through this registry. What real/fake are depends on the modality
(feature matrices for images, DataFrames for tables); the function documents it.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Callable

from ..errors import UsageError


@dataclass(frozen=True)
class Key:
    name: str
    goal: str           # "min" or "max"
    lo: float
    hi: float
    doc: str
    module: str = ""    # the module that registered it: a plug-in's `metrics` modules are what it reports


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[..., dict]
    keys: tuple[Key, ...]


class MetricRegistry:
    def __init__(self):
        self.metrics: dict[str, Metric] = {}
        self.keys: dict[str, Key] = {}

    def register(self, name: str, keys: dict[str, tuple[str, float, float, str]]):
        def deco(fn):
            ks = tuple(Key(k, *v, module=fn.__module__) for k, v in keys.items())
            for k in ks:
                if k.goal not in ("min", "max"):
                    raise ValueError(f"metric key {k.name}: goal must be min or max")
                if k.name in self.keys:
                    raise KeyError(f"metric key {k.name!r} registered twice")
                self.keys[k.name] = k
            self.metrics[name] = Metric(name, fn, ks)
            return fn
        return deco

    def key(self, name: str) -> Key:
        if name not in self.keys:
            load_all()     # metrics register on import of their module: a fresh process may not have yet
        if name not in self.keys:
            raise UsageError(f"unknown metric {name!r}: choose one of {', '.join(sorted(self.keys))}")
        return self.keys[name]

    def keys_for(self, modality: str) -> dict[str, Key]:
        """The keys a modality's evaluation reports: those registered by its plug-in's metric modules."""
        from ..modalities import get_plugin
        load_all()
        mine = set(get_plugin(modality).metrics)
        return {k: v for k, v in self.keys.items() if v.module in mine}

    def better(self, key: str, a: float, b: float | None) -> bool:
        """Is value a better than b for this key (b None: anything finite is better)."""
        if a is None or not math.isfinite(a):
            return False
        if b is None:
            return True
        return a < b if self.key(key).goal == "min" else a > b


METRICS = MetricRegistry()
register = METRICS.register

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Until:
    key: str
    op: str
    value: float

    def met(self, results: dict) -> bool:
        v = results.get(self.key)
        return v is not None and math.isfinite(v) and _OPS[self.op](v, self.value)

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.value:g}"


def parse_until(text: str, modality: str | None = None) -> Until:
    """METRIC<=VALUE (or <, >=, >); with a modality, METRIC must be one its evaluation reports."""
    m = re.fullmatch(r"\s*([A-Za-z_][\w]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*", text or "")
    if not m:
        raise UsageError(f"--until {text!r}: write it as METRIC<=VALUE or METRIC>=VALUE, e.g. \"fd<=30\"")
    key, op, value = m.group(1), m.group(2), m.group(3)
    load_all().key(key)  # unknown metric -> UsageError
    if modality is not None:
        mine = METRICS.keys_for(modality)
        if key not in mine:
            raise UsageError(f"--until {text!r}: {modality} runs do not report {key!r}: choose one of "
                             f"{', '.join(sorted(mine))}")
    try:
        v = float(value)
    except ValueError:
        raise UsageError(f"--until {text!r}: {value!r} is not a number") from None
    return Until(key, op, v)


def load_all() -> MetricRegistry:
    """Import every modality's metric modules (registration happens on import, not on `import fewgan`)."""
    import importlib

    from ..modalities import plugins
    from . import distribution, memorization  # noqa: F401  (shared by several modalities)
    for plugin in plugins().values():
        for module in plugin.metrics:
            importlib.import_module(module)
    return METRICS

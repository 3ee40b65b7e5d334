"""Constraints on table rows that every sampled row satisfies (`--constraint`, TableGAN(constraints=)).

    "amount>=0"  "age<120"  "0<=age<=120"    bounds and ranges on a numeric or datetime column
    "start<=end"  "low<high"                  an order between two numeric or datetime columns
    "a+b==total"  "gross-tax==net"            a sum (terms added or subtracted) equal to a column
    "city,country"                            only the combinations seen in training

By construction where the codec allows it, so no sample is ever thrown away:
  bounds       the codec already clips every continuous column to its training [min, max], which a
               training table that satisfies the bound lies within.
  order        the later column is modelled as the gap to the earlier one (end - start, >= 0 in
               every training row), and decoded as start + gap: the order holds on every row.
  sum          the total is not modelled (it would be a constant 0 residual); decoded as the sum.
Combinations are kept by rejection (sample_frame draws again, a bounded number of times).
Every constraint is checked on the training table (a violating table is refused, naming rows) and
again on every sampled row (the safety net behind the constructions). NaN satisfies a constraint:
a missing value breaks no bound. State is the list of constraint strings plus what was seen in
training (combinations, dtypes of dropped totals): plain JSON for the checkpoint.
"""
from __future__ import annotations

import abc
import operator
import re

import numpy as np
import pandas as pd

from ..errors import UsageError

OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
FLIP = {"<=": ">=", "<": ">", ">=": "<=", ">": "<"}
_NAME = r"[^<>=,+\-\s][^<>=,+\-]*?"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class Constraint(abc.ABC):
    text: str

    @abc.abstractmethod
    def check(self, df: pd.DataFrame) -> np.ndarray:      # bool per row: satisfied (or NaN involved)
        ...

    @abc.abstractmethod
    def columns(self) -> list[str]:
        ...

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:  # training frame -> what the codec models
        return df

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:  # decoded frame -> the user's columns
        return df

    def state(self) -> dict:
        return {}


def _numeric(s: pd.Series, text: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        v = s.astype("int64").to_numpy(dtype=np.float64)
        return np.where(s.isna().to_numpy(), np.nan, v)
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        raise UsageError(f"--constraint {text!r}: column {s.name!r} is not numeric or a date: constrain only "
                         "numeric or date columns with <, <=, >, >=, ==")
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def _holds(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    return ok | np.isnan(values)


class Bound(Constraint):
    def __init__(self, text: str, col: str, op: str, value: float):
        self.text, self.col, self.op, self.value = text, col, op, value

    def columns(self):
        return [self.col]

    def check(self, df):
        v = _numeric(df[self.col], self.text)
        with np.errstate(invalid="ignore"):
            return _holds(v, OPS[self.op](v, self.value))


class Order(Constraint):
    """lo OP hi with OP one of <= < (a >= form is stored flipped). hi is modelled as hi - lo."""

    def __init__(self, text: str, lo: str, op: str, hi: str, dtype: str | None = None):
        self.text, self.lo, self.op, self.hi, self.dtype = text, lo, op, hi, dtype

    def columns(self):
        return [self.lo, self.hi]

    def check(self, df):
        a, b = _numeric(df[self.lo], self.text), _numeric(df[self.hi], self.text)
        with np.errstate(invalid="ignore"):
            return _holds(a + b, OPS[self.op](a, b))

    def forward(self, df):
        df = df.copy()
        lo, hi = df[self.lo], df[self.hi]
        self.dtype = str(hi.dtype)
        if pd.api.types.is_datetime64_any_dtype(hi.dtype):     # a gap in seconds
            df[self.hi] = (hi - lo).dt.total_seconds()
        else:
            df[self.hi] = hi - lo
        return df

    def reverse(self, df):
        df = df.copy()
        lo, gap = df[self.lo], df[self.hi]
        # The codec clips the gap to its training range, >= 0 (> 0 for a strict order); max() is a
        # second guard, and for floats lo + gap >= lo holds exactly when gap >= 0.
        if pd.api.types.is_datetime64_any_dtype(lo.dtype):
            g = pd.to_timedelta(gap.astype("float64").clip(lower=0), unit="s")
            df[self.hi] = (lo + g).astype(self.dtype) if self.dtype else lo + g
        else:
            out = lo + gap.clip(lower=0)
            df[self.hi] = out.astype(self.dtype) if self.dtype and not out.isna().any() else out
        return df

    def state(self):
        return {"dtype": self.dtype}


class Sum(Constraint):
    """sum of signed terms == total. The total is dropped before the codec and recomputed."""

    def __init__(self, text: str, terms: list[tuple[int, str]], total: str, dtype: str | None = None,
                 position: int | None = None):
        self.text, self.terms, self.total, self.dtype, self.position = text, terms, total, dtype, position

    def columns(self):
        return [c for _, c in self.terms] + [self.total]

    def _sum(self, df) -> np.ndarray:
        return sum(sign * _numeric(df[c], self.text) for sign, c in self.terms)

    def check(self, df):
        s, t = self._sum(df), _numeric(df[self.total], self.text)
        tol = 1e-9 * np.maximum(1.0, np.abs(t))
        with np.errstate(invalid="ignore"):
            return _holds(s + t, np.abs(s - t) <= tol)

    def forward(self, df):
        self.dtype, self.position = str(df[self.total].dtype), list(df.columns).index(self.total)
        return df.drop(columns=[self.total])

    def reverse(self, df):
        df = df.copy()
        s = pd.Series(self._sum(df), index=df.index)
        if self.dtype and not s.isna().any():
            s = s.astype(self.dtype)
        df.insert(min(self.position, len(df.columns)), self.total, s)
        return df

    def state(self):
        return {"dtype": self.dtype, "position": self.position}


class Combination(Constraint):
    def __init__(self, text: str, cols: list[str], seen: list[list] | None = None):
        self.text, self.cols, self.seen = text, cols, seen

    def columns(self):
        return list(self.cols)

    def _keys(self, df) -> list[tuple]:
        return [tuple("\0nan" if pd.isna(v) else str(v) for v in row) for row in df[self.cols].itertuples(index=False)]

    def learn(self, df) -> None:
        self.seen = sorted(set(self._keys(df)))

    def check(self, df):
        if self.seen is None:               # training: every combination is seen by definition
            return np.ones(len(df), bool)
        seen = set(map(tuple, self.seen))
        return np.array([k in seen for k in self._keys(df)], bool)

    def state(self):
        return {"seen": [list(k) for k in self.seen or []]}


def parse(text: str) -> Constraint:
    t = text.strip()
    m = re.fullmatch(rf"\s*({_NUM})\s*(<=|<)\s*({_NAME})\s*(<=|<)\s*({_NUM})\s*", t)
    if m:   # a range: two bounds, handled as one constraint each by parse_all
        raise _Range(t, m.group(3).strip(), FLIP[m.group(2)], float(m.group(1)), m.group(4), float(m.group(5)))
    m = re.fullmatch(rf"\s*({_NAME})\s*(<=|>=|<|>)\s*({_NUM})\s*", t)
    if m:
        return Bound(t, m.group(1).strip(), m.group(2), float(m.group(3)))
    m = re.fullmatch(rf"\s*({_NAME})\s*(<=|>=|<|>)\s*({_NAME})\s*", t)
    if m:
        a, op, b = m.group(1).strip(), m.group(2), m.group(3).strip()
        return Order(t, a, op, b) if op in ("<=", "<") else Order(t, b, FLIP[op], a)
    m = re.fullmatch(r"\s*(.+?)\s*==\s*(.+?)\s*", t)
    if m:
        terms, total = _terms(m.group(1), t), m.group(2).strip()
        if len(terms) < 2 or re.search(r"[+\-]", total):
            raise UsageError(f"--constraint {text!r}: write a sum as a+b==total (two or more terms, one total column)")
        return Sum(t, terms, total)
    if "," in t and not re.search(r"[<>=]", t):
        cols = [c.strip() for c in t.split(",")]
        if len(cols) >= 2 and all(cols):
            return Combination(t, cols)
    raise UsageError(f"--constraint {text!r}: not understood: write col>=0, 0<=col<=1, start<=end, a+b==total "
                     "or city,country")


class _Range(Exception):
    """A range parses into two bounds, each with a text of its own (so state round-trips)."""
    def __init__(self, text, col, op_lo, lo, op_hi, hi):
        self.bounds = [Bound(f"{col}{op_lo}{lo:g}", col, op_lo, lo), Bound(f"{col}{op_hi}{hi:g}", col, op_hi, hi)]


def _terms(expr: str, text: str) -> list[tuple[int, str]]:
    parts = re.split(r"\s*([+\-])\s*", "+" + expr.strip())
    out = []
    for sign, name in zip(parts[1::2], parts[2::2]):
        if not name:
            raise UsageError(f"--constraint {text!r}: an empty term in the sum")
        out.append((1 if sign == "+" else -1, name.strip()))
    return out


class Constraints:
    """The constraints of one table, applied in order (forward) and in reverse order (decode)."""

    def __init__(self, items: list[Constraint]):
        self.items = items

    @classmethod
    def parse(cls, texts: list[str]) -> "Constraints":
        items = []
        for t in texts or []:
            try:
                items.append(parse(t))
            except _Range as r:
                items += r.bounds
        return cls(items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def validate(self, df: pd.DataFrame) -> None:
        """Columns exist, no column is rebuilt by two constraints or rebuilt inside another rebuild,
        and the training table satisfies every constraint."""
        derived: dict[str, Constraint] = {}
        for c in self.items:
            unknown = [col for col in c.columns() if col not in df.columns]
            if unknown:
                raise UsageError(f"--constraint {c.text!r}: unknown column {unknown[0]!r}: the table's columns are "
                                 + ", ".join(map(str, df.columns[:20])))
            target = _target(c)
            if target in derived:
                raise UsageError(f"--constraint {c.text!r}: column {target!r} is already rebuilt by "
                                 f"{derived[target].text!r}: keep one of them")
            if target is not None:
                derived[target] = c
        for c in self.items:     # a rebuilt column inside another rebuild would break the construction
            used = [col for col in c.columns() if col in derived and derived[col] is not c]
            if isinstance(c, (Sum, Order)) and used:
                raise UsageError(f"--constraint {c.text!r}: column {used[0]!r} is rebuilt by "
                                 f"{derived[used[0]].text!r} and cannot also be part of this one: keep one of them")
        for c in self.items:
            bad = np.flatnonzero(~c.check(df))
            if len(bad):
                rows = ", ".join(str(i + 2) for i in bad[:5])       # +2: a header line, 1-based lines
                raise UsageError(f"--constraint {c.text!r}: the training table violates it in {len(bad)} row(s) "
                                 f"(file lines {rows}{' ...' if len(bad) > 5 else ''}): fix those rows or drop the "
                                 "constraint")

    def fit(self, df: pd.DataFrame) -> pd.DataFrame:
        """Learn what the constraints keep (seen combinations, dtypes) and return the frame the codec models."""
        for c in self.items:
            if isinstance(c, Combination):
                c.learn(df)
        return self.forward(df)

    def forward(self, df: pd.DataFrame) -> pd.DataFrame:
        for c in self.items:
            df = c.forward(df)
        return df

    def reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        for c in reversed(self.items):
            df = c.reverse(df)
        return df

    def rebuilt_totals(self) -> list[str]:
        """Columns the codec does not model at all (a sum's total), recomputed on decode."""
        return [c.total for c in self.items if isinstance(c, Sum)]

    @property
    def needs_rejection(self) -> bool:
        """Whether some rule is kept by rejection (combinations), not by construction alone."""
        return any(isinstance(c, Combination) for c in self.items)

    def checked(self, df: pd.DataFrame) -> pd.DataFrame:
        """df, after asserting that every row keeps every rule (rules kept by construction)."""
        if self.items and not self.mask(df).all():
            raise RuntimeError("a sampled row breaks a constraint kept by construction: please report this")
        return df

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        ok = np.ones(len(df), bool)
        for c in self.items:
            ok &= c.check(df)
        return ok

    def state_dict(self) -> list[dict]:
        return [{"text": c.text, **c.state()} for c in self.items]

    @classmethod
    def from_state(cls, state: list[dict]) -> "Constraints":
        items = []
        for s in state or []:
            (c,) = Constraints.parse([s["text"]]).items
            for k, v in s.items():
                if k != "text":
                    setattr(c, k, v)
            items.append(c)
        return cls(items)


def _target(c: Constraint) -> str | None:
    """The column a constraint rebuilds on decode (a sum's total, an order's later column)."""
    return c.total if isinstance(c, Sum) else c.hi if isinstance(c, Order) else None

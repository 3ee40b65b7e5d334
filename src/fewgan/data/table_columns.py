"""One column of a table: the modes of a numeric column (mixture modes and exact values), columns
that another column determines, and conversions between a column's values and codes.

Everything here reads or writes the plain per-column dict that the codec keeps (JSON-able):
name, kind, dtype, nan, nan_rate, categories / freq (categorical), means / stds / spikes (continuous),
derived = {"from", "map"} (a column decoded from another). See table_codec.py for the layout.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..errors import UsageError
from .table import _py, _to_seconds

MAX_MODES = 10
SPIKE_MIN_FRAC = 0.05       # a value this frequent gets an exact mode
FEW_VALUES = 20             # a numeric column with at most this many distinct values: all exact modes
MODE_MIN_WEIGHT = 0.005
GMM_MAX_ROWS = 2000         # the mixture is fitted on a seeded subsample of at most this many rows
GMM_MAX_ITER = 60


# -- mode-specific normalisation -----------------------------------------------------------------
def fit_modes(v: np.ndarray, seed: int) -> tuple[list[float], list[float]]:
    """Means and stds of the modes of a variational Gaussian mixture fitted to v (1-D, no NaN)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import BayesianGaussianMixture
    rng = np.random.default_rng(seed)
    fit_v = v if len(v) <= GMM_MAX_ROWS else rng.choice(v, GMM_MAX_ROWS, replace=False)
    n_unique = len(np.unique(fit_v))
    k = min(MAX_MODES, n_unique)
    std = float(v.std()) or 1.0
    if k < 2:
        return [float(v.mean())], [std]
    bgm = BayesianGaussianMixture(n_components=k, weight_concentration_prior_type="dirichlet_process",
                                  weight_concentration_prior=1e-3, max_iter=GMM_MAX_ITER, n_init=1,
                                  random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bgm.fit(fit_v.reshape(-1, 1))
    keep = bgm.weights_ > MODE_MIN_WEIGHT
    means = bgm.means_.reshape(-1)[keep]
    stds = np.sqrt(bgm.covariances_.reshape(-1))[keep]
    stds = np.maximum(stds, 1e-3 * std)          # a mode on one repeated value: keep it finite
    return [float(m) for m in means], [float(s) for s in stds]


def fit_spikes(v: np.ndarray) -> list[float]:
    """The values of v (1-D, no NaN) that get an exact mode: every value if there are few, else the
    values held by at least SPIKE_MIN_FRAC of the rows."""
    vals, counts = np.unique(v, return_counts=True)
    keep = np.ones(len(vals), bool) if len(vals) <= FEW_VALUES else counts >= SPIKE_MIN_FRAC * len(v)
    return [float(x) for x in vals[keep]]


def n_modes(c: dict) -> int:
    """Mixture modes plus exact-value modes of a continuous column (the width of its mode one-hot)."""
    return len(c["means"]) + len(c.get("spikes", ()))


def assign_modes(v: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """The most likely mode of each value (equal weights: the mode whose 4-sigma box fits best)."""
    z = (v[:, None] - means[None]) / stds[None]
    logp = -0.5 * z ** 2 - np.log(stds)[None]
    return logp.argmax(1)


def numeric_values(s: pd.Series, c: dict) -> np.ndarray:
    """A continuous column as floats (datetimes as seconds), NaN where missing; never a view of s."""
    if c["kind"] == "datetime":
        out = np.full(len(s), np.nan)
        ok = s.notna().to_numpy()
        out[ok] = _to_seconds(s[ok])
        return out
    return np.array(pd.to_numeric(s, errors="coerce"), dtype=float, copy=True)


def _grid(q) -> tuple[np.ndarray, np.ndarray]:
    """(strictly increasing values, their probabilities) of a column's stored quantiles: ties
    (integer columns) get a negligible ramp so interpolation is well defined."""
    q = np.asarray(q, dtype=float)
    return q + 1e-9 * max(1.0, float(np.ptp(q))) * np.arange(len(q)), np.linspace(0, 1, len(q))


def hazen(p: np.ndarray, c: dict) -> np.ndarray:
    """Positions p on a copula column's quantile grid (0 = its min, 1 = its max) as probabilities:
    the k-th of n sorted values at (k - 1/2) / n, not (k - 1) / (n - 1) (see fit in table_codec)."""
    n = c.get("hazen_n", 0)
    return (p * (n - 1) + 0.5) / n if n > 1 else p


def to_normal(v: np.ndarray, c: dict, mid: bool = False) -> np.ndarray:
    """Normal scores of a column's values, Phi^-1(F(v)) with F the empirical CDF at the stored
    quantiles (a Gaussian copula's marginal transform): G then models a near-Gaussian column.
    mid=True: a value tied over several quantiles (a spike, an integer) gets the middle of their
    probabilities (mid-ranks, as a copula's correlation wants), not the lowest."""
    from scipy.special import ndtri
    xs, ps = _grid(c["quantiles"])
    p = np.interp(v, xs, ps)
    if mid:
        q = np.asarray(c["quantiles"], dtype=float)
        hi = q - 1e-9 * max(1.0, float(np.ptp(q))) * np.arange(len(q))[::-1]     # ties -> their last knot
        p = 0.5 * (p + np.interp(v, hi, ps))
    return ndtri(np.clip(hazen(p, c), 1e-6, 1 - 1e-6))     # |z| <= 4.8: the extremes come back


def snap(v: np.ndarray, values) -> np.ndarray:
    """Each of v replaced by the nearest of the sorted values."""
    vals = np.asarray(values, dtype=float)
    i = np.clip(np.searchsorted(vals, v), 1, max(1, len(vals) - 1))
    lo, hi = vals[i - 1], vals[np.minimum(i, len(vals) - 1)]
    return np.where(v - lo <= hi - v, lo, hi)


def from_normal(z: np.ndarray, c: dict) -> np.ndarray:
    from scipy.special import ndtr
    xs, ps = _grid(c["quantiles"])
    p, n = ndtr(z), c.get("hazen_n", 0)
    if n > 1:       # to_normal's Hazen positions back to the grid's (beyond the end values: the ends)
        p = (p * n - 0.5) / (n - 1)
    return np.interp(p, ps, xs)


# -- derived columns and categorical values ------------------------------------------------------
def find_derived(df: pd.DataFrame, columns: list[dict]) -> None:
    """Mark each column that a categorical column determines on every row: c["derived"] = {"from":
    name, "map": [its value (category index, or number) per source category]}. Sources have no NaN and
    at least 20 rows per category on average (so an ID-like column does not "determine" everything);
    derived columns have no NaN; a derived column is never a source (no chains)."""
    n, sources, cache = len(df), set(), {}

    def values(c: dict) -> np.ndarray:      # each column converted once (category_codes loops over rows)
        if c["name"] not in cache:
            s = df[c["name"]]
            cache[c["name"]] = category_codes(s, c) if c["kind"] == "categorical" else numeric_values(s, c)
        return cache[c["name"]]

    for a in columns:
        if a["kind"] != "categorical" or a["nan"] or a.get("derived") or len(a["categories"]) * 20 > n:
            continue
        for b in columns:
            if b is a or b.get("derived") or b["nan"] or b["name"] in sources or b["kind"] == "datetime":
                continue
            g = pd.DataFrame({"a": values(a), "b": values(b)}).groupby("a")["b"]
            if g.nunique().max() != 1:
                continue
            first = g.first()
            mapping = [first.get(k, first.iloc[0]) for k in range(len(a["categories"]))]
            b["derived"] = {"from": a["name"], "map": [int(v) if b["kind"] == "categorical" else float(v)
                                                       for v in mapping]}
            sources.add(a["name"])


def code_of(c: dict, value):
    """What a derived column's map holds for `value`: its category index, or the number."""
    if c["kind"] == "categorical":
        return len(c["categories"]) if is_nan(value) else c["categories"].index(value)
    return float(value)


def is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def category_codes(s: pd.Series, c: dict) -> np.ndarray:
    cats = c["categories"]
    lookup = {v: i for i, v in enumerate(cats)}
    na = len(cats)
    vals = s.to_numpy(dtype=object)
    isna = pd.isna(s).to_numpy()
    out = np.empty(len(s), np.int64)
    for i, (v, m) in enumerate(zip(vals, isna)):
        out[i] = na if m else lookup[_py(v)]
    return out


def category_frequencies(df: pd.DataFrame, columns: list[dict]) -> None:
    """Store each categorical column's real frequencies (NaN last) for unconditional sampling."""
    for c in columns:
        if c["kind"] == "categorical":
            codes = category_codes(df[c["name"]], c)
            k = len(c["categories"]) + int(c["nan"])
            c["freq"] = (np.bincount(codes, minlength=k) / len(codes)).tolist()


def categories_to_series(idx: np.ndarray, c: dict) -> pd.Series:
    cats = list(c["categories"]) + ([np.nan] if c["nan"] else [])
    vals = np.empty(len(idx), dtype=object)
    for j, v in enumerate(cats):
        vals[idx == j] = v
    s = pd.Series(vals)
    dtype = c["dtype"]
    if dtype == "category":
        return s.astype(pd.CategoricalDtype(c["categories"]))
    if dtype == "bool" and not c["nan"]:
        return s.astype(bool)
    if dtype in ("int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64") and not c["nan"]:
        return s.astype(dtype)
    if dtype.startswith("float") or dtype.startswith(("Int", "UInt")) or dtype == "boolean":
        return s.astype(dtype)        # nullable dtypes hold the NaN category as <NA>
    if dtype in ("string", "str"):
        return s.astype(dtype)
    return s


def numbers_to_series(v: np.ndarray, c: dict) -> pd.Series:
    if c["kind"] == "datetime":
        ns = np.where(np.isnan(v), np.nan, np.round(v * 1e9))
        s = pd.to_datetime(pd.Series(ns), unit="ns")
        # the input's own unit and zone (pandas 3 reads datetimes as [us]; aware columns keep their tz)
        want = pd.api.types.pandas_dtype(c["dtype"]) if c["dtype"].startswith("datetime64") else s.dtype
        if getattr(want, "tz", None) is not None:
            s = s.dt.tz_localize("UTC").dt.tz_convert(want.tz)
        return s.astype(want)
    dtype = c["dtype"]
    if dtype.startswith(("int", "uint")) and not np.isnan(v).any():
        out = v.astype(dtype)
        if isinstance(c.get("min"), int) and isinstance(c.get("max"), int):   # beyond 2^53 float64 rounds
            out = np.clip(out, c["min"], c["max"]).astype(dtype)                # past the bound: clip as ints
        return pd.Series(out)
    if dtype.startswith(("Int", "UInt")):
        return pd.Series(v).round().astype(dtype)
    return pd.Series(v.astype(dtype if dtype.startswith("float") else "float64"))


def match_category(c: dict, value):
    cats = c["categories"]
    if value is None or is_nan(value):
        if c["nan"]:
            return float("nan")
    for v in cats:
        if type(v) is type(value) and v == value:
            return v
    s = str(value)
    for key in (lambda v: str(v), lambda v: str(v).strip()):
        hits = [v for v in cats if key(v) == s.strip() or key(v) == s]
        if len(hits) == 1:
            return hits[0]
    shown = ", ".join(repr(v) for v in cats[:12]) + (" ..." if len(cats) > 12 else "")
    raise UsageError(f"--where {c['name']}={value}: impossible: {c['name']!r} never takes that value: "
                     f"use one of {shown}")

"""Time-series sources: a CSV file, a DataFrame or an array of one multivariate series, and the
built-ins `sines` and `macro`. Everything becomes sliding windows (stride 1) of seq_len steps,
min-max scaled per feature to [0, 1] over the whole series (the TimeGAN preprocessing), with the
scaling kept so samples decode to the original units.

Built-ins:
- ``sines``: as in the TimeGAN paper: 10000 windows of 5 features, each feature
  sin(f * t + p) with f, p ~ U(0, 0.1) drawn per window and feature, mapped to [0, 1] by (s + 1) / 2.
  These windows are independent (no long series), already in [0, 1] and not rescaled, so scores
  are on the paper's scale.
- ``macro``: statsmodels' US macrodata (203 quarters), its numeric columns except year/quarter.
- any CSV path: numeric columns only (a date column must be dropped first, see the error).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError

BUILTINS = ("sines", "macro")
N_SINES = 10000


@dataclass
class SeriesData:
    name: str
    columns: list[str]
    values: np.ndarray | None      # (T, F) float64 one long series, or None when windows are given
    windows: np.ndarray | None     # (N, seq_len, F) independent windows (sines), or None


def sines(n: int = N_SINES, seq_len: int = 24, dim: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = rng.uniform(0, 0.1, (n, 1, dim))
    p = rng.uniform(0, 0.1, (n, 1, dim))
    t = np.arange(seq_len, dtype=np.float64)[None, :, None]
    return (np.sin(f * t + p) + 1) * 0.5


def load_series(data, seq_len: int, seed: int = 0, reverse: bool = False, fill: str = "none") -> SeriesData:
    """data: a built-in name, a CSV path, a pandas DataFrame, or a (T, F) / (T,) array."""
    if isinstance(data, (str, Path)) and str(data) == "sines":
        w = sines(N_SINES, seq_len, 5, seed)
        return SeriesData("sines", [f"sine{i}" for i in range(5)], None, w)
    import pandas as pd
    if isinstance(data, (str, Path)):
        name = str(data)
        if name == "macro":
            from statsmodels.datasets import macrodata
            df = macrodata.load_pandas().data.drop(columns=["year", "quarter"])
        else:
            path = Path(name)
            if not path.is_file():
                raise UsageError(f"--data {name}: no such dataset or file: use sines, macro or a CSV file")
            if path.suffix.lower() not in (".csv", ".txt"):
                raise UsageError(f"--data {name}: series data must be a .csv file (or sines, macro)")
            try:
                df = pd.read_csv(path)
            except Exception as e:
                raise UsageError(f"--data {name}: cannot read as CSV ({e.__class__.__name__}): check the file") from None
    elif isinstance(data, pd.DataFrame):
        name, df = "<dataframe>", data
    else:
        arr = np.asarray(data)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise UsageError(f"series array must be (time, features), got shape {arr.shape}")
        name, df = "<array>", pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise UsageError(f"--data {name}: no data (0 rows or columns): pass a CSV with a header and numeric columns")
    bad = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
    if bad:
        raise UsageError(f"--data {name}: non-numeric column(s) {', '.join(bad[:5])}: drop them (e.g. dates) "
                         "and keep only numeric columns")
    values = df.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        if fill == "ffill" and not np.isinf(values).any():
            values = df.ffill().bfill().to_numpy(dtype=np.float64)
        else:
            bad_cols = [str(c) for c, ok in zip(df.columns, np.isfinite(values).all(0)) if not ok]
            raise UsageError(f"--data {name}: missing or infinite values (NaN gaps) in {', '.join(bad_cols[:5])}: "
                             "fill them first, or pass --fill ffill to carry the last value forward")
    if reverse:
        values = values[::-1].copy()
    const = [str(c) for c, v in zip(df.columns, values.T) if np.ptp(v) == 0]
    if const:
        raise UsageError(f"--data {name}: constant column(s) {', '.join(const[:5])} carry no signal: drop them")
    if len(values) < seq_len + 1:
        raise UsageError(f"--data {name}: the series has {len(values)} rows, too short for --seq-len {seq_len}: "
                         f"use at least {seq_len + 1} rows or a smaller --seq-len")
    return SeriesData(name, [str(c) for c in df.columns], values, None)


def windows(values: np.ndarray, seq_len: int) -> np.ndarray:
    """All (T - seq_len + 1) sliding windows with stride 1: (N, seq_len, F)."""
    idx = np.arange(len(values) - seq_len + 1)[:, None] + np.arange(seq_len)[None, :]
    return values[idx]

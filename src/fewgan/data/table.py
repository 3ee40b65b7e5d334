"""Tables: read CSV / Parquet / DataFrames and infer and check column types (the codec that turns
them into tensors is in table_codec.py).

Column kinds (what the model sees): continuous (floats, integers, datetimes as seconds) and
categorical (strings, booleans, few-valued integers, or anything named in --discrete / a schema).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UsageError

# Built-in tables that ship inside installed wheels (nothing is downloaded): scikit-learn's
# breast_cancer (569 rows), wine (178) and diabetes (442, raw units); statsmodels' fair (6,366),
# anes96 (944) and randhie (20,190), many of whose columns are integer codes.
SKLEARN_TABLES = ("breast_cancer", "wine", "diabetes")
STATSMODELS_TABLES = ("fair", "anes96", "randhie")
BUILTIN = SKLEARN_TABLES + STATSMODELS_TABLES
MIN_ROWS = 10
FEW_VALUES = 10             # an integer column with at most this many distinct values is categorical
SCHEMA_TYPES = {
    "continuous": "continuous", "numerical": "continuous", "numeric": "continuous", "float": "continuous",
    "integer": "continuous", "int": "continuous",
    "categorical": "categorical", "ordinal": "categorical", "discrete": "categorical",
    "boolean": "categorical", "bool": "categorical", "string": "categorical",
    "datetime": "datetime", "date": "datetime",
}


# -- reading ------------------------------------------------------------------------------------
def read_table(data) -> tuple[pd.DataFrame, str]:
    """(DataFrame, name) from a DataFrame, a built-in name or a .csv/.tsv/.parquet path."""
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True), "<dataframe>"
    name = str(data)
    if name in SKLEARN_TABLES:
        from sklearn import datasets
        kw = {"scaled": False} if name == "diabetes" else {}
        return getattr(datasets, f"load_{name}")(as_frame=True, **kw).frame, name
    if name in STATSMODELS_TABLES:
        import importlib
        return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data, name
    path = Path(name)
    if not path.exists():
        raise UsageError(f"--data {name}: no such dataset or file: use {', '.join(BUILTIN)} or a .csv/.parquet file")
    if path.is_dir():
        raise UsageError(f"--data {name}: is a folder: pass a .csv or .parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv", ".txt"):
            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise UsageError(f"--data {name}: unknown table format {suffix!r}: use .csv, .tsv or .parquet")
    except pd.errors.EmptyDataError:
        raise UsageError(f"--data {name}: the file is empty: pass a CSV with a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"--data {name}: cannot parse the file as a table ({first}): "
                         "check the delimiter and quoting, every row needs the header's number of fields") from None
    except (ImportError, OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"--data {name}: cannot read the file ({first}): "
                         "for Parquet install pyarrow ('pip install fewgan[parquet]')") from None
    if suffix in (".csv", ".tsv", ".txt"):
        _check_header(path, "\t" if suffix == ".tsv" else ",")
    check_values(df, f"--data {name}")
    if df.shape[1] == 1 and suffix != ".parquet":
        sep = next((c for c in (";", "\t", "|") if c in str(df.columns[0])), None)
        if sep is not None:
            raise UsageError(f"--data {name}: one column named {str(df.columns[0])[:40]!r}: the file looks "
                             f"{sep!r}-separated: save it comma-separated (or tab-separated as .tsv)")
    return df, path.name


def _check_header(path: Path, sep: str) -> None:
    """pandas renames a repeated column name (a, a.1) silently: refuse it, naming the column."""
    import csv
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            header = next(csv.reader(f, delimiter=sep), [])
    except (OSError, csv.Error):
        return
    seen = set()
    for col in header:
        if col in seen:
            raise UsageError(f"--data {path}: duplicate column name {col!r}: give every column its own name")
        seen.add(col)


INT64_MAX = 2 ** 63 - 1


def check_values(df: pd.DataFrame, what: str) -> None:
    """Values no column kind can hold: infinities, and whole numbers beyond 64 bits (pandas reads
    them as text, which would silently make a numeric column categorical)."""
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s) and np.isinf(s.to_numpy(dtype=float, na_value=np.nan)).any():
            row = int(np.flatnonzero(np.isinf(s.to_numpy(dtype=float, na_value=np.nan)))[0])
            raise UsageError(f"{what}: column {str(col)!r} holds infinite values (row {row + 1}): replace them with "
                             "numbers or leave the cells empty")
        if s.dtype == object:
            vals = s.dropna()
            if len(vals) and vals.map(lambda v: isinstance(v, str) and v.strip().lstrip("+-").isdigit()).all():
                if vals.map(lambda v: len(v.strip().lstrip("+-")) > 19 or abs(int(v)) > INT64_MAX).any():
                    raise UsageError(f"{what}: column {str(col)!r} holds whole numbers beyond 64 bits: scale them "
                                     "down, or declare the column categorical in --schema")


def load_schema(schema) -> dict[str, str]:
    """{column: kind} from a schema dict or JSON file: {"columns": [{"name", "type"}]} or {name: type}."""
    if schema is None:
        return {}
    if isinstance(schema, (str, Path)):
        p = Path(schema)
        if not p.is_file():
            raise UsageError(f"--schema {schema}: no such file: pass a JSON file like "
                             '{"columns": [{"name": "age", "type": "continuous"}]}')
        try:
            schema = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"--schema {schema}: not valid JSON ({e}): fix the file") from None
    if isinstance(schema, dict) and "columns" in schema:
        items = schema["columns"]
        try:
            pairs = [(c["name"], c["type"]) for c in items]
        except (TypeError, KeyError):
            raise UsageError('schema: each entry of "columns" needs "name" and "type"') from None
    elif isinstance(schema, dict):
        pairs = list(schema.items())
    else:
        raise UsageError('schema: expected {"columns": [{"name": ..., "type": ...}]} or {column: type}')
    out = {}
    for name, typ in pairs:
        kind = SCHEMA_TYPES.get(str(typ).lower())
        if kind is None:
            raise UsageError(f"schema: column {name!r} has unknown type {typ!r}: use one of "
                             + ", ".join(sorted(set(SCHEMA_TYPES))))
        out[str(name)] = kind
    return out


def _py(v):
    """A numpy / pandas scalar as a plain Python value (JSON-able)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return str(v)
    return v


def _decimals(v: np.ndarray, single: bool = False) -> int | None:
    """Smallest number of decimals (0..6) that spells every value exactly, or None. "Exactly" up to
    the storage's rounding: 1e-12 relative for float64, 1e-6 for single-precision columns. (1e-6 for
    float64 too took randhie's 6.160541 for 5 decimals, 6.16054: a shifted point mass that cost
    its KS score 0.13.)"""
    if len(v) == 0:
        return None
    sample, tol = v[:5000], 1e-6 if single else 1e-12
    for d in range(7):
        s = sample * 10.0 ** d
        if np.all(np.abs(s - np.round(s)) <= tol * np.maximum(1.0, np.abs(s))):
            return d
    return None


def infer_columns(df: pd.DataFrame, discrete: list[str] | None = None, schema: dict[str, str] | None = None) -> list[dict]:
    """Per-column metadata: kind, dtype, bounds, categories... Raises UsageError on unusable data."""
    if df.shape[1] == 0:
        raise UsageError("the table has no columns: pass a CSV with a header row")
    if len(df) < MIN_ROWS:
        raise UsageError(f"the table has {len(df)} row{'s' if len(df) != 1 else ''}: a GAN needs at least "
                         f"{MIN_ROWS} rows: add rows")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"duplicate column names {dup}: rename them")
    discrete = [d for d in (discrete or []) if d]
    schema = schema or {}
    for src, cols in (("--discrete", discrete), ("schema", list(schema))):
        unknown = [c for c in cols if c not in names]
        if unknown:
            raise UsageError(f"{src}: unknown column {unknown[0]!r}: the table's columns are "
                             + ", ".join(names[:20]) + (" ..." if len(names) > 20 else ""))
    cols = []
    for name, col in zip(names, df.columns):
        s = df[col]
        n_nan = int(s.isna().sum())
        if n_nan == len(s):
            raise UsageError(f"column {name!r} is empty (every value is missing): drop it from the table")
        if s.nunique(dropna=False) == 1:
            raise UsageError(f"column {name!r} has a single value ({_py(s.iloc[0])!r}) in every row: "
                             "drop it, it carries no information")
        want = "categorical" if name in discrete else schema.get(name)
        cols.append(_column_meta(name, s, want))
    return cols


def _column_meta(name: str, s: pd.Series, want: str | None) -> dict:
    obs = s.dropna()
    meta = {"name": name, "dtype": str(s.dtype), "nan": bool(s.isna().any()), "nan_rate": float(s.isna().mean())}
    kind = want
    values = None
    if pd.api.types.is_bool_dtype(s.dtype):
        kind = "categorical"
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        kind = kind or "datetime"
    elif pd.api.types.is_numeric_dtype(s.dtype):
        values = obs.to_numpy(dtype=float)
    elif kind != "categorical":
        # Text: numbers stored as text, dates, or categories.
        num = pd.to_numeric(obs, errors="coerce")
        bad = obs[num.isna()]
        if len(bad) == 0 and kind != "datetime":
            values = num.to_numpy(dtype=float)
            meta["dtype"] = "float64"
        elif kind in ("continuous",) or (len(bad) <= 0.1 * len(obs) and len(bad) < len(obs)):
            row = int(bad.index[0])
            raise UsageError(f"column {name!r} is numeric but has non-numbers such as {_py(bad.iloc[0])!r} "
                             f"(row {row + 1}): fix or blank those cells, or declare it categorical "
                             f"with --discrete {name}")
        else:
            if kind == "datetime" or kind is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dt = pd.to_datetime(obs, errors="coerce", format="mixed") if kind == "datetime" or \
                        obs.astype(str).str.match(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").all() else None
                if dt is not None and dt.notna().all():
                    kind = "datetime"
                elif kind == "datetime":
                    raise UsageError(f"column {name!r} is declared datetime but has values that are not "
                                     f"dates such as {_py(obs[dt.isna()].iloc[0])!r}: fix them or change its type")
                else:
                    kind = "categorical"
    if values is not None and kind != "categorical" and kind != "datetime":
        is_int = bool(np.all(values == np.round(values)))
        if kind is None:
            kind = "categorical" if is_int and obs.nunique() <= FEW_VALUES else "continuous"
        if kind == "continuous":
            lo, hi = (int(obs.min()), int(obs.max())) if pd.api.types.is_integer_dtype(s.dtype) else \
                (float(values.min()), float(values.max()))     # exact bounds of integers past 2^53
            meta.update(is_int=is_int, min=lo, max=hi,
                        decimals=_decimals(values, pd.api.types.is_float_dtype(s.dtype) and s.dtype.itemsize < 8))
    if kind == "datetime":
        secs = _to_seconds(obs)
        meta.update(is_int=False, min=float(secs.min()), max=float(secs.max()), decimals=None)
    meta["kind"] = kind or "categorical"
    if meta["kind"] == "categorical":
        meta["categories"] = [_py(v) for v in pd.unique(obs)]
    return meta


def _to_seconds(s: pd.Series) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt = pd.to_datetime(s, errors="coerce", format="mixed") if not pd.api.types.is_datetime64_any_dtype(s) else s
    if getattr(dt.dt, "tz", None) is not None:
        dt = dt.dt.tz_convert(None)
    return dt.astype("datetime64[ns]").to_numpy().astype("int64").astype(float) / 1e9

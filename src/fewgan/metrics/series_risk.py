"""Stylized facts and risk checks of a series' returns: what a risk manager looks at first.

Inputs are paths of levels in original units, (N, T, F): the real data as one long series
(N = 1) where it has one, the synthetic data as N long paths (`--eval-length` steps). Returns are
log returns for the features that are positive in the real data, differences otherwise (the
real data decides, so both sides get the same kind). Every statistic is per feature, pooled over
paths (pairs at lag k come from inside one path only), and keys average over features:

- ``kurtosis``: excess kurtosis of daily returns (0 for a normal; heavy tails > 0).
- ``acf`` / ``acf_abs``: autocorrelation of r and of |r| at lags 1..20 (returns: ~0; |r|: slowly
  decaying > 0, volatility clustering). Lag-k pairs are averaged over pairs, not divided by the
  path length, so short and long paths are comparable.
- ``leverage``: corr(r_t, |r_{t+k}|) averaged over k = 1..10 (< 0 for equities: falls raise
  later volatility).
- ``VaR`` / ``ES`` at 95% and 99% of 1-day and 10-day returns (10-day = sum of 10 consecutive log
  returns, overlapping, inside a path), as positive losses: VaR_a = -quantile_{1-a}, ES_a = -mean of
  the returns at or below that quantile.
- ``drawdown``: maximum drawdown of each path of the synthetic length (log features: as a
  fraction of the running peak, 1 - exp(-max drop of the log level)), its distribution real
  (every window of that length of the real series) vs synthetic: median, 95th percentile, KS distance.
- ``cross_corr`` / ``cross_corr_abs``: correlation matrices of r and |r| across features.
"""
from __future__ import annotations

import numpy as np

from . import register

LAGS, LEVERAGE_LAGS, HORIZONS, LEVELS = 20, 10, (1, 10), (95, 99)


def log_mask(real: np.ndarray) -> np.ndarray:
    """(F,) True where every real value is positive: those features get log returns."""
    return (np.asarray(real) > 0).all(axis=tuple(range(np.ndim(real) - 1)))


def to_returns(x: np.ndarray, mask: np.ndarray, floor: np.ndarray | None = None) -> np.ndarray:
    """(N, T, F) levels -> (N, T-1, F) returns. floor: (F,) the smallest level a log feature may take
    (synthetic paths that reach 0 or below get that floor: a huge, honest, loss)."""
    x = np.asarray(x, np.float64)
    r = np.diff(x, axis=1)
    if mask.any():
        lv = x[..., mask]
        if floor is not None:
            lv = np.maximum(lv, floor[mask])
        r[..., mask] = np.diff(np.log(lv), axis=1)
    return r


def excess_kurtosis(r: np.ndarray) -> np.ndarray:
    flat = r.reshape(-1, r.shape[-1])
    d = flat - flat.mean(0)
    return (d ** 4).mean(0) / np.maximum((d ** 2).mean(0) ** 2, 1e-300) - 3


def acf(r: np.ndarray, lags: int = LAGS) -> np.ndarray:
    """(lags, F) autocorrelation at lags 1..lags, pooled over paths (N, T, F)."""
    d = r - r.reshape(-1, r.shape[-1]).mean(0)
    var = np.maximum((d * d).reshape(-1, r.shape[-1]).mean(0), 1e-300)
    lags = min(lags, r.shape[1] - 1)
    return np.stack([(d[:, k:] * d[:, :-k]).reshape(-1, r.shape[-1]).mean(0) / var for k in range(1, lags + 1)])


def leverage(r: np.ndarray, lags: int = LEVERAGE_LAGS) -> np.ndarray:
    """(F,) mean over k = 1..lags of corr(r_t, |r_{t+k}|), pooled over paths."""
    return leverage_lags(r, lags).mean(0)


def leverage_lags(r: np.ndarray, lags: int = LEVERAGE_LAGS) -> np.ndarray:
    """(lags, F) corr(r_t, |r_{t+k}|) at k = 1..lags, pooled over paths (N, T, F)."""
    f = r.shape[-1]
    a, b = r, np.abs(r)
    da = a - a.reshape(-1, f).mean(0)
    db = b - b.reshape(-1, f).mean(0)
    sa = np.sqrt(np.maximum((da ** 2).reshape(-1, f).mean(0), 1e-300))
    sb = np.sqrt(np.maximum((db ** 2).reshape(-1, f).mean(0), 1e-300))
    lags = min(lags, r.shape[1] - 1)
    return np.stack([(da[:, :-k] * db[:, k:]).reshape(-1, f).mean(0) / (sa * sb) for k in range(1, lags + 1)])


def horizon_returns(r: np.ndarray, h: int) -> np.ndarray:
    """(M, F) overlapping h-step sums of returns inside each path."""
    if h == 1:
        return r.reshape(-1, r.shape[-1])
    if r.shape[1] < h:
        return np.empty((0, r.shape[-1]))
    c = np.concatenate([np.zeros_like(r[:, :1]), np.cumsum(r, axis=1)], axis=1)
    return (c[:, h:] - c[:, :-h]).reshape(-1, r.shape[-1])


def var_es(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(F,) value at risk and expected shortfall at `level` (e.g. 99) of returns x (M, F), as losses."""
    if len(x) == 0:
        nan = np.full(x.shape[-1], np.nan)
        return nan, nan
    q = np.quantile(x, 1 - level / 100, axis=0)
    es = np.array([x[x[:, j] <= q[j], j].mean() for j in range(x.shape[1])])
    return -q, -es


def max_drawdown(r: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N, F) maximum drawdown of each path of returns (N, T, F)."""
    c = np.concatenate([np.zeros_like(r[:, :1]), np.cumsum(r, axis=1)], axis=1)
    dd = (np.maximum.accumulate(c, axis=1) - c).max(axis=1)
    dd[:, mask] = 1 - np.exp(-dd[:, mask])
    return dd


def ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance (0: same distribution, 1: disjoint)."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    grid = np.concatenate([a, b])
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def cross_corr(r: np.ndarray) -> np.ndarray:
    """(F, F) correlation across features of pooled returns."""
    flat = r.reshape(-1, r.shape[-1])
    sd = flat.std(0)
    d = (flat - flat.mean(0)) / np.where(sd > 0, sd, 1)
    return d.T @ d / len(d)


def stylized_facts(paths: np.ndarray, mask: np.ndarray, length: int, floor: np.ndarray | None = None) -> dict:
    """Per-feature statistics of level paths (N, T, F); drawdowns over every `length`-step window."""
    r = to_returns(paths, mask, floor)
    out = {"kurtosis": excess_kurtosis(r), "acf": acf(r), "acf_abs": acf(np.abs(r)), "leverage": leverage(r),
           "cross_corr": cross_corr(r), "cross_corr_abs": cross_corr(np.abs(r))}
    for h in HORIZONS:
        x = horizon_returns(r, h)
        for lv in LEVELS:
            out[f"var{lv}_{h}d"], out[f"es{lv}_{h}d"] = var_es(x, lv)
    steps = min(length, r.shape[1] + 1) - 1             # returns per drawdown window
    if r.shape[1] > steps:                               # every window of a long series (stride 1)
        idx = np.arange(r.shape[1] - steps + 1)[:, None] + np.arange(steps)[None, :]
        r = r[:, idx].reshape(-1, steps, r.shape[-1])
    out["drawdown"] = max_drawdown(r, mask)
    return out


def _offdiag(m: np.ndarray) -> np.ndarray:
    return m[~np.eye(len(m), dtype=bool)]


def _rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(b - a) / np.maximum(np.abs(a), 1e-12)


RISK_KEYS = [f"{m}{lv}_{h}d" for m in ("var", "es") for h in HORIZONS for lv in LEVELS]


@register("stylized_facts", {
    "kurtosis_gap": ("min", 0.0, float("inf"), "|excess kurtosis of synthetic daily returns - real|, mean over features"),
    "kurtosis_rel_gap": ("min", 0.0, float("inf"), "that gap relative to |real excess kurtosis|"),
    "acf_returns_gap": ("min", 0.0, 2.0, "|lag-1 autocorrelation of returns, synthetic - real|"),
    "acf_abs_returns_gap": ("min", 0.0, 2.0, "|lag-1 autocorrelation of |returns| (volatility clustering), "
                                             "synthetic - real|"),
    "acf_gap": ("min", 0.0, 2.0, "max over lags 1-20 of |acf of returns, synthetic - real|"),
    "acf_abs_gap": ("min", 0.0, 2.0, "max over lags 1-20 of |acf of |returns|, synthetic - real|"),
    "leverage_gap": ("min", 0.0, 2.0, "|corr(r_t, |r_t+k|) over k=1..10, synthetic - real| (leverage effect)"),
    "var_gap": ("min", 0.0, float("inf"), "relative error of 1- and 10-day VaR at 95% and 99%, mean"),
    "es_gap": ("min", 0.0, float("inf"), "relative error of 1- and 10-day expected shortfall at 95% and 99%, mean"),
    "drawdown_ks": ("min", 0.0, 1.0, "KS distance of maximum-drawdown distributions over --eval-length paths"),
    "cross_corr_gap": ("min", 0.0, 2.0, "mean |correlation of returns across features, synthetic - real|"),
    "cross_corr_abs_gap": ("min", 0.0, 2.0, "mean |correlation of |returns| across features, synthetic - real|")})
def compare(real: dict, fake: dict, columns: list[str]) -> dict:
    """real, fake: `stylized_facts` of each. Flat JSON-able results: the keys above, feature means of
    each statistic (`<stat>_real`, `<stat>_fake`), the acf curves and a per-column table."""
    def m(x):       # NaN (a statistic undefined on every column, e.g. flat paths) without numpy's warning
        x = np.asarray(x, float)
        return float(np.nanmean(x)) if (~np.isnan(x)).any() else float("nan")
    out = {"kurtosis_real": m(real["kurtosis"]), "kurtosis_fake": m(fake["kurtosis"]),
           "kurtosis_gap": m(np.abs(fake["kurtosis"] - real["kurtosis"])),
           "kurtosis_rel_gap": m(_rel(real["kurtosis"], fake["kurtosis"])),
           "acf_returns_real": m(real["acf"][0]), "acf_returns_fake": m(fake["acf"][0]),
           "acf_abs_returns_real": m(real["acf_abs"][0]), "acf_abs_returns_fake": m(fake["acf_abs"][0])}
    lags = min(len(real["acf"]), len(fake["acf"]))
    gap, gap_abs = np.abs(fake["acf"][:lags] - real["acf"][:lags]), np.abs(fake["acf_abs"][:lags] - real["acf_abs"][:lags])
    out.update(acf_returns_gap=m(gap[0]), acf_abs_returns_gap=m(gap_abs[0]),
               acf_gap=m(gap.max(0)), acf_abs_gap=m(gap_abs.max(0)),
               leverage_real=m(real["leverage"]), leverage_fake=m(fake["leverage"]),
               leverage_gap=m(np.abs(fake["leverage"] - real["leverage"])))
    for k in RISK_KEYS:
        out[f"{k}_real"], out[f"{k}_fake"] = m(real[k]), m(fake[k])
    out["var_gap"] = m([_rel(real[k], fake[k]) for k in RISK_KEYS if k.startswith("var")])
    out["es_gap"] = m([_rel(real[k], fake[k]) for k in RISK_KEYS if k.startswith("es")])
    dr, df = real["drawdown"], fake["drawdown"]
    out["drawdown_ks"] = m([ks(dr[:, j], df[:, j]) for j in range(dr.shape[1])])
    for q, name in ((50, "median"), (95, "p95")):
        out[f"drawdown_{name}_real"], out[f"drawdown_{name}_fake"] = m(np.percentile(dr, q, 0)), m(np.percentile(df, q, 0))
    if len(columns) > 1:
        out["cross_corr_gap"] = m(np.abs(_offdiag(fake["cross_corr"] - real["cross_corr"])))
        out["cross_corr_abs_gap"] = m(np.abs(_offdiag(fake["cross_corr_abs"] - real["cross_corr_abs"])))
    # curves and matrices for the report (lists: JSON-able, ignored by --until and the CLI table)
    out["acf_curve_real"], out["acf_curve_fake"] = real["acf"].mean(1).tolist(), fake["acf"].mean(1).tolist()
    out["acf_abs_curve_real"], out["acf_abs_curve_fake"] = real["acf_abs"].mean(1).tolist(), fake["acf_abs"].mean(1).tolist()
    for k in ("cross_corr", "cross_corr_abs"):
        out[f"{k}_real_matrix"], out[f"{k}_fake_matrix"] = real[k].tolist(), fake[k].tolist()
    out["risk_by_column"] = {c: {s: [float(real[s][j]), float(fake[s][j])]
                                 for s in ("kurtosis", "leverage", *RISK_KEYS)}
                             | {"acf1": [float(real["acf"][0, j]), float(fake["acf"][0, j])],
                                "acf_abs1": [float(real["acf_abs"][0, j]), float(fake["acf_abs"][0, j])],
                                "drawdown_median": [float(np.median(dr[:, j])), float(np.median(df[:, j]))]}
                             for j, c in enumerate(columns)}
    return out


def real_paths(windows: np.ndarray) -> np.ndarray:
    """Decoded real windows (N, T, F) -> (1, N+T-1, F) the long series they were cut from when they
    are its stride-1 sliding windows (a CSV, macro); else the windows themselves (sines)."""
    w = np.asarray(windows, np.float64)
    if len(w) > 1 and w.shape[1] > 1 and np.allclose(w[1:, :-1], w[:-1, 1:], rtol=1e-9, atol=1e-9):
        return np.concatenate([w[0], w[1:, -1]])[None]
    return w


def risk_checks(real_windows: np.ndarray, fake_paths: np.ndarray, columns: list[str], length: int) -> dict:
    """The whole comparison: real decoded windows, synthetic decoded paths (N, L, F)."""
    real = real_paths(real_windows)
    mask = log_mask(real)
    pos = np.where(real > 0, real, np.inf).min(axis=(0, 1))
    floor = np.where(np.isfinite(pos), pos * 1e-3, 1e-12)
    fake = np.asarray(fake_paths, np.float64)
    out = compare(stylized_facts(real, mask, length), stylized_facts(fake, mask, length, floor), columns)
    out["nonpositive_fake"] = float((fake[..., mask] <= 0).mean()) if mask.any() else 0.0
    out["real_series_steps"] = int(real.shape[1]) if len(real) == 1 else None
    return out


def verdicts(res: dict) -> list[tuple[str, str]]:
    if "kurtosis_gap" not in res:
        return []
    r = res
    lines = [("kurtosis_gap", f"returns (means over features): excess kurtosis {r['kurtosis_fake']:.2f} synthetic vs "
              f"{r['kurtosis_real']:.2f} real (heavy tails); lag-1 autocorrelation {r['acf_returns_fake']:.3f} vs "
              f"{r['acf_returns_real']:.3f}; of |returns| {r['acf_abs_returns_fake']:.2f} vs "
              f"{r['acf_abs_returns_real']:.2f} (volatility clustering; largest gap over lags 1-20: "
              f"{r['acf_abs_gap']:.2f}); leverage {r['leverage_fake']:.3f} vs {r['leverage_real']:.3f}."),
             ("var_gap", f"1-day 99% VaR {r['var99_1d_fake']:.4f} vs {r['var99_1d_real']:.4f} real, ES "
              f"{r['es99_1d_fake']:.4f} vs {r['es99_1d_real']:.4f}; 10-day 99% VaR {r['var99_10d_fake']:.4f} vs "
              f"{r['var99_10d_real']:.4f} (log-return losses); mean relative error of VaR {r['var_gap']:.0%}, "
              f"of ES {r['es_gap']:.0%}" + (": tail risk is understated." if r['es99_1d_fake'] < 0.85 * r['es99_1d_real']
                                            else ": tail risk is overstated." if r['es99_1d_fake'] > 1.15 * r['es99_1d_real']
                                            else ".")),
             ("drawdown_ks", f"maximum drawdown over {r.get('eval_length')}-step paths: median "
              f"{r['drawdown_median_fake']:.3f} synthetic vs {r['drawdown_median_real']:.3f} real, 95th percentile "
              f"{r['drawdown_p95_fake']:.3f} vs {r['drawdown_p95_real']:.3f} (KS distance {r['drawdown_ks']:.2f}).")]
    if "cross_corr_gap" in r:
        lines.append(("cross_corr_gap", f"cross-series correlation: mean gap {r['cross_corr_gap']:.3f} for returns, "
                      f"{r['cross_corr_abs_gap']:.3f} for |returns| (heatmaps below)."))
    return lines

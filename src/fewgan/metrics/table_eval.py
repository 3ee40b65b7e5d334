"""Table metrics (real and fake are DataFrames; `kinds` maps column -> 'numeric' | 'categorical').

- column_shapes: mean over columns of 1 - KS statistic (numeric) or 1 - total variation distance
  (categorical), on non-missing values. The definition of SDMetrics' Column Shapes property.
- pair_trends: mean over column pairs of 1 - |r_real - r_fake| / 2 (Pearson, both numeric) or
  1 - TV distance of the joint frequency table (otherwise; numeric columns binned into 10 equal-width
  bins, each table over its own range as SDMetrics 0.32's report does; missing values a category). As in SDMetrics >= 0.27, a pair
  counts only when it matters in the real data: |r_real| > 0.5 or Cramér's V > 0.3.
- quality: mean of the two (SDMetrics' QualityReport score when both are defined).
- detection: 3-fold cross-validated ROC-AUC of a logistic regression telling real from fake rows,
  mapped to 1 - 2 * max(AUC - 0.5, 0): 1 = indistinguishable, 0 = perfectly separable.
- ml_efficacy: a gradient-boosting model trained on fake rows and tested on a real holdout, divided
  by the same model trained on real training rows (macro F1 for a categorical target, R^2 for a
  numeric one): 1 = the synthetic data is as useful for that task as the real data.
- dcr: overfitting protection by distance to closest record: s = share of fake rows whose nearest
  real row is in the training rows rather than in an equally large real holdout (0.5 when the
  generator does not copy); dcr = min(1, 2 * (1 - s)). 1 = no sign of copying.
"""
from __future__ import annotations

import math
from itertools import combinations
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import load_all, register

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 5000          # metrics subsample each table to at most this many rows (seeded)
CORR_THRESHOLD, CRAMER_THRESHOLD = 0.5, 0.3


def numeric_values(s: pd.Series) -> np.ndarray:
    """A numeric or datetime column as floats (datetimes in ns), NaN where missing or unparseable."""
    import pandas as pd
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
        out[s.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ks_2samp
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(ks_2samp(a, b).statistic)


def _codes_pair(r: pd.Series, f: pd.Series, numeric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes shared by real and fake (categorical: NaN its own code)."""
    import pandas as pd
    if numeric:
        # As SDMetrics 0.32's QualityReport does: each table is binned by 10 equal-width bins of
        # its *own* range (np.digitize; the maximum and NaN fall in bins of their own).
        def binned(v):
            obs = v[~np.isnan(v)]
            return np.digitize(v, np.histogram_bin_edges(obs, bins=10) if len(obs) else np.arange(11.0))
        return binned(numeric_values(r)), binned(numeric_values(f))
    both = pd.concat([r, f], ignore_index=True).astype(object).where(lambda s: s.notna(), "\0nan")
    codes, _ = pd.factorize(both.astype(str))
    return codes[:len(r)], codes[len(r):]


@register("column_shapes", {"column_shapes": ("max", 0.0, 1.0, "mean per-column similarity: 1-KS (numeric), "
                                                                 "1-TV (categorical); SDMetrics' Column Shapes")})
def column_shapes(real: pd.DataFrame, fake: pd.DataFrame, kinds: dict[str, str], **_) -> dict:
    scores = column_shape_scores(real, fake, kinds)
    return {"column_shapes": float(np.nanmean(list(scores.values()))) if scores else float("nan")}


def column_shape_scores(real: pd.DataFrame, fake: pd.DataFrame, kinds: dict[str, str]) -> dict[str, float]:
    out = {}
    for col, kind in kinds.items():
        if kind == "numeric":
            out[col] = 1 - _ks(numeric_values(real[col]), numeric_values(fake[col]))
        else:
            r, f = real[col].dropna().astype(str), fake[col].dropna().astype(str)
            if len(r) == 0 or len(f) == 0:
                out[col] = float("nan")
                continue
            pr, pf = r.value_counts(normalize=True), f.value_counts(normalize=True)
            idx = pr.index.union(pf.index)
            out[col] = 1 - 0.5 * float(np.abs(pr.reindex(idx, fill_value=0) - pf.reindex(idx, fill_value=0)).sum())
    return out


@register("pair_trends", {"pair_trends": ("max", 0.0, 1.0, "mean pair similarity: correlation (numeric pairs), "
                                                             "contingency (others); pairs with |r|>0.5 or V>0.3 "
                                                             "in the real data; SDMetrics' Column Pair Trends")})
def pair_trends(real: pd.DataFrame, fake: pd.DataFrame, kinds: dict[str, str], threshold: bool = True, **_) -> dict:
    scores = pair_trend_scores(real, fake, kinds, threshold)
    vals = [s for s in scores.values() if s is not None and not math.isnan(s)]
    return {"pair_trends": float(np.mean(vals)) if vals else float("nan")}


def pair_trend_scores(real: pd.DataFrame, fake: pd.DataFrame, kinds: dict[str, str],
                      threshold: bool = True) -> dict[tuple[str, str], float | None]:
    """Score per pair; None for a pair below the real-data threshold (it does not count)."""
    import pandas as pd
    from scipy.stats.contingency import association
    out = {}
    cols = list(kinds)
    codes = {}
    for a, b in combinations(cols, 2):
        na, nb = kinds[a] == "numeric", kinds[b] == "numeric"
        if na and nb:
            ra, rb, fa, fb = numeric_values(real[a]), numeric_values(real[b]), numeric_values(fake[a]), numeric_values(fake[b])
            r, f = _pearson(ra, rb), _pearson(fa, fb)
            if threshold and (math.isnan(r) or abs(r) <= CORR_THRESHOLD):
                out[(a, b)] = None
                continue
            out[(a, b)] = 1 - abs(r - f) / 2 if not (math.isnan(r) or math.isnan(f)) else float("nan")
            continue
        for c in (a, b):
            if c not in codes:
                codes[c] = _codes_pair(real[c], fake[c], kinds[c] == "numeric")
        (ra, fa), (rb, fb) = codes[a], codes[b]
        kb = int(max(rb.max(), fb.max())) + 1
        jr, jf = ra.astype(np.int64) * kb + rb, fa.astype(np.int64) * kb + fb
        if threshold:
            ua, ia = np.unique(ra, return_inverse=True)
            ub, ib = np.unique(rb, return_inverse=True)
            if min(len(ua), len(ub)) < 2:
                out[(a, b)] = None
                continue
            table = np.zeros((len(ua), len(ub)), dtype=np.int64)
            np.add.at(table, (ia, ib), 1)
            if association(table, method="cramer") <= CRAMER_THRESHOLD:
                out[(a, b)] = None
                continue
        ur, cr = np.unique(jr, return_counts=True)
        uf, cf = np.unique(jf, return_counts=True)
        pr = pd.Series(cr / len(jr), index=ur)
        pf = pd.Series(cf / len(jf), index=uf)
        idx = pr.index.union(pf.index)
        out[(a, b)] = 1 - 0.5 * float(np.abs(pr.reindex(idx, fill_value=0) - pf.reindex(idx, fill_value=0)).sum())
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


@register("quality", {"quality": ("max", 0.0, 1.0, "mean of column_shapes and pair_trends "
                                                     "(SDMetrics QualityReport score)")})
def quality(real: pd.DataFrame, fake: pd.DataFrame, kinds: dict[str, str], **_) -> dict:
    cs = column_shapes(real, fake, kinds)["column_shapes"]
    pt = pair_trends(real, fake, kinds)["pair_trends"]
    return {"column_shapes": cs, "pair_trends": pt, "quality": float(np.nanmean([cs, pt]))}


class Features:
    """Rows -> a numeric matrix: numeric columns standardised (NaN -> 0 plus a missing indicator),
    categoricals one-hot (categories from the reference table, others all-zero)."""

    def __init__(self, ref: pd.DataFrame, kinds: dict[str, str]):
        import pandas as pd
        self.kinds = kinds
        self.stats = {}
        for c, k in kinds.items():
            if k == "numeric":
                v = numeric_values(ref[c])
                self.stats[c] = (np.nanmean(v), np.nanstd(v) or 1.0, bool(np.isnan(v).any()))
            else:
                self.stats[c] = list(pd.unique(ref[c].astype(object).where(ref[c].notna(), "\0nan").astype(str)))

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        parts = []
        for c, k in self.kinds.items():
            if k == "numeric":
                mu, sd, has_nan = self.stats[c]
                v = (numeric_values(df[c]) - mu) / sd
                miss = np.isnan(v)
                parts.append(np.where(miss, 0.0, v)[:, None])
                if has_nan:
                    parts.append(miss[:, None].astype(float))
            else:
                s = df[c].astype(object).where(df[c].notna(), "\0nan").astype(str)
                cats = self.stats[c]
                parts.append((s.to_numpy()[:, None] == np.asarray(cats, dtype=object)[None]).astype(float))
        return np.concatenate(parts, axis=1)


@register("detection", {"detection": ("max", 0.0, 1.0, "1 - 2*max(AUC-0.5, 0) of a logistic regression "
                                                         "telling real from fake rows (1 = indistinguishable)"),
                        "detection_auc": ("min", 0.0, 1.0, "that classifier's cross-validated ROC-AUC")})
def detection(real: pd.DataFrame, fake: pd.DataFrame, kinds: dict[str, str], seed: int = 0, **_) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    feats = Features(real, kinds)
    x = np.concatenate([feats(real), feats(fake)])
    y = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    auc = float(np.mean(cross_val_score(LogisticRegression(max_iter=500), x, y, cv=cv, scoring="roc_auc")))
    return {"detection": 1 - 2 * max(auc - 0.5, 0.0), "detection_auc": auc}


def pick_target(kinds: dict[str, str], target: str | None = None) -> str:
    """The ML-efficacy target: the given column, else the last categorical column, else the last column."""
    if target:
        return target
    cats = [c for c, k in kinds.items() if k == "categorical"]
    return cats[-1] if cats else list(kinds)[-1]


@register("ml_efficacy", {"ml_efficacy": ("max", 0.0, 1.5, "model trained on fake rows, tested on a real "
                                                             "holdout, relative to the same model trained on "
                                                             "real rows (1 = as useful as real data)")})
def ml_efficacy(train: pd.DataFrame, fake: pd.DataFrame, holdout: pd.DataFrame, kinds: dict[str, str],
                target: str | None = None, seed: int = 0, **_) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score
    target = pick_target(kinds, target)
    feat_kinds = {c: k for c, k in kinds.items() if c != target}
    feats = Features(train, feat_kinds)
    categorical = kinds[target] != "numeric"

    def score(df: pd.DataFrame) -> float:
        y_fit = df[target]
        if categorical:
            y_fit = y_fit.astype(object).where(y_fit.notna(), "\0nan").astype(str)
            if y_fit.nunique() < 2:
                return 0.0
            model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
        else:
            ok = y_fit.notna().to_numpy()
            df, y_fit = df[ok], numeric_values(y_fit[ok])
            model = HistGradientBoostingRegressor(max_iter=100, random_state=seed)
        model.fit(feats(df), y_fit)
        pred = model.predict(feats(holdout))
        y_true = holdout[target]
        if categorical:
            return float(f1_score(y_true.astype(object).where(y_true.notna(), "\0nan").astype(str), pred,
                                  average="macro"))
        ok = y_true.notna().to_numpy()
        return float(max(r2_score(numeric_values(y_true[ok]), pred[ok]), 0.0))

    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):      # OpenMP on shared cores can be 1000x slower than one thread
        real_score, fake_score = score(train), score(fake)
    return {"ml_efficacy": fake_score / real_score if real_score > 0 else float("nan"),
            "ml_fake": fake_score, "ml_real": real_score, "ml_target": target,
            "ml_score": "macro F1" if categorical else "R^2"}


@register("dcr", {"dcr": ("max", 0.0, 1.0, "overfitting protection by distance to closest record: "
                                             "min(1, 2*(1 - share of fake rows closer to training rows than "
                                             "to an equal-size real holdout)); 1 = no sign of copying")})
def dcr(train: pd.DataFrame, fake: pd.DataFrame, holdout: pd.DataFrame, kinds: dict[str, str], seed: int = 0,
        **_) -> dict:
    import pandas as pd
    import torch
    rng = np.random.default_rng(seed)
    m = min(len(train), len(holdout), 2000)
    tr = train.iloc[np.sort(rng.choice(len(train), m, replace=False))]
    ho = holdout.iloc[np.sort(rng.choice(len(holdout), m, replace=False))]
    fk = fake.iloc[np.sort(rng.choice(len(fake), min(len(fake), 2000), replace=False))]
    feats = Features(pd.concat([tr, ho]), kinds)
    f, t, h = (torch.from_numpy(feats(d)).float() for d in (fk, tr, ho))
    dt = torch.cdist(f, t).min(1).values.numpy()
    dh = torch.cdist(f, h).min(1).values.numpy()
    share = float(np.mean(dt < dh) + 0.5 * np.mean(dt == dh))
    return {"dcr": min(1.0, 2 * (1 - share)), "dcr_share_closer_to_train": share,
            "dcr_median_ratio": float(np.median(dt) / max(np.median(dh), 1e-12))}


def kinds_of(codec) -> dict[str, str]:
    kinds = {c["name"]: ("categorical" if c["kind"] == "categorical" else "numeric") for c in codec.columns}
    kinds.update({t: "numeric" for t in codec.constraints.rebuilt_totals()})   # not modelled, but scored
    return kinds


def _cap(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    if len(df) <= n:
        return df.reset_index(drop=True)
    return df.iloc[np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))].reset_index(drop=True)


class TableEvaluator:
    """Scores fakes against the training rows (quality, detection) and a holdout (ml_efficacy, dcr)."""

    def __init__(self, train: pd.DataFrame, holdout: pd.DataFrame | None, codec, target: str | None = None,
                 n_fake: int | None = None, seed: int = 0):
        load_all()
        self.codec, self.seed, self.target = codec, seed, target
        self.kinds = kinds_of(codec)
        self.train = _cap(train, MAX_ROWS, seed)
        self.holdout = None if holdout is None or len(holdout) < 5 else _cap(holdout, MAX_ROWS, seed)
        self.n_fake = n_fake or len(self.train)
        self.last_fake: pd.DataFrame | None = None
        self.baseline = self._real_baseline()

    def _real_baseline(self) -> dict:
        n = len(self.train)
        if n < 20:
            return {}
        perm = np.random.default_rng(self.seed).permutation(n)
        a, b = self.train.iloc[perm[: n // 2]], self.train.iloc[perm[n // 2:]]
        return {**quality(a, b, self.kinds), **detection(a, b, self.kinds, self.seed)}

    def evaluate(self, sample: Callable) -> dict:
        """sample(n, labels or None, seed) -> raw rows; decoded and scored."""
        self.codec.calibrate(sample)       # missing rates and marginal maps as sampling will give them
        fake = self.last_fake = self.codec.decode(sample(self.n_fake, None, self.seed + 12345))
        out = {**quality(self.train, fake, self.kinds), **detection(self.train, fake, self.kinds, self.seed)}
        if self.holdout is not None:
            out.update(ml_efficacy(self.train, fake, self.holdout, self.kinds, self.target, self.seed))
            out.update(dcr(self.train, fake, self.holdout, self.kinds, self.seed))
        else:
            out.update(ml_efficacy=None, dcr=None)
        out.update(n_real=len(self.train), n_fake=self.n_fake, n_holdout=0 if self.holdout is None else len(self.holdout))
        out.update({f"real_baseline_{k}": v for k, v in self.baseline.items() if k in ("quality", "column_shapes",
                                                                                      "pair_trends", "detection")})
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


def verdicts(res: dict) -> list[tuple[str, str]]:
    lines = []
    q, b = res.get("quality"), res.get("real_baseline_quality")
    if q is not None:
        lines.append(("quality", f"quality {q:.3f} (column shapes {res.get('column_shapes') or float('nan'):.3f}, "
                      f"pair trends {res.get('pair_trends') or float('nan'):.3f})"
                      + (f"; real half vs half {b:.3f}" if b is not None else "") + ": "
                      + ("as close to the data as another real sample would be." if b and q >= b - 0.02 else
                         "good." if q >= 0.85 else "marginals or pairs are off: train longer or check the report.")))
    d = res.get("detection")
    if d is not None:
        lines.append(("detection", f"detection {d:.2f} (AUC {res.get('detection_auc', float('nan')):.2f}): "
                      + ("a linear classifier barely tells synthetic from real rows." if d >= 0.8 else
                         "synthetic rows are partly distinguishable from real ones." if d >= 0.5 else
                         "synthetic rows are easy to tell from real ones.")))
    m = res.get("ml_efficacy")
    if m is not None:
        lines.append(("ml_efficacy", f"ML efficacy {m:.2f} for predicting {res.get('ml_target')!r} "
                      f"({res.get('ml_score')} {res.get('ml_fake', 0):.3f} trained on synthetic vs "
                      f"{res.get('ml_real', 0):.3f} on real)."))
    elif "ml_efficacy" in res:
        lines.append(("ml_efficacy", "ML efficacy and DCR need a real holdout: train with --holdout 0.2."))
    r = res.get("dcr")
    if r is not None:
        s = res.get("dcr_share_closer_to_train", float("nan"))
        lines.append(("dcr", f"DCR protection {r:.2f}: {s * 100:.0f}% of synthetic rows are closer to a training "
                      "row than to an unseen real row (50% = no copying) - "
                      + ("no sign of copying." if r >= 0.8 else "some rows sit close to training rows." if r >= 0.5
                         else "the generator reproduces training rows.")))
    return lines

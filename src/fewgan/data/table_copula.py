"""marginals="copula" (the small-table default): the Gaussian copula of the training rows that the
table generator starts as (nets/table.py). Every continuous column is one normal score (the
codec's quantile map), and every categorical column joins through a latent normal score; here:
their correlation, and the per-condition means and covariances that training-by-sampling needs.

The continuous columns' latent correlations are chosen so that the *decoded* columns have the
training rows' Pearson correlation (NORTA, Cario & Nelson 1997): the correlation of the normal
scores is attenuated by decoding wherever a column has ties or few values (fair's age x yrs_married:
0.895 in the data, 0.787 decoded from the score correlation; docs/benchmarks.md, round 14)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .table_columns import category_codes

HERMITE_TERMS = 80          # Mehler series terms for the decoded correlation (0.95^80 < 0.02)

COPULA_PRIOR = 2.0      # a category's mean normal scores shrink to 0 as n / (n + COPULA_PRIOR)
COPULA_PRIOR_COV = 10.0     # and its covariance to the pooled one as n / (n + COPULA_PRIOR_COV)


def copula_conditionals(df: pd.DataFrame, columns: list[dict], z: np.ndarray) -> dict | None:
    """marginals="copula": what G's linear path draws from under a condition (one category of one
    categorical column, as in training-by-sampling): mean normal scores per condition slot (the
    slot order of the condition vector, NaN slots included; shrunk for rare categories) and, per
    condition column, the pooled covariance of the scores around their category's mean. Summed
    over categories at their frequencies this gives back the training covariance, so unconditional
    samples stay the copula; conditioned ones get the class-conditional shift. z: (rows, columns).
    Per slot: its own covariance around its mean, shrunk to the column's pooled one for rare slots."""
    means, covs = [], []
    for c in columns:
        if c["kind"] != "categorical" or c.get("derived"):
            continue
        codes = category_codes(df[c["name"]], c)
        k = len(c["categories"]) + int(c["nan"])
        n = np.bincount(codes, minlength=k).astype(float)
        m = np.zeros((k, z.shape[1]))
        np.add.at(m, codes, z)
        m /= (n + COPULA_PRIOR)[:, None]
        r = z - m[codes]
        pooled = r.T @ r / len(z)
        for j in range(k):      # each category's own covariance, shrunk to the pooled one when rare
            rj = r[codes == j]
            covs.append(((rj.T @ rj + COPULA_PRIOR_COV * pooled) / (n[j] + COPULA_PRIOR_COV)).tolist())
        means += m.tolist()
    return {"mean": means, "cov": covs} if covs else None


def copula_fit(df: pd.DataFrame, columns: list[dict], scores: list[np.ndarray], seed: int,
               decoders: list, values: list) -> tuple[list, dict | None]:
    """scores: the continuous copula columns' normal scores of the training rows (0 where missing);
    decoders, values: theirs as in _decoded_pearson.
    Adds the categorical columns' latents (marks them c["copula"]) and returns (correlation of all
    latents, copula_conditionals): JSON-able lists, kept in the codec state."""
    # categorical columns join the copula through a latent normal score: a category is an
    # interval of the uniform (categories in their stored order, NaN last, widths = the
    # frequencies); a row's latent is a seeded uniform draw inside its category's interval
    from scipy.special import ndtri
    rng = np.random.default_rng(seed)
    scores = list(scores)
    for c in columns:
        if c["kind"] == "categorical" and not c.get("derived"):
            codes = category_codes(df[c["name"]], c)
            cum = np.r_[0.0, np.cumsum(c["freq"])]
            u = cum[codes] + (cum[codes + 1] - cum[codes]) * rng.uniform(0.05, 0.95, len(codes))
            c["copula"] = True
            scores.append(ndtri(np.clip(u, 1e-6, 1 - 1e-6)))
    z = np.array(scores)
    if len(decoders) > 1:
        z = _decoded_pearson(z, decoders, values)
    sd = z.std(1)
    corr = np.eye(len(z))
    ok = sd > 0             # a constant column correlates with nothing
    if ok.sum() > 1:
        corr[np.ix_(ok, ok)] = np.corrcoef(z[ok])
    np.fill_diagonal(corr, 1.0)
    return np.nan_to_num(corr).tolist(), copula_conditionals(df, columns, z.T)


def _hermite(g, terms: int = HERMITE_TERMS) -> tuple[np.ndarray, float]:
    """(a_k = E[g(Z) He_k(Z)] / sqrt(k!) for k = 1..terms, sd of g(Z)) for a map g of a standard
    normal Z: Cov(g1(Z1), g2(Z2)) = sum_k a_k b_k rho^k for (Z1, Z2) normal with correlation rho
    (Mehler). The sd is the full one: a step function's series converges slowly at rho = 1."""
    t = np.linspace(-8.5, 8.5, 34001)
    w = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi) * (t[1] - t[0])
    gt = g(t)
    gw = gt * w
    sd = float(np.sqrt(max(gw @ gt - gw.sum() ** 2 / w.sum(), 0.0) / w.sum()))
    h0, h1, out = np.ones_like(t), t.copy(), []
    for k in range(1, terms + 1):
        out.append(gw @ h1)
        h0, h1 = h1, (t * h1 - np.sqrt(k) * h0) / np.sqrt(k + 1)
    return np.array(out), sd


def _decoded_pearson(z: np.ndarray, decoders: list, values: list) -> np.ndarray:
    """z (latents, rows) with its first len(decoders) rows (the continuous columns' normal scores)
    linearly recoloured so that their correlation is the one whose decoded columns have the
    training rows' Pearson correlation; their covariance with the categorical latents is kept, and
    so every row's category. decoders[i]: normal score -> column value, as decode; values[i]: the
    column's training values (NaN where missing)."""
    n = len(decoders)
    coef, sd_g = (np.array(a) for a in zip(*[_hermite(d) for d in decoders]))     # (n, terms), (n,)
    with np.errstate(invalid="ignore", divide="ignore"):    # pairwise-complete rows; NaN if constant
        target = pd.DataFrame(np.array(values).T).corr(min_periods=3).to_numpy()
    valid = np.triu(np.isfinite(target) & (sd_g[:, None] > 0) & (sd_g[None, :] > 0), 1)
    target = np.where(valid, target, 0.0)
    # all pairs at once: the decoded correlation rises with rho (monotone maps), so bisect
    c = coef / np.where(sd_g > 0, sd_g, 1.0)[:, None]
    pw = np.arange(1, HERMITE_TERMS + 1)
    lo, hi = np.full((n, n), -0.999), np.full((n, n), 0.999)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        low = np.einsum("ik,jk,ijk->ij", c, c, mid[..., None] ** pw) < target
        lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
    rho = np.where(valid, 0.5 * (lo + hi), 0.0)
    rho = rho + rho.T + np.eye(n)
    w, v = np.linalg.eigh(rho)          # the nearest-ish positive definite correlation
    rho = (v * np.maximum(w, 1e-3)) @ v.T
    d = np.sqrt(np.diag(rho))
    rho = rho / d[:, None] / d[None, :]
    # Recolour: the continuous scores' part not explained by the categorical latents gets the
    # covariance that makes the continuous block's covariance sd * rho * sd.
    mu = z.mean(1, keepdims=True)
    x = z - mu          # (latents, rows)
    S = x @ x.T / x.shape[1]
    sd = np.sqrt(np.diag(S)[:n])
    B = S[:n, n:] @ np.linalg.pinv(S[n:, n:]) if z.shape[0] > n else np.zeros((n, 0))
    explained = B @ S[n:, :n]
    E, E2 = S[:n, :n] - explained, sd[:, None] * rho * sd[None, :] - explained
    e = x[:n] - B @ x[n:]
    M = _psd_pow(E2, 0.5) @ _psd_pow(E, -0.5)
    out = z.copy()
    out[:n] = mu[:n] + B @ x[n:] + M @ e
    return out


def _psd_pow(a: np.ndarray, p: float) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (a + a.T))
    w = np.maximum(w, 1e-6 * max(float(w.max()), 1e-12))
    return (v * w ** p) @ v.T

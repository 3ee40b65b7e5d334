"""marginals="copula" (the small-table default): the Gaussian copula of the training rows that the
table generator starts as (nets/table.py). Every continuous column is one normal score (the
codec's quantile map), and every categorical column joins through a latent normal score; here:
their correlation, and the per-condition means and covariances that training-by-sampling needs."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .table_columns import category_codes

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


def copula_fit(df: pd.DataFrame, columns: list[dict], scores: list[np.ndarray], seed: int
               ) -> tuple[list, dict | None]:
    """scores: the continuous copula columns' normal scores of the training rows (0 where missing).
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
    sd = z.std(1)
    corr = np.eye(len(z))
    ok = sd > 0             # a constant column correlates with nothing
    if ok.sum() > 1:
        corr[np.ix_(ok, ok)] = np.corrcoef(z[ok])
    np.fill_diagonal(corr, 1.0)
    return np.nan_to_num(corr).tolist(), copula_conditionals(df, columns, z.T)

"""Table report figures: per-column marginals (real vs synthetic) and correlation heatmaps."""
from __future__ import annotations

import math

import numpy as np

from ..metrics.table_eval import numeric_values
from .plots import fig_png

MAX_COLUMNS = 40      # marginal panels shown at most
MAX_CATEGORIES = 12   # bars per categorical panel (the most frequent real ones)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _png(fig) -> bytes:
    return fig_png(fig, dpi=80)


def _numeric(s) -> np.ndarray:
    v = numeric_values(s)
    return v[~np.isnan(v)]


def marginals_png(real, fake, kinds: dict[str, str]) -> bytes:
    plt = _plt()
    cols = list(kinds)[:MAX_COLUMNS]
    ncol = 4
    nrow = math.ceil(len(cols) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow), squeeze=False)
    for ax in axes.flat[len(cols):]:
        ax.axis("off")
    for ax, c in zip(axes.flat, cols):
        if kinds[c] == "numeric":
            r, f = _numeric(real[c]), _numeric(fake[c])
            lo, hi = (r.min(), r.max()) if len(r) else (0, 1)
            bins = np.linspace(lo, hi if hi > lo else lo + 1, 31)
            ax.hist(r, bins, density=True, alpha=0.5, label="real")
            ax.hist(np.clip(f, lo, hi), bins, density=True, alpha=0.5, label="synthetic")
        else:
            r = real[c].astype(object).where(real[c].notna(), "NaN").astype(str)
            f = fake[c].astype(object).where(fake[c].notna(), "NaN").astype(str)
            pr, pf = r.value_counts(normalize=True), f.value_counts(normalize=True)
            top = list(pr.index[:MAX_CATEGORIES])
            x = np.arange(len(top))
            ax.bar(x - 0.2, pr.reindex(top, fill_value=0).to_numpy(), 0.4, label="real")
            ax.bar(x + 0.2, pf.reindex(top, fill_value=0).to_numpy(), 0.4, label="synthetic")
            ax.set_xticks(x)
            ax.set_xticklabels([t.strip()[:10] for t in top], rotation=60, fontsize=6)
        nan_r, nan_f = real[c].isna().mean(), fake[c].isna().mean()
        extra = f" (NaN {nan_r:.0%}/{nan_f:.0%})" if nan_r or nan_f else ""
        ax.set_title(f"{c}{extra}"[:40], fontsize=8)
        ax.tick_params(labelsize=6)
    axes.flat[0].legend(fontsize=7)
    return _png(fig)


def correlation_matrix(df, kinds: dict[str, str]) -> np.ndarray:
    import pandas as pd
    cols = {}
    for c, k in kinds.items():
        s = df[c]
        if k == "numeric":
            cols[c] = pd.Series(numeric_values(s))
        else:
            cols[c] = pd.Series(pd.factorize(s.astype(object).where(s.notna(), "\0nan").astype(str), sort=True)[0],
                                dtype=float)
    return pd.DataFrame(cols).corr().to_numpy()


def correlation_png(df, kinds: dict[str, str], title: str) -> bytes:
    plt = _plt()
    m = correlation_matrix(df, kinds)
    names = list(kinds)
    size = min(10, 2 + 0.25 * len(names))
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)))
    ax.set_yticks(range(len(names)))
    fs = 7 if len(names) <= 20 else 5
    ax.set_xticklabels([n[:14] for n in names], rotation=90, fontsize=fs)
    ax.set_yticklabels([n[:14] for n in names], fontsize=fs)
    ax.set_title(f"{title} ({len(df)} rows)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _png(fig)

"""The series report's risk panels: acf curves, cross-series correlation heatmaps, a per-column
risk table (real vs synthetic), from the evaluation's results (metrics/series_risk.py)."""
from __future__ import annotations

import html

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def acf_png(res: dict) -> bytes:
    """Autocorrelation of returns and of |returns| at lags 1..20, real vs synthetic (feature means)."""
    from ...report.plots import fig_png
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
    for ax, key, title in ((axes[0], "acf_curve", "returns r"), (axes[1], "acf_abs_curve", "|r|")):
        for side, colour in (("real", "tab:red"), ("fake", "tab:blue")):
            y = res[f"{key}_{side}"]
            ax.plot(np.arange(1, len(y) + 1), y, "o-", ms=3, c=colour, label="real" if side == "real" else "synthetic")
        ax.axhline(0, c="#999", lw=0.8)
        ax.set_title(f"autocorrelation of {title}", fontsize=9)
        ax.set_xlabel("lag")
    axes[0].legend(fontsize=7)
    return fig_png(fig, dpi=80)


def corr_png(res: dict, columns: list[str]) -> bytes:
    """2 x 2 heatmaps: correlation across features of r and of |r|, real and synthetic."""
    from ...report.plots import fig_png
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(7, 6.2))
    for i, (key, what) in enumerate((("cross_corr", "r"), ("cross_corr_abs", "|r|"))):
        for j, side in enumerate(("real", "fake")):
            ax = axes[i][j]
            ax.imshow(np.asarray(res[f"{key}_{side}_matrix"]), vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_title(f"{'real' if side == 'real' else 'synthetic'}: corr of {what}", fontsize=9)
            ticks = np.arange(len(columns))
            ax.set_xticks(ticks, [c[:8] for c in columns], rotation=90, fontsize=6)
            ax.set_yticks(ticks, [c[:8] for c in columns], fontsize=6)
            if len(columns) <= 8:       # the values themselves: a colour bar would not fit tight_layout
                m = np.asarray(res[f"{key}_{side}_matrix"])
                for (r, c), v in np.ndenumerate(m):
                    ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(v) > 0.6 else "black")
    return fig_png(fig, dpi=80)


ROWS = [("kurtosis", "excess kurtosis"), ("acf1", "acf(r), lag 1"), ("acf_abs1", "acf(|r|), lag 1"),
        ("leverage", "leverage corr(r_t, |r_t+k|)"), ("var95_1d", "VaR 95% 1-day"), ("var99_1d", "VaR 99% 1-day"),
        ("es95_1d", "ES 95% 1-day"), ("es99_1d", "ES 99% 1-day"), ("var95_10d", "VaR 95% 10-day"),
        ("var99_10d", "VaR 99% 10-day"), ("es95_10d", "ES 95% 10-day"), ("es99_10d", "ES 99% 10-day"),
        ("drawdown_median", "max drawdown, median")]


def risk_table(res: dict) -> str:
    by = res["risk_by_column"]
    head = "".join(f"<th colspan=2>{html.escape(c)}</th>" for c in by)
    sub = "<th>real</th><th>synthetic</th>" * len(by)
    body = "".join(f"<tr><th>{html.escape(label)}</th>"
                   + "".join(f"<td>{by[c][k][0]:.4g}</td><td>{by[c][k][1]:.4g}</td>" for c in by) + "</tr>"
                   for k, label in ROWS)
    return f"<table><tr><th></th>{head}</tr><tr><th></th>{sub}</tr>{body}</table>"


def risk_panels(res: dict, columns: list[str], img_tag) -> list[tuple[str, str]]:
    if "acf_curve_real" not in res:
        return []
    length = res.get("eval_length")
    note = (f"<p>Real: the whole series ({res['real_series_steps']} steps); synthetic: {res['eval_paths']} paths of "
            f"{length} steps. Log returns for positive columns, differences otherwise; VaR/ES as losses; "
            f"drawdowns over every {length}-step window.</p>" if res.get("real_series_steps")
            else f"<p>Independent windows of {length} steps, real and synthetic.</p>")
    out = [("Autocorrelation of returns and |returns| (stylized facts)", img_tag(acf_png(res)) + note),
           ("Risk checks per column", risk_table(res))]
    if len(columns) > 1:
        out.append(("Cross-series correlation of returns and |returns|", img_tag(corr_png(res, columns))
                    + f"<p>Mean absolute gap off the diagonal: {res['cross_corr_gap']:.3f} (r), "
                      f"{res['cross_corr_abs_gap']:.3f} (|r|).</p>"))
    return out

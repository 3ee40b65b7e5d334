"""report.html panels of a text run: samples beside their nearest training line, held-out lines,
the quality-diversity curve over sampling temperatures, and the MLE loss / Gumbel beta curves."""
from __future__ import annotations

import html

import numpy as np

from ...report.html import img_tag
from ...report.plots import fig_png, panels_png
from ...train.stats import read_stats
from .data import tokenize

N_SHOWN = 24
TEMPERATURES = (0.5, 0.7, 0.85, 1.0, 1.2, 1.5)


def nearest(sample: list, train: np.ndarray, lens: np.ndarray) -> tuple[int, int]:
    """(index, edit distance) of the training line closest to `sample` in Levenshtein distance.
    train: (N, L) token codes padded with -1, lens: (N,); the DP runs over all N lines at once."""
    n, L = train.shape
    prev = np.tile(np.arange(L + 1), (n, 1))                             # row 0: distance to the empty sample
    for i, tok in enumerate(sample, 1):
        cur = np.empty_like(prev)
        cur[:, 0] = i
        sub = prev[:, :-1] + (train != tok)                                  # (N, L)
        best = np.minimum(prev[:, 1:] + 1, sub)
        for j in range(L):                                                   # insertions run along the line
            cur[:, j + 1] = np.minimum(best[:, j], cur[:, j] + 1)
        prev = cur
    d = prev[np.arange(n), lens]
    k = int(d.argmin())
    return k, int(d[k])


def _codes(lines_tok: list[list[str]]) -> tuple[np.ndarray, np.ndarray, dict]:
    index: dict[str, int] = {}
    L = max(len(t) for t in lines_tok)
    arr = np.full((len(lines_tok), L), -1, np.int64)
    for r, toks in enumerate(lines_tok):
        arr[r, :len(toks)] = [index.setdefault(t, len(index)) for t in toks]
    return arr, np.array([len(t) for t in lines_tok]), index


def sample_table(lines: list[str], train: list[str], heldout: list[str], tokens: str) -> str:
    train_tok = [tokenize(s, tokens) for s in train]
    arr, lens, index = _codes(train_tok)
    held, train_set = set(heldout) - set(train), set(train)
    rows = []
    for s in lines[:N_SHOWN]:
        codes = [index.get(t, -2) for t in tokenize(s, tokens)]
        k, d = nearest(codes, arr, lens)
        tag = "copy of a training line" if s in train_set else "held-out hit" if s in held else "new"
        rows.append(f"<tr><td><code>{html.escape(s) or '(empty)'}</code></td><td><code>{html.escape(train[k])}"
                    f"</code></td><td>{d}</td><td>{tag}</td></tr>")
    return ("<table><tr><th>sample</th><th>nearest training line</th><th>edit distance</th><th></th></tr>"
            + "".join(rows) + "</table>")


def qd_png(points: list[tuple[float, dict]], real: dict | None) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    xs, ys = [p["self_bleu4"] for _, p in points], [p["bleu4"] for _, p in points]
    ax.plot(xs, ys, marker="o", label="this run")
    for (t, _), x, y in zip(points, xs, ys):
        ax.annotate(f"T={t:g}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if real and real.get("self_bleu4") is not None:
        ax.scatter([real["self_bleu4"]], [real["bleu4"]], marker="*", s=120, c="tab:red", label="real lines")
    ax.set_xlabel("self-BLEU-4 (lower = more diverse)")
    ax.set_ylabel("BLEU-4 vs held-out (higher = better quality)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig_png(fig)


def panels(ev) -> list[tuple[str, str]]:
    evaluator, prep = ev.evaluator, ev.prep
    codec = prep.codec
    lines = evaluator.last_lines or []
    t = ev.results.get("temperature", 1.0)
    out = [(f"Samples (G_ema, temperature {t:g}) and the nearest training line",
            sample_table(lines, prep.train_lines, prep.heldout_lines, codec.tokens)),
           ("Held-out real lines (never trained on)",
            "<ul>" + "".join(f"<li><code>{html.escape(s)}</code></li>" for s in prep.heldout_lines[:N_SHOWN]) + "</ul>")]
    n = min(evaluator.n, 500)
    pts = [(temp, evaluator.quality_diversity(temp, n)[2]) for temp in TEMPERATURES]
    real = {k[len("real_baseline_"):]: v for k, v in ev.results.items() if k.startswith("real_baseline_")}
    rows = "".join(f"<tr><td>{temp:g}</td><td>{p['bleu4']:.3f}</td><td>{p['self_bleu4']:.3f}</td>"
                   f"<td>{p['novelty']:.3f}</td><td>{p['heldout_hits']:.3f}</td></tr>" for temp, p in pts)
    out.append(("Quality-diversity across sampling temperatures", img_tag(qd_png(pts, real)) +
                f"<p>{n} samples per temperature. A lower temperature trades diversity for quality: compare runs "
                "by their whole curve (Caccia et al. 2020), not by one point.</p><table><tr><th>T</th><th>BLEU-4</th>"
                f"<th>self-BLEU-4</th><th>novelty</th><th>held-out hits</th></tr>{rows}</table>"))
    png = panels_png([r for r in read_stats(ev.run / "stats.jsonl") if "event" not in r],
                     [("MLE loss (nats/token)", ("loss/MLE",)), ("Gumbel-softmax inverse temperature", ("beta",))])
    out.append(("Pre-training loss and the adversarial schedule", img_tag(png)))
    return out

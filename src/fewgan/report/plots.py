"""losses.png from stats.jsonl (matplotlib, Agg backend, imported only when plotting)."""
from __future__ import annotations

import io
from pathlib import Path

from ..train.stats import read_stats


def plot_losses(stats_path: Path, out_path: Path) -> bool:
    rows = [r for r in read_stats(stats_path) if "event" not in r]
    if not rows:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..train.checkpoint import atomic_write_bytes

    steps = [r["step"] for r in rows]
    panels = [("losses", [k for k in ("loss/G", "loss/D", "loss/R1", "loss/GP") if any(k in r for r in rows)]),
              ("D logits (mean)", [k for k in ("D/real", "D/fake") if any(k in r for r in rows)]),
              ("ADA p and r_t", [k for k in ("ada_p", "ada/rt") if any(r.get(k) is not None for r in rows)])]
    panels = [(t, ks) for t, ks in panels if ks]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.2), squeeze=False)
    for ax, (title, keys) in zip(axes[0], panels):
        for k in keys:
            pts = [(s, r[k]) for s, r in zip(steps, rows) if r.get(k) is not None]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k, lw=1.2)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    atomic_write_bytes(out_path, buf.getvalue())
    return True

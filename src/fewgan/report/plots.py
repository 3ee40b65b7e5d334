"""losses.png from stats.jsonl (matplotlib, Agg backend, imported only when plotting)."""
from __future__ import annotations

import io
from pathlib import Path

from ..train.stats import read_stats


def plot_losses(stats_path: Path, out_path: Path) -> bool:
    png = losses_png(read_stats(stats_path))
    if png is None:
        return False
    from ..train.checkpoint import atomic_write_bytes
    atomic_write_bytes(out_path, png)
    return True


def losses_png(rows: list[dict]) -> bytes | None:
    """Loss, D-logit and ADA panels from stats.jsonl rows."""
    rows = [r for r in rows if "event" not in r]
    return panels_png(rows, [("losses", ("loss/G", "loss/D", "loss/R1", "loss/GP")),
                             ("D logits (mean)", ("D/real", "D/fake")),
                             ("ADA p and r_t", ("ada_p", "ada/rt"))])


def metrics_png(rows: list[dict], spec: list[tuple[str, tuple[str, ...]]]) -> bytes | None:
    """Metric curves from metrics.jsonl rows; spec = [(panel title, metric keys)], the modality's."""
    return panels_png(rows, spec)


def panels_png(rows: list[dict], spec: list[tuple[str, tuple[str, ...]]]) -> bytes | None:
    if not rows:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    panels = [(t, [k for k in keys if any(r.get(k) is not None for r in rows)]) for t, keys in spec]
    panels = [(t, ks) for t, ks in panels if ks]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.2), squeeze=False)
    for ax, (title, keys) in zip(axes[0], panels):
        for k in keys:
            pts = [(s, r[k]) for s, r in zip(steps, rows) if r.get(k) is not None]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k, lw=1.2, marker="." if len(pts) < 30 else None)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return fig_png(fig)


def fig_png(fig, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes (tight layout); the figure is closed."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()

"""One self-contained report.html per run: every image is embedded, nothing is fetched."""
from __future__ import annotations

import base64
import html
import json
import os
import platform
import sys
import time
from pathlib import Path

from ..train.checkpoint import atomic_write_text
from ..train.stats import read_stats
from .plots import losses_png, metrics_png

# Sample grids show at their own pixel size (grid_png already upscales tiny ones to >= 256 px):
# a 64-px 8x8 grid is 530 px wide and a 128-px one 1042, and scaling them down would blur exactly
# the fine structure (vessels, nuclei) a reader checks. Wide ones scroll inside their panel.
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.sub{color:#666} img{image-rendering:pixelated;max-width:100%} .panel img{max-width:none} .panel{overflow-x:auto} .grid2{display:flex;gap:2rem;flex-wrap:wrap}
.grid2>div{flex:1;min-width:300px} table{border-collapse:collapse} td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;
text-align:left;font-variant-numeric:tabular-nums} .verdict li{margin:.25rem 0} code{background:#f4f4f4;padding:0 .2rem}
"""


def img_tag(png: bytes | None, alt: str = "") -> str:
    if not png:
        return "<p class=sub>(no data yet)</p>"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(rows: list[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def environment() -> list[tuple[str, object]]:
    import numpy
    import torch
    from .. import __version__
    return [("fewgan", __version__), ("python", sys.version.split()[0]), ("torch", torch.__version__),
            ("numpy", numpy.__version__), ("platform", platform.platform()),
            ("cpu cores", os.cpu_count()), ("cuda", torch.cuda.is_available()),
            ("generated", time.strftime("%Y-%m-%d %H:%M:%S"))]


def write_report(run: Path, data: str | None = None, device: str = "cpu", **overrides) -> Path:
    from ..evaluation import evaluate_run
    run = Path(run)
    ev = evaluate_run(run, data=data, device=device, log=True, **overrides)   # fresh metrics for the final weights
    modality, res = ev.generator.modality, ev.results
    cfg = ev.generator.config
    ck = ev.generator.checkpoint
    stats = read_stats(run / "stats.jsonl")
    mrows = read_stats(run / "metrics.jsonl")
    parts = [f"<h1>fewgan run report: {html.escape(run.name)}</h1>",
             f"<p class=sub>{html.escape(cfg.modality)} · data <code>{html.escape(str(cfg.data))}</code> · step "
             f"{ck['step']} ({ck['nimg'] / 1000:.1f} kimg, {ck['elapsed_s'] / 60:.1f} min of training) · "
             f"loss {cfg.loss} · augment {cfg.augment}</p>"]
    parts.append("<h2>Verdict</h2><ul class=verdict>"
                 + "".join(f"<li>{html.escape(s)}</li>" for _, s in modality.verdicts(res)) + "</ul>")
    keys = [(k, v) for k, v in res.items() if isinstance(v, (int, float)) and not k.startswith("real_baseline_")]
    base = {k[len("real_baseline_"):]: v for k, v in res.items() if k.startswith("real_baseline_")}
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td><td>{_fmt(base[k]) if k in base else ''}</td></tr>"
                   for k, v in keys)
    parts.append(f"<h2>Metrics at step {ck['step']}</h2><p class=sub>features: {html.escape(str(res.get('extractor')))};"
                 f" real-vs-real = one half of the real data against the other, on the same features.</p>"
                 f"<table><tr><th>metric</th><th>this run</th><th>real vs real</th></tr>{rows}</table>")
    panels = modality.report_panels(ev)
    # The first two panels (samples, real data) side by side, the rest full width.
    parts.append("<div class=grid2>" + "".join(f"<div class=panel><h2>{html.escape(t)}</h2>{h}</div>"
                                               for t, h in panels[:2]) + "</div>")
    for t, h in panels[2:]:
        parts.append(f"<div class=panel><h2>{html.escape(t)}</h2>{h}</div>")
    ada_note = "" if cfg.augment == "ada" else (f"<p class=sub>ADA is off for this run (augment={cfg.augment}"
                                                + (": p fixed at 1" if cfg.augment == "diffaug" else "") + ").</p>")
    parts.append(f"<h2>Training curves (losses, D outputs, ADA p)</h2>{ada_note}{img_tag(losses_png(stats), 'losses')}")
    parts.append(f"<h2>Metric curves</h2>{img_tag(metrics_png(mrows, modality.metric_panels), 'metrics')}")
    parts.append(f"<h2>Config</h2>{_table(sorted(cfg.flat().items()))}")
    parts.append(f"<h2>Environment</h2>{_table(environment())}")
    doc = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>fewgan report: {html.escape(run.name)}"
           f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    out = ev.run / "report.html"
    atomic_write_text(out, doc)
    return out

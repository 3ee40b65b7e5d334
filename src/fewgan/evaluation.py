"""Evaluate a saved run: rebuild G_ema and the data, compute the modality's metrics, log them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .errors import UsageError
from .modalities import Prepared, get_modality, get_plugin
from .train.checkpoint import load_checkpoint
from .train.loop import resolve_device
from .train.run import ARRAY_DATA, TrainedGenerator, _find_checkpoint
from .train.stats import append_jsonl


@dataclass
class Evaluation:
    results: dict
    run: Path
    step: int
    generator: TrainedGenerator
    prep: Prepared
    evaluator: Any

    def sample(self, n, labels=None, seed=0, length=None):
        return self.generator.sample(n, labels, seed, length=length)


def evaluate_run(run: Path, data: str | None = None, n: int | None = None, device: str = "cpu", log: bool = True,
                 progress: bool = True, **overrides) -> Evaluation:
    """overrides: option fields the modality lets `evaluate` change (Plugin.eval_flags), e.g. features.
    progress: a progress bar on stderr, for evaluators that have one (a `progress` attribute)."""
    run = Path(run)
    resolve_device(device)
    ck = load_checkpoint(_find_checkpoint(run))
    cfg = TrainConfig.from_dict(ck["config"])
    allowed = get_plugin(cfg.modality).eval_flags
    bad = [k for k, v in overrides.items() if v is not None and k not in allowed]
    if bad:
        raise UsageError(f"--{bad[0].replace('_', '-')} does not apply to {cfg.modality} runs")
    opts = cfg.options.replace(**{k: v for k, v in overrides.items() if v is not None})
    if data:
        cfg.data = data
        other = getattr(opts, "for_other_data", None)
        opts = other() if other else opts
    elif cfg.data == ARRAY_DATA:
        raise UsageError(f"{run} was trained on an in-memory array: pass --data with the real data to compare to")
    cfg.options = opts
    cfg.eval_n = n or cfg.eval_n
    cfg.device = device
    cfg.validate()
    gen = TrainedGenerator(ck, device)
    modality = get_modality(cfg.modality)
    prep = modality.prepare(cfg)
    adapt = getattr(modality, "adapt_prepared", None)
    if adapt is not None:
        prep = adapt(prep, gen.codec)
    run_dir = run if run.is_dir() else run.parent
    evaluator = modality.make_evaluator(cfg, prep, run_dir)
    if hasattr(evaluator, "progress"):
        evaluator.progress = progress
    ev = Evaluation({}, run_dir, ck["step"], gen, prep, evaluator)
    bind = getattr(evaluator, "bind_generator", None)
    if bind is not None:          # likelihood metrics (text) need the net's probabilities, not only samples
        bind(gen.G)
    ev.results = evaluator.evaluate(ev.sample)
    if log:
        append_jsonl(run_dir / "metrics.jsonl", {"step": ck["step"], "kimg": round(ck["nimg"] / 1000, 3),
                                                 "source": "evaluate", **ev.results})
    return ev

"""A modality = a data codec + networks + defaults (+ metrics later). The engine knows nothing else.

Each modality module registers one object in MODALITIES with this duck-typed interface:
  prepare(cfg, data=None, labels=None) -> Prepared      load, subset, fit the codec, encode
  codec_from_state(state) -> codec                      rebuild the codec from a checkpoint
  resolve_defaults(cfg, prepared) -> cfg                fill None fields by data size
  build_nets(cfg, codec) -> (G, D)
  make_augment(cfg) -> callable(x, p) | None            applied inside run_D only
  decode(samples, codec) -> user format                 e.g. uint8 images
  preview(samples, codec, path)                          write a picture of samples
  make_evaluator(cfg, prep, cache_dir) -> evaluator      .evaluate(sample_fn) -> dict of metrics
  verdicts(results) -> [(key, sentence)]; report_panels(evaluation) -> [(title, html)]
  write_samples(generator, n, path, seed, condition)     `fewgan sample`: the file formats it knows
  primary_metric, metric_panels                         best.pt's metric key; the report's metric curves
Optional: make_phases(engine) (a training step other than one D + one G step, see train/phases.py),
g_aux(fake, c, codec) (an extra G loss term); on the codec: sample_batch(x, y, batch, device),
conditions(n, labels, gen) and noise_shape(z_dim) (see train/sampling.py); adapt_prepared(prep, codec)
(evaluation and resume: reconcile data prepared afresh with the run's own codec).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import UsageError
from ..registry import Registry

MODALITIES: Registry = Registry("modality")
NAMES = ("image", "table", "series")    # each is a module of this package, imported on first use


@dataclass
class Prepared:
    x: torch.Tensor               # (N, ...) encoded training data, float32
    y: torch.Tensor | None        # (N,) int64 labels or None
    codec: Any
    fingerprint: str              # content hash of the raw data (resume checks it)
    ref_x: torch.Tensor | None = None   # the full dataset when x is a --max-images subset (metrics)
    ref_y: torch.Tensor | None = None
    ref_fingerprint: str | None = None

    @property
    def reference(self) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        if self.ref_x is None:
            return self.x, self.y, self.fingerprint
        return self.ref_x, self.ref_y, self.ref_fingerprint


def get_modality(name: str):
    # Imported lazily (registration happens on import): `import fewgan` has no side effects and
    # an image run never imports pandas.
    if name not in NAMES:
        raise UsageError(f"unknown modality {name!r}: choose one of {', '.join(NAMES)}")
    if name not in MODALITIES:
        importlib.import_module(f".{name}", __name__)
    return MODALITIES.get(name)

"""Modalities are plug-ins. The engine, CLI and API learn about one by registration alone.

A modality is a package `fewgan/modalities/<name>/` whose `__init__.py` (light: no torch, so
`fewgan --help` stays fast) defines its typed options and a `PLUGIN = Plugin(...)`; the heavy
implementation lives in modules the plug-in names and is imported on first use. BUILTIN below is
the registry line: adding a modality adds its name there and touches no other file.
docs/adding-a-modality.md says what to implement and what the engine gives you.

The implementation object (`Plugin.impl`) has this duck-typed interface:
  prepare(cfg, data=None, labels=None) -> Prepared      load, subset, fit the codec, encode
  codec_from_state(state) -> codec                      rebuild the codec from a checkpoint
  resolve_defaults(cfg, prepared) -> cfg                fill None fields (engine and options) by data size
  build_nets(cfg, codec) -> (G, D)
  make_augment(cfg) -> callable(x, p) | None            applied inside run_D only
  decode(samples, codec) -> user format                 e.g. uint8 images
  preview(samples, codec, path)                          write a picture of samples
  make_evaluator(cfg, prep, cache_dir) -> evaluator      .evaluate(sample_fn) -> dict of metrics (an optional
                                                         .bind_generator(G) is called with G_ema first)
  verdicts(results) -> [(key, sentence)]; report_panels(evaluation) -> [(title, html)]
  write_samples(generator, n, path, seed, **sample_options)   `fewgan sample`: the formats it knows
  primary_metric, metric_panels                         best.pt's metric key; the report's metric curves
Optional: make_phases(engine) (a training step other than one D + one G step, see train/phases.py),
g_aux(fake, c, codec, cfg) (an extra G loss term, or None for none); on the codec: sample_batch(x, y, batch, device),
conditions(n, labels, gen) and noise_shape(z_dim) (see train/sampling.py); adapt_prepared(prep, codec)
(evaluation and resume: reconcile data prepared afresh with the run's own codec); export_info(codec)
(`fewgan export`: how to decode the graph's output; required by tests/test_export.py);
write_samples(..., chunk=, progress=) streams to the file (train/stream.py).
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    import torch

BUILTIN = ("image", "table", "series", "text", "video")    # the registry line: one package of this folder each


@dataclass(frozen=True)
class Plugin:
    name: str
    summary: str                          # one line for `fewgan train --help`
    options: type                         # Options subclass: `fewgan train <name>` flags and API keywords
    impl: str                             # "module:attribute" of the implementation class (imports torch)
    api: str                              # "module:Class" of the Python API class, exported as fewgan.<Class>
    data_help: str = ""                   # help of --data for this modality
    default_data: str | None = None       # --data when none is given (None: --data is required)
    sample_options: type | None = None    # Options subclass: extra flags of `fewgan sample` for these runs
    eval_flags: tuple[str, ...] = ()      # option fields `fewgan evaluate` / `report` may override
    metrics: tuple[str, ...] = ()         # modules that register the metric keys its evaluation reports (shared ones too): --until takes these
    formats: tuple[str, ...] = ()         # file suffixes `fewgan sample --out` writes for these runs
    smoke: tuple[str, ...] = ()           # `fewgan train <name>` flags of a run that trains, samples and
                                          # evaluates in seconds (tests/test_registry.py runs every plug-in)

    @property
    def api_name(self) -> str:
        return self.api.rpartition(":")[2]


@dataclass
class Prepared:
    x: torch.Tensor               # (N, ...) encoded training data, float32
    y: torch.Tensor | None        # (N,) int64 labels or None
    codec: Any
    fingerprint: str              # content hash of the raw data (resume checks it)
    ref_x: torch.Tensor | None = None   # the full dataset when x is a --max-images subset (metrics)
    ref_y: torch.Tensor | None = None
    ref_fingerprint: str | None = None

    @classmethod
    def encoded(cls, codec, x, y, full=None) -> "Prepared":
        """From raw arrays x (N, ...) and y (N,) or None through codec.encode. full: the whole
        dataset's (x, y) when x is a --max-images / --max-clips subset: the metrics' reference."""
        import torch
        from ..data import fingerprint

        def labels(a):
            return None if a is None else torch.from_numpy(a)
        prep = cls(codec.encode(x), labels(y), codec, fingerprint(x, y))
        if full is not None:
            prep.ref_x, prep.ref_y, prep.ref_fingerprint = codec.encode(full[0]), labels(full[1]), fingerprint(*full)
        return prep

    @property
    def reference(self) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        if self.ref_x is None:
            return self.x, self.y, self.fingerprint
        return self.ref_x, self.ref_y, self.ref_fingerprint


def plugins() -> dict[str, Plugin]:
    return {name: get_plugin(name) for name in BUILTIN}


@functools.lru_cache(maxsize=None)
def get_plugin(name: str) -> Plugin:
    if name not in BUILTIN:
        raise UsageError(f"unknown modality {name!r}: choose one of {', '.join(BUILTIN)}")
    plugin = importlib.import_module(f"{__name__}.{name}").PLUGIN
    if plugin.name != name:
        raise RuntimeError(f"modality package {name!r} declares the plug-in {plugin.name!r}")
    return plugin


def load_attr(path: str):
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@functools.lru_cache(maxsize=None)
def get_modality(name: str):
    """The implementation object of a modality (imported on first use: an image run never imports pandas)."""
    return load_attr(get_plugin(name).impl)()

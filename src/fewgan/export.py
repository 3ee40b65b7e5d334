"""`fewgan export`: a run's G_ema as a portable graph (ONNX, or a torch.export .pt2 program).

By default the graph's inputs are what G reads: `z`, the noise (batch, *noise_shape), float32
standard normal, and where the run has them `c`, its conditions (image and video class ids, int64
(batch,); table condition vectors, float32 (batch, cond_dim)). Its output `x` is G's raw output in
the model's own space. Next to the graph goes `<name>.json` with everything a user needs to draw the
inputs and decode the output, from the modality's `export_info(codec)`; a modality without it is
refused (an undocumented output is not a usable export).

A modality whose G is not one call from noise to data (text: a sampling loop) supplies the module
to export instead, with the optional hook `export_module(gen, n, seed) -> Exportable`: the module,
example inputs for n samples, the input and output names and what the JSON says about each (text
exports its per-step cell, see modalities/text/modality.py). Either way axis 0 of every input and
output is the batch, dynamic in the graph; the JSON lists the inputs under "inputs" and the output
under "output" (or, for a graph with several, under "outputs").
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .errors import UsageError
from .train.checkpoint import atomic_write_text
from .train.sampling import conditions, noise_shape

FORMATS = ("onnx", "pt2")
OPSET = 20
EXAMPLE_BATCH = 4       # traced with this batch; the exported batch dimension is symbolic


@dataclass
class Exportable:
    """What `fewgan export` traces: module(*inputs) returns one tensor or a tuple of them; axis 0 of
    every input and output is the batch. notes: per input or output name, entries (JSON values)
    added to its description in the JSON, e.g. {"z": {"distribution": "independent standard normal"}}."""
    module: nn.Module
    inputs: tuple[torch.Tensor, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    notes: dict[str, dict] = field(default_factory=dict)

    def run(self) -> tuple[torch.Tensor, ...]:
        """The module's outputs on the example inputs, always as a tuple (no grad, eval mode)."""
        self.module.eval()
        with torch.no_grad():
            out = self.module(*self.inputs)
        return out if isinstance(out, tuple) else (out,)


class _Generator(nn.Module):
    """G with a fixed signature: forward(z) or forward(z, c) (ONNX inputs are positional)."""

    def __init__(self, G: nn.Module, conditional: bool):
        super().__init__()
        self.G, self.conditional = G, conditional

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(z, c if self.conditional else None).float()


def example_inputs(gen, n: int = EXAMPLE_BATCH, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """(z,) or (z, c) for n samples, drawn as `fewgan sample` draws them."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, *noise_shape(gen.codec, gen.config.z_dim), generator=g)
    c = conditions(gen.codec, n, None, g)
    return (z,) if c is None else (z, c)


def exportable(gen, n: int = EXAMPLE_BATCH, seed: int = 0) -> Exportable:
    """The modality's own export_module if it has one, else G as forward(z) or forward(z, c)."""
    own = getattr(gen.modality, "export_module", None)
    if own is not None:
        return own(gen, n, seed)
    inputs = tuple(t.to(gen.device) for t in example_inputs(gen, n, seed))
    return Exportable(_Generator(gen.G, len(inputs) == 2), inputs, ("z", "c")[:len(inputs)], ("x",),
                      {"z": {"distribution": "independent standard normal"}})


def _describe(name: str, t: torch.Tensor, notes: dict) -> dict:
    return {"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": ["batch", *t.shape[1:]],
            **notes.get(name, {})}


def export_metadata(gen, ex: Exportable, fmt: str) -> dict:
    info = getattr(gen.modality, "export_info", None)
    if info is None:
        raise UsageError(f"{gen.config.modality} runs cannot be exported yet: the {gen.config.modality} "
                         "modality has no export_info (what a user needs to decode the output)")
    outs = [_describe(n, t, ex.notes) for n, t in zip(ex.output_names, ex.run())]
    return {"format": "fewgan-export/1", "graph_format": fmt, "modality": gen.config.modality,
            "step": gen.checkpoint["step"], "z_dim": gen.config.z_dim,
            "inputs": [_describe(n, t, ex.notes) for n, t in zip(ex.input_names, ex.inputs)],
            **({"output": outs[0]} if len(outs) == 1 else {"outputs": outs}),
            "decode": info(gen.codec)}


def export_run(run: Path, out: Path, fmt: str | None = None, device: str = "cpu") -> tuple[Path, Path]:
    """Write the graph to `out` and its JSON beside it (out with suffix .json); returns both paths."""
    from .train.run import TrainedGenerator
    out = Path(out)
    fmt = fmt or out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose onnx or pt2 (or name --out *.onnx / *.pt2)")
    if out.suffix.lower() == ".json":
        raise UsageError(f"--out {out}: the .json name is taken by the metadata: use e.g. g.{fmt}")
    if out.is_dir():
        raise UsageError(f"--out {out}: is a directory: give a file name such as {out / ('g.' + fmt)}")
    gen = TrainedGenerator.open(Path(run), device)
    calibrate = getattr(gen.codec, "calibrate", None)
    if calibrate is not None:       # tables: fix the missing-value cuts and marginal maps the JSON hands out
        calibrate(gen.sample)
    own = getattr(gen.G, "calibrate", None)
    if callable(own):               # series returns: the eval-mode score map, measured before tracing
        own()
    ex = exportable(gen)
    meta = export_metadata(gen, ex, fmt)       # refuses a modality without export_info first
    batch = torch.export.Dim("batch", min=1, max=1 << 30)
    dynamic = tuple({0: batch} for _ in ex.inputs)      # positional: the module's argument names are its own
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with warnings.catch_warnings():     # the exporters' deprecation chatter is not the user's business
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            if fmt == "onnx":
                _onnx(ex, dynamic, tmp)
            else:
                ep = torch.export.export(ex.module.eval(), ex.inputs, dynamic_shapes=dynamic)
                torch.export.save(ep, str(tmp))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    meta_path = out.with_suffix(".json")
    atomic_write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    return out, meta_path


def _onnx(ex: Exportable, dynamic: tuple, path: Path) -> None:
    try:
        import onnx  # noqa: F401  (torch.onnx's dynamo exporter needs onnx and onnxscript)
        import onnxscript  # noqa: F401
    except ImportError:
        raise UsageError("ONNX export needs onnx and onnxscript: pip install 'fewgan[export]'") from None
    prog = torch.onnx.export(ex.module.eval(), ex.inputs, input_names=list(ex.input_names),
                             output_names=list(ex.output_names), dynamic_shapes=dynamic, opset_version=OPSET,
                             dynamo=True, external_data=False, verbose=False)
    prog.save(str(path))

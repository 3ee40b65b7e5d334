"""Sampling from a generator: fixed-seed noise, labels by id or name, eval mode, no grad, chunks.

Uses its own torch.Generator, so sampling never disturbs the training RNG (exact resume holds
even when previews and evaluations run in the middle of training)."""
from __future__ import annotations

import torch

from ..errors import UsageError


def generate(G: torch.nn.Module, z_dim: int, n: int, device: torch.device, codec, labels=None,
             seed: int = 0, batch: int = 256, length: int | None = None) -> torch.Tensor:
    """n samples from G in eval mode without grad; labels: None (uniform), an int/name or a list.
    length: recurrent generators only (series): noise for that many steps instead of the window."""
    if n < 1:
        raise UsageError(f"-n must be >= 1, got {n}")
    if length is not None and length < 1:
        raise UsageError(f"--length must be >= 1, got {length}")
    gen = torch.Generator().manual_seed(seed)
    shape = noise_shape(codec, z_dim, length)
    z = torch.randn(n, *shape, generator=gen)
    c = conditions(codec, n, labels, gen)
    was_training = G.training
    G.eval()
    out = []
    try:
        with torch.no_grad():
            for i in range(0, n, batch):
                zi = z[i:i + batch].to(device)
                ci = None if c is None else c[i:i + batch].to(device)
                out.append(G(zi, ci).float().cpu())
    finally:
        G.train(was_training)
    return torch.cat(out)


def noise_shape(codec, z_dim: int, length: int | None = None) -> tuple[int, ...]:
    """Shape of one noise sample: (z_dim,), or what the codec asks for (series: (seq_len, z_dim)).
    length: a series path of that many steps; the codec may ask for more noise steps than that
    (a convolutional generator's warm-up), else (length, z_dim)."""
    shape = getattr(codec, "noise_shape", None)
    if length is not None:
        return tuple(shape(z_dim, length)) if shape else (length, z_dim)
    return tuple(shape(z_dim)) if shape else (z_dim,)


def conditions(codec, n: int, labels, gen: torch.Generator, spread: bool = False) -> torch.Tensor | None:
    """G's condition input for n samples: None, class ids, or whatever the codec builds (tables:
    condition vectors). spread=True: every class in turn (preview grids) instead of at random."""
    own = getattr(codec, "conditions", None)
    if own is not None:
        return own(n, labels, gen)
    n_classes = getattr(codec, "n_classes", 0)
    if not n_classes:
        if labels is not None:
            raise UsageError("--label needs a class-conditional run (train with --conditional)")
        return None
    if spread and labels is None:
        return torch.arange(n) % n_classes
    return _labels(labels, n, n_classes, getattr(codec, "classes", None), gen)


def _labels(labels, n: int, n_classes: int, classes: list[str] | None, gen: torch.Generator) -> torch.Tensor:
    if labels is None:
        return torch.randint(n_classes, (n,), generator=gen)
    if isinstance(labels, (int, str)):
        labels = [labels] * n
    ids = []
    for lab in labels:
        if isinstance(lab, str) and classes and lab in classes:
            ids.append(classes.index(lab))
        else:
            try:
                ids.append(int(lab))
            except ValueError:
                raise UsageError(f"--label {lab!r}: unknown class: use 0..{n_classes - 1}"
                                 + (f" or one of {classes}" if classes else "")) from None
            if not 0 <= ids[-1] < n_classes:
                raise UsageError(f"--label {lab}: out of range: use 0..{n_classes - 1}")
    if len(ids) != n:
        raise UsageError(f"{len(ids)} labels for {n} samples: pass one label or exactly n")
    return torch.tensor(ids, dtype=torch.long)

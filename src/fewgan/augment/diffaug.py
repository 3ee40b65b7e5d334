"""DiffAugment (Zhao et al. 2020) ops on images in [-1, 1], per sample and differentiable.

Each op is applied to each sample independently with probability p (a 0-d tensor, so the ADA
controller can move it without a host sync). p == 1 is plain DiffAugment. The ops are
differentiable in x, so G gets gradients through them and R1 can be taken on the un-augmented real.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _rand(n: int, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand(n, x) - 0.5)                                            # brightness +-0.5
    if x.shape[1] > 1:
        m = x.mean(dim=1, keepdim=True)
        x = (x - m) * (_rand(n, x) * 2) + m                                # saturation x U(0, 2)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - m) * (_rand(n, x) + 0.5) + m                               # contrast x U(0.5, 1.5)


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    # Integer shift of up to ratio * size per axis, zero padded. x: (N, C, H, W)
    n, c, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    gy = torch.arange(h, device=x.device).view(1, h, 1) + sy - dy          # (N, H, 1) rows in padded x
    gx = torch.arange(w, device=x.device).view(1, 1, w) + sx - dx          # (N, 1, W)
    xp = F.pad(x, [sx, sx, sy, sy])
    b = torch.arange(n, device=x.device).view(n, 1, 1)
    return xp.permute(0, 2, 3, 1)[b, gy, gx].permute(0, 3, 1, 2)           # (N, C, H, W)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    # Zero one square of side ratio * size at a random centre (clipped at the border).
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy + ch // 2) >= 0) & ((ys - cy + ch // 2) < ch) \
        & ((xs - cx + cw // 2) >= 0) & ((xs - cx + cw // 2) < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment:
    def __init__(self, ops: str = "color,translation,cutout"):
        self.ops = [OPS[o] for o in ops.split(",") if o]

    def __call__(self, x: torch.Tensor, p: torch.Tensor | float) -> torch.Tensor:
        n = x.shape[0]
        for op in self.ops:
            if isinstance(p, float) and p >= 1.0:
                x = op(x)
                continue
            keep = torch.rand(n, device=x.device) < p          # apply per sample with probability p
            if x.device.type == "cpu":
                # On CPU a host sync is free: augment only the chosen samples (p is often small).
                idx = keep.nonzero().squeeze(1)
                if len(idx):
                    x = x.index_copy(0, idx, op(x[idx]))
            else:  # on GPUs avoid the sync: augment all, keep the chosen
                x = torch.where(keep.view(n, 1, 1, 1), op(x), x)
        return x

"""DCGAN-style image networks (Radford et al. 2016) with the small-data extras.

G: z (+ label embedding) -> base x base -> upsample x2 per stage -> res x res, tanh output in [-1, 1].
D: mirror of G with strided convs, LeakyReLU, no BatchNorm (BN in D mixes samples, which breaks
   the R1/GP penalties and lets D cheat on batch statistics); optional spectral norm; optional
   projection conditioning (Miyato & Koyama 2018).
Resolution may be any b * 2**k with 4 <= b < 8 and 8 <= res <= 128 (8, 12, 16, 24, 32, 48, 64, ...).
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import UsageError
from ..registry import NETS


def stages_for(res: int) -> tuple[int, int]:
    """Return (base, n_up) with base * 2**n_up == res and 4 <= base < 8."""
    if not (8 <= res <= 128):
        raise UsageError(f"resolution {res} is out of range: use 8..128 pixels")
    n = 0
    while res % (2 ** (n + 1)) == 0 and res // 2 ** (n + 1) >= 4:
        n += 1
    base = res // 2 ** n
    if base >= 8:
        raise UsageError(f"resolution {res} is not b*2^k with 4<=b<8: use e.g. 16, 24, 32, 48, 64")
    return base, n


def _channels(width: int, n_up: int, cap: int = 512) -> list[int]:
    # Channels halve as resolution doubles: index 0 is the base (lowest) resolution.
    return [min(cap, width * 2 ** (n_up - i)) for i in range(n_up + 1)]


def with_labels(G: nn.Module, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """z (N, z_dim) -> (N, 2 z_dim) with the label embedding G.embed(c) joined, for a conditional G."""
    if not G.n_classes:
        return z
    if c is None:
        raise ValueError("conditional generator needs labels c")
    return torch.cat([z, G.embed(c)], dim=1)


@NETS.register("dcgan_g")
class ImageGenerator(nn.Module):
    def __init__(self, res: int = 32, channels: int = 1, z_dim: int = 64, width: int = 32,
                 n_classes: int = 0):
        super().__init__()
        self.res, self.channels, self.z_dim, self.n_classes = res, channels, z_dim, n_classes
        self.base, n_up = stages_for(res)
        chs = _channels(width, n_up)
        in_dim = z_dim
        if n_classes:
            self.embed = nn.Embedding(n_classes, z_dim)  # label embedding concatenated to z
            in_dim += z_dim
        self.fc = nn.Linear(in_dim, chs[0] * self.base * self.base, bias=False)
        self.bn0 = nn.BatchNorm2d(chs[0])
        blocks = []
        for cin, cout in zip(chs[:-1], chs[1:]):
            blocks += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
        self.blocks = nn.Sequential(*blocks)
        self.to_img = nn.Conv2d(chs[-1], channels, 3, 1, 1)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # z: (N, z_dim), c: (N,) int64 labels -> (N, channels, res, res) in [-1, 1]
        z = with_labels(self, z, c)
        h = self.fc(z).view(z.shape[0], -1, self.base, self.base)
        h = torch.relu(self.bn0(h))
        return torch.tanh(self.to_img(self.blocks(h)))


@NETS.register("dcgan_d")
class ImageDiscriminator(nn.Module):
    def __init__(self, res: int = 32, channels: int = 1, width: int = 32, n_classes: int = 0,
                 spectral_norm: bool = True):
        super().__init__()
        self.res, self.channels, self.n_classes = res, channels, n_classes
        base, n_up = stages_for(res)
        chs = _channels(width, n_up)[::-1]  # highest resolution first
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers = [sn(nn.Conv2d(channels, chs[0], 3, 1, 1)), nn.LeakyReLU(0.2)]
        for cin, cout in zip(chs[:-1], chs[1:]):
            layers += [sn(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        feat = chs[-1] * base * base
        self.out = sn(nn.Linear(feat, 1))
        if n_classes:
            self.embed = sn(nn.Embedding(n_classes, feat))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # x: (N, channels, res, res) -> logits (N,)
        h = self.features(x).flatten(1)
        out = self.out(h).squeeze(1)
        if self.n_classes:
            if c is None:
                raise ValueError("conditional discriminator needs labels c")
            out = out + (self.embed(c) * h).sum(1)  # projection term <embed(y), h>
        return out

"""Recurrent networks for time series, after the TimeGAN design (Yoon et al. 2019).

Everything that generation needs lives in the G module (so the engine's EMA copy G_ema samples):
  embedder   x (B,T,F) -> h (B,T,H)   in [0,1]   (trained with recovery as an autoencoder)
  recovery   h -> x                   in [0,1]   (the data's min-max scaled space)
  generator  z (B,T,Z) -> e (B,T,H)   latent path from per-step noise
  supervisor h_t -> h_{t+1}           next-step model in latent space (a learnt dynamics prior)
G(z) = recovery(supervisor(generator(z))). D reads latent sequences and gives one logit per step.
GRUs run on any length, so a longer z gives a longer path (sample_path).
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import NETS


class _Recurrent(nn.Module):
    """A GRU stack with a per-step linear head and an optional sigmoid."""

    def __init__(self, d_in: int, hidden: int, layers: int, d_out: int, sigmoid: bool = True, cell: str = "gru"):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn(d_in, hidden, max(1, layers), batch_first=True)
        self.head = nn.Linear(hidden, d_out)
        self.sigmoid = sigmoid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)
        y = self.head(h)
        return torch.sigmoid(y) if self.sigmoid else y


@NETS.register("timegan_g")
class SeriesGenerator(nn.Module):
    def __init__(self, features: int = 5, z_dim: int = 8, hidden: int = 24, layers: int = 3, cell: str = "gru"):
        super().__init__()
        self.embedder = _Recurrent(features, hidden, layers, hidden, cell=cell)
        self.recovery = _Recurrent(hidden, hidden, layers, features, cell=cell)
        self.generator = _Recurrent(z_dim, hidden, layers, hidden, cell=cell)
        self.supervisor = _Recurrent(hidden, hidden, layers - 1, hidden, cell=cell)

    def latent(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.generator(z)
        return e, self.supervisor(e)

    def forward(self, z: torch.Tensor, c=None) -> torch.Tensor:
        return self.recovery(self.latent(z)[1])


@NETS.register("timegan_d")
class SeriesDiscriminator(nn.Module):
    def __init__(self, hidden: int = 24, layers: int = 3, cell: str = "gru"):
        super().__init__()
        self.net = _Recurrent(hidden, hidden, layers, 1, sigmoid=False, cell=cell)

    def forward(self, h: torch.Tensor, c=None) -> torch.Tensor:
        return self.net(h).squeeze(-1)      # (B, T) logits

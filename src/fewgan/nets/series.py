"""Networks for time series: the default data-space recurrent GAN (RecurrentGenerator + ConvCritic,
at the end) and the TimeGAN design (Yoon et al. 2019).

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


# -- data-space recurrent GAN (the default series model, see docs/benchmarks.md) ------------------
@NETS.register("series_rgan_g")
class RecurrentGenerator(nn.Module):
    """z (B, T, Z) -> x (B, T, F) in [0, 1]. The first step's noise sets a start level, the GRU's
    initial state and a context vector; the GRU turns each step's noise into an increment, and the
    path is sigmoid(level + cumulative increments). Generating increments (not levels) makes smooth,
    persistent paths the easy thing to produce; the GRU makes any length (long paths)."""

    def __init__(self, features: int = 5, z_dim: int = 16, hidden: int = 64, layers: int = 2,
                 step_scale: float = 0.1):
        super().__init__()
        self.features, self.hidden, self.layers, self.step_scale = features, hidden, layers, step_scale
        self.init = nn.Sequential(nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, layers * hidden + features + hidden))
        self.rnn = nn.GRU(z_dim + features + hidden, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, features)

    def forward(self, z: torch.Tensor, c=None) -> torch.Tensor:
        b, t, _ = z.shape
        L, H, F = self.layers, self.hidden, self.features
        o = self.init(z[:, 0])
        h0 = torch.tanh(o[:, :L * H]).view(b, L, H).transpose(0, 1).contiguous()   # (L, B, H)
        level, ctx = o[:, L * H:L * H + F], o[:, L * H + F:]                          # (B, F), (B, H)
        y, _ = self.rnn(torch.cat([z, level[:, None].expand(-1, t, -1), ctx[:, None].expand(-1, t, -1)], -1), h0)
        d = self.head(y[:, 1:]) * self.step_scale                                     # (B, T-1, F)
        path = torch.cat([level[:, None], level[:, None] + torch.cumsum(d, 1)], 1)    # logits, (B, T, F)
        return torch.sigmoid(path)


@NETS.register("series_conv_d")
class ConvCritic(nn.Module):
    """x (B, T, F) -> one logit per window. Reads the values and their increments (x 10, so both
    are of similar size on min-max scaled data) with 1-D convolutions over time, then a linear head
    on the whole (downsampled) window. Fixed window length: it only ever sees training windows."""

    def __init__(self, features: int = 5, seq_len: int = 24, hidden: int = 64):
        super().__init__()
        c = hidden
        self.net = nn.Sequential(
            nn.Conv1d(2 * features, c, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=1, stride=2), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=1, stride=2), nn.LeakyReLU(0.2))
        t = (seq_len + 1) // 2
        t = (t + 1) // 2
        self.out = nn.Sequential(nn.Linear(c * t, c), nn.LeakyReLU(0.2), nn.Linear(c, 1))

    def forward(self, x: torch.Tensor, c=None) -> torch.Tensor:
        dx = torch.cat([torch.zeros_like(x[:, :1]), x.diff(dim=1)], 1) * 10
        h = self.net(torch.cat([x, dx], -1).transpose(1, 2))                          # (B, C, T/4)
        return self.out(h.flatten(1)).squeeze(-1)                                      # (B,)

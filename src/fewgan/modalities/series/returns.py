"""`--model returns`: a GAN of returns, not levels, for data whose risk matters (prices, volumes).

Why: a generator of levels (rgan) can match 24-step windows yet give returns with thin tails and
spurious autocorrelation (docs/benchmarks.md, issue 17). Here, after Quant GANs (Wiese et al.
2020), in our own code:
  - a fixed per-feature quantile transform maps the real returns (log returns of positive
    features, differences otherwise: the risk checks' rule) to Gaussian scores u and back, so G
    works in a Gaussian space and the heavy tails come from the data's own quantiles;
  - G is a temporal convolutional net (dilated causal convolutions, receptive field 2^layers) on
    i.i.d. noise that outputs u_t = mu_t + sigma_t * (W z_t): a location and a scale from the
    past noise (volatility clustering) times a linear mix of this step's noise (cross-feature
    correlation); returns r = T^-1(u);
  - levels are rebuilt by cumulative sum (of log returns: a product) from a start day drawn from
    the real data by the first noise step, so the windows of levels the TimeGAN protocol scores,
    previews and samples keep the min-max scaled layout of the other models;
  - the critic reads a window of levels, turns it back into u (the same transform), and sees u,
    |u| (clustering), the cumulative normalised returns (co-movement of the features) and the
    levels.
The engine's default step (GANPhases) trains it: non-saturating loss, lazy R1, EMA of G.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...metrics.series_risk import log_mask, real_paths, to_returns
from .modality import SeriesCodec

KNOTS = 257     # quantile knots: even in Gaussian score; the ends are the sample's min and max


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Per-feature piecewise-linear map, clamped at the ends. x (..., F); xp, fp (K, F) increasing."""
    shape, f = x.shape, x.shape[-1]
    v = x.reshape(-1, f).t().contiguous()                                   # (F, M)
    xs, fs = xp.t().contiguous(), fp.t().contiguous()                        # (F, K)
    i = (torch.searchsorted(xs, v) - 1).clamp_(0, xs.shape[1] - 2)           # (F, M) left knot
    x0, x1 = xs.gather(1, i), xs.gather(1, i + 1)
    y0, y1 = fs.gather(1, i), fs.gather(1, i + 1)
    w = ((v - x0) / (x1 - x0)).clamp(0, 1)      # clamped: no value beyond the sample's extremes
    return (y0 + w * (y1 - y0)).t().reshape(shape)


class ReturnsTransform(nn.Module):
    """Levels <-> returns <-> Gaussian scores, all per feature, in float32 outside autocast.

    knots (K, F): returns at the Gaussian scores `grid` (K,); lo, scale: the codec's min-max
    scaling; log (F,): log returns for those features; sd (F,): std of the real returns."""

    def __init__(self, knots, grid, lo, scale, log, sd):
        super().__init__()
        t = lambda a, dt=torch.float32: torch.as_tensor(np.asarray(a), dtype=dt)  # noqa: E731
        for name, v in (("knots", t(knots)), ("grid", t(grid)), ("lo", t(lo)), ("scale", t(scale)),
                        ("log", t(log, torch.bool)), ("sd", t(sd))):
            self.register_buffer(name, v)

    def to_gauss(self, r: torch.Tensor) -> torch.Tensor:
        return _interp(r, self.knots, self.grid[:, None].expand_as(self.knots))

    def from_gauss(self, u: torch.Tensor) -> torch.Tensor:
        return _interp(u, self.grid[:, None].expand_as(self.knots), self.knots)

    def returns(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled levels (B, T, F) -> returns (B, T-1, F)."""
        lv = x.float() * self.scale + self.lo
        lv = torch.where(self.log, lv.clamp_min(1e-30).log(), lv)
        return lv.diff(dim=1)

    def levels(self, x0: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """Start (B, F) scaled, returns (B, T-1, F) -> scaled levels (B, T, F)."""
        lv0 = x0.float() * self.scale + self.lo
        lv0 = torch.where(self.log, lv0.clamp_min(1e-30).log(), lv0)
        path = lv0[:, None] + r.cumsum(1)                                          # (B, T-1, F)
        rest = (torch.where(self.log, path.exp(), path) - self.lo) / self.scale
        return torch.cat([x0[:, None].float(), rest], 1)        # the start day exactly, then the path


def fit_returns(windows: np.ndarray, lo, scale) -> dict:
    """The transform's state from the decoded real windows (N, T, F): the long series they were
    cut from (or the windows themselves), its returns, their quantiles at an even grid of Gaussian
    scores from Phi^-1(0.5/n) to Phi^-1(1 - 0.5/n) (Hazen positions: the ends are min and max)."""
    from scipy import stats
    paths = real_paths(windows)
    log = log_mask(paths)
    r = to_returns(paths, log).reshape(-1, paths.shape[-1])                  # (n, F)
    n = len(r)
    grid = np.linspace(stats.norm.ppf(0.5 / n), stats.norm.ppf(1 - 0.5 / n), KNOTS)
    knots = np.quantile(r, stats.norm.cdf(grid), axis=0, method="hazen")     # (K, F)
    # strictly increasing (ties: repeated values), by far less than any return's size
    span = np.maximum(knots[-1] - knots[0], 1e-12)
    knots = np.maximum.accumulate(knots, axis=0) + np.arange(KNOTS)[:, None] * 1e-9 * span
    sd = np.maximum(r.std(0), 1e-12)
    return {"knots": knots.tolist(), "grid": grid.tolist(), "log": log.tolist(), "sd": sd.tolist()}


@dataclass
class ReturnsCodec(SeriesCodec):
    """SeriesCodec plus what G and D are built from: start days (S, F) scaled, the transform's
    state, and the noise steps G needs before its first return (its receptive field - 1)."""
    warmup: int = 0
    starts: list | None = None
    transform: dict | None = None
    train_len: int = 0          # the critic's window (>= seq_len): longer than the scored windows

    def noise_shape(self, z_dim: int, length: int | None = None) -> tuple[int, int]:
        return ((length or self.seq_len) + self.warmup, z_dim)

    def train_noise_shape(self, z_dim: int) -> tuple[int, int]:
        return self.noise_shape(z_dim, self.train_len)

    def sample_batch(self, x: torch.Tensor, y, batch: int, device: torch.device):
        """Real training windows of train_len steps, cut from the series the stride-1 windows x
        (N, seq_len, F) were cut from (or x itself when train_len is seq_len)."""
        if self.train_len == self.seq_len:
            return x[torch.randint(len(x), (batch,), device=device)], None
        series = torch.cat([x[:, 0], x[-1, 1:]])                                    # (N + T - 1, F)
        i = torch.randint(len(series) - self.train_len + 1, (batch,), device=device)
        return series[i[:, None] + torch.arange(self.train_len, device=device)], None

    def state_dict(self) -> dict:
        return {**super().state_dict(), "warmup": self.warmup, "starts": self.starts, "transform": self.transform,
                "train_len": self.train_len}

    def make_transform(self) -> ReturnsTransform:
        return ReturnsTransform(lo=self.lo, scale=self.scale, **self.transform)


class _Block(nn.Module):
    """Residual block of a causal dilated convolution without padding: (B, C, L) -> (B, C, L - d)."""

    def __init__(self, c: int, d: int):
        super().__init__()
        self.d = d
        self.conv, self.mix = nn.Conv1d(c, c, 2, dilation=d), nn.Conv1d(c, c, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h[:, :, self.d:] + self.mix(F.leaky_relu(self.conv(F.leaky_relu(h, 0.2)), 0.2))


class ReturnsGenerator(nn.Module):
    """z (B, T + warmup, Z) -> scaled levels (B, T, F). z[:, 0, 0] picks the start day; the other
    T - 1 + warmup steps drive the TCN, whose valid convolutions leave exactly T - 1 returns."""

    def __init__(self, codec: ReturnsCodec, z_dim: int, hidden: int, layers: int):
        super().__init__()
        f = codec.n_features
        self.tf = codec.make_transform()
        self.register_buffer("starts", torch.tensor(codec.starts, dtype=torch.float32))      # (S, F)
        self.inp = nn.Conv1d(z_dim + f, hidden, 1)          # the start levels are an input: vol by level
        self.blocks = nn.ModuleList(_Block(hidden, 2 ** i) for i in range(layers))
        self.head = nn.Conv1d(hidden, 2 * f, 1)              # mu_t, sigma_t (pre-softplus)
        self.mix = nn.Linear(z_dim, f, bias=False)           # this step's innovations, correlated
        self.warmup = 2 ** layers - 1

    def forward(self, z: torch.Tensor, c=None) -> torch.Tensor:
        b, n, _ = z.shape
        pick = torch.special.ndtr(z[:, 0, 0].float()) * len(self.starts)
        x0 = self.starts[pick.long().clamp_(0, len(self.starts) - 1)]               # (B, F)
        if n - self.warmup <= 1:
            return x0[:, None]
        zt = z[:, 1:]                                                               # (B, T-1+W, Z)
        h = self.inp(torch.cat([zt, x0[:, None].expand(-1, n - 1, -1).to(zt.dtype)], -1).transpose(1, 2))
        for blk in self.blocks:
            h = blk(h)                                                              # (B, C, T-1)
        mu, s = self.head(F.leaky_relu(h, 0.2)).transpose(1, 2).float().chunk(2, -1)   # (B, T-1, F) each
        u = mu + F.softplus(s + 0.5413) * self.mix(zt[:, self.warmup:]).float()  # softplus(.5413) = 1
        with torch.autocast(z.device.type, enabled=False):
            return self.tf.levels(x0, self.tf.from_gauss(u))


class ReturnsCritic(nn.Module):
    """Scaled levels (B, T, F) -> one logit. Reads u, |u|, cumulative r / sd (/ sqrt(T-1)) and the
    levels at steps 1..T-1 with 1-D convolutions, then a linear head on the downsampled window."""

    def __init__(self, codec: ReturnsCodec, hidden: int):
        super().__init__()
        f, c, t = codec.n_features, hidden, codec.train_len - 1
        self.tf = codec.make_transform()
        self.net = nn.Sequential(
            nn.Conv1d(4 * f, c, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=2, dilation=2), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=1, stride=2), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=1, stride=2), nn.LeakyReLU(0.2))
        t = ((t + 1) // 2 + 1) // 2
        self.out = nn.Sequential(nn.Linear(c * t, c), nn.LeakyReLU(0.2), nn.Linear(c, 1))

    def forward(self, x: torch.Tensor, c=None) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            r = self.tf.returns(x)                                                  # (B, T-1, F)
            u = self.tf.to_gauss(r)
            cum = (r / self.tf.sd).cumsum(1) / math.sqrt(r.shape[1])
            feats = torch.cat([u, u.abs() - 0.8, cum, x[:, 1:].float()], -1)        # (B, T-1, 4F)
        h = self.net(feats.transpose(1, 2))                                          # (B, C, ~T/4)
        return self.out(h.flatten(1)).squeeze(-1)                                    # (B,)


def make_codec(base: SeriesCodec, x: torch.Tensor, layers: int, train_len: int) -> ReturnsCodec:
    """The returns codec of prepared windows x (N, T, F, scaled): start days are the windows' first
    steps (the days a real window starts on); the transform is fitted on the decoded data.
    train_len: the critic's window, cut to what the data holds (independent windows: seq_len)."""
    decoded = base.decode(x)
    long = real_paths(decoded).shape[0] == 1
    steps = len(x) + base.seq_len - 1 if long else base.seq_len
    tf = fit_returns(decoded, base.lo, base.scale)
    return ReturnsCodec(base.seq_len, base.columns, base.lo, base.scale, warmup=2 ** layers - 1,
                        starts=x[:, 0].tolist(), transform=tf, train_len=max(base.seq_len, min(train_len, steps)))

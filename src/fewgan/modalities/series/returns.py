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
The engine's default step (GANPhases) trains it: non-saturating loss, lazy R1, EMA of G, and
G penalties on the batch's stylized facts (fact_penalty, leverage_penalty; the modality's g_aux).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import UsageError
from ...metrics.series_risk import LAGS, LEVERAGE_LAGS, acf, leverage_lags, log_mask, real_paths, to_returns
from .modality import SeriesCodec

KNOTS = 257     # quantile knots: even in Gaussian score; the ends are the sample's min and max
# calibrate: G's own scores measured on this many paths of this many steps (many paths: a path's
# volatility regime persists). On one Stocks G (1000 scored paths, three noise seeds) 4096 x 64 gave
# kurtosis 10.8-11.8 (real 12.3) and every column's 1-day 99% VaR within 7%; 256 x 250 and 2048 x 250
# gave 11.1-12.3 and within 9%, the same within the noise. About a CPU second (docs/benchmarks.md,
# round 13, benchmarks/series_risk_noise.py).
CAL_PATHS, CAL_LEN = 4096, 64
TAIL_P = 0.05   # --tail gpd: the share of returns on each side that the fitted Pareto tail holds
XI_MAX = 0.24   # the fitted tail index is kept in [0, XI_MAX]: below 1/4, so the 4th moment (kurtosis) is finite


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Per-feature piecewise-linear map, clamped at the ends. x (..., F); xp, fp (K, F) increasing."""
    shape, f = x.shape, x.shape[-1]
    v = x.reshape(-1, f).t().contiguous()                                   # (F, M)
    xs, fs = xp.t().contiguous(), fp.t().contiguous()                        # (F, K)
    # the left knot: the count of knots below v, minus 1. Eagerly by searchsorted (the same
    # integers); while exporting as an explicit count, which ONNX has (it has no searchsorted).
    # The count builds an (F, M, K) comparison: it was 60% of a --model returns training step.
    if torch.compiler.is_compiling():
        below = (xs[:, None, :] < v[:, :, None]).sum(-1)                   # (F, M)
    else:
        below = torch.searchsorted(xs, v)                                  # (F, M)
    i = (below - 1).clamp_(0, xs.shape[1] - 2)
    x0, x1 = xs.gather(1, i), xs.gather(1, i + 1)
    y0, y1 = fs.gather(1, i), fs.gather(1, i + 1)
    w = ((v - x0) / (x1 - x0)).clamp(0, 1)      # clamped: no value beyond the sample's extremes
    return (y0 + w * (y1 - y0)).t().reshape(shape)


class ReturnsTransform(nn.Module):
    """Levels <-> returns <-> Gaussian scores, all per feature, in float32 outside autocast.

    knots (K, F): returns at the Gaussian scores `grid` (K,); lo, scale: the codec's min-max
    scaling; log (F,): log returns for those features; sd (F,): std of the real returns.
    tail (6, F) or None: beyond the grid's ends, a generalized Pareto tail per side, rows
    (xi, beta, p) of the upper then the lower side: P(r > knots[-1] + y | r > knots[-1]) =
    (1 + xi y / beta)^(-1/xi), and p = 1 - Phi(grid[-1]) the share beyond; None: clamped at the ends."""

    def __init__(self, knots, grid, lo, scale, log, sd, tail=None):
        super().__init__()
        t = lambda a, dt=torch.float32: torch.as_tensor(np.asarray(a), dtype=dt)  # noqa: E731
        for name, v in (("knots", t(knots)), ("grid", t(grid)), ("lo", t(lo)), ("scale", t(scale)),
                        ("log", t(log, torch.bool)), ("sd", t(sd))):
            self.register_buffer(name, v)
        self.register_buffer("tail", None if tail is None else t(tail))

    def to_gauss(self, r: torch.Tensor) -> torch.Tensor:
        u = _interp(r, self.knots, self.grid[:, None].expand_as(self.knots))
        if self.tail is None:
            return u
        for side, (xi, beta, p) in ((1.0, self.tail[:3]), (-1.0, self.tail[3:])):
            end = self.knots[-1] if side > 0 else self.knots[0]
            y = ((r - end) * side).clamp_min(0)                     # beyond the end, this side's way
            log_s = -_log1p_over(xi, y / beta)                      # log P(beyond y | beyond the end)
            g = -torch.special.ndtri((p * log_s.exp()).clamp_min(1e-30))   # the score of that tail share
            u = torch.where(y > 0, side * g, u)
        return u

    def from_gauss(self, u: torch.Tensor) -> torch.Tensor:
        r = _interp(u, self.grid[:, None].expand_as(self.knots), self.knots)
        if self.tail is None:
            return r
        for side, (xi, beta, p) in ((1.0, self.tail[:3]), (-1.0, self.tail[3:])):
            end = self.knots[-1] if side > 0 else self.knots[0]
            g = u * side
            log_s = (torch.special.log_ndtr(-g) - p.log()).clamp_max(0)     # conditional tail share
            y = beta * _expm1_over(xi, -log_s)                               # its GPD quantile
            r = torch.where(g > self.grid[-1], end + side * y, r)
        return r

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


def _log1p_over(xi: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """log(1 + xi v) / xi, and v at xi = 0 (the exponential tail)."""
    small = xi.abs() < 1e-6
    safe = torch.where(small, torch.ones_like(xi), xi)
    return torch.where(small, v, torch.log1p(safe * v) / safe)


def _expm1_over(xi: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """(exp(xi a) - 1) / xi, and a at xi = 0: the inverse of _log1p_over."""
    small = xi.abs() < 1e-6
    safe = torch.where(small, torch.ones_like(xi), xi)
    return torch.where(small, a, torch.expm1(safe * a) / safe)


def fit_tail(y: np.ndarray) -> tuple[float, float]:
    """(xi, beta) of a generalized Pareto fitted by maximum likelihood to exceedances y > 0, xi
    kept in [0, XI_MAX] (beta refitted at the bound)."""
    from scipy import stats
    y = np.asarray(y, dtype=np.float64)
    xi, _, beta = stats.genpareto.fit(y, floc=0)
    if not 0 <= xi <= XI_MAX:
        xi = float(np.clip(xi, 0, XI_MAX))
        _, _, beta = stats.genpareto.fit(y, fc=xi, floc=0)
    return float(xi), float(beta)


def fit_returns(windows: np.ndarray, lo, scale, tail: str = "clamp") -> dict:
    """The transform's state from the decoded real windows (N, T, F): the long series they were
    cut from (or the windows themselves), its returns, their quantiles at an even grid of Gaussian
    scores from Phi^-1(0.5/n) to Phi^-1(1 - 0.5/n) (Hazen positions: the ends are min and max).
    tail "gpd": the grid stops at Phi^-1(TAIL_P) and Phi^-1(1 - TAIL_P), and the returns beyond
    each end are a generalized Pareto fitted to that side's exceedances (no bound at the sample's
    extremes)."""
    from scipy import stats
    paths = real_paths(windows)
    log = log_mask(paths)
    r = to_returns(paths, log).reshape(-1, paths.shape[-1])                  # (n, F)
    n = len(r)
    p = TAIL_P if tail == "gpd" else 0.5 / n
    grid = np.linspace(stats.norm.ppf(p), stats.norm.ppf(1 - p), KNOTS)
    knots = np.quantile(r, stats.norm.cdf(grid), axis=0, method="hazen")     # (K, F)
    # strictly increasing (ties: repeated values), by far less than any return's size
    span = np.maximum(knots[-1] - knots[0], 1e-12)
    knots = np.maximum.accumulate(knots, axis=0) + np.arange(KNOTS)[:, None] * 1e-9 * span
    sd = np.maximum(r.std(0), 1e-12)
    out = {"knots": torch.from_numpy(knots), "grid": torch.from_numpy(grid), "log": torch.from_numpy(log),
           "sd": torch.from_numpy(sd)}
    if tail == "gpd":
        rows = []
        for f in range(r.shape[1]):
            up, down = r[:, f] - knots[-1, f], knots[0, f] - r[:, f]
            rows.append([*fit_tail(up[up > 0]), p, *fit_tail(down[down > 0]), p])
        out["tail"] = torch.tensor(rows, dtype=torch.float64).t().contiguous()     # (6, F)
    return out


@dataclass
class ReturnsCodec(SeriesCodec):
    """SeriesCodec plus what G and D are built from: start days (S, F) scaled, the transform's
    state, and the noise steps G needs before its first return (its receptive field - 1).
    Tensors, not lists, in the checkpoint: thousands of start days pickle and unpickle slowly
    as Python floats."""
    warmup: int = 0
    starts: torch.Tensor | None = None
    transform: dict | None = None
    train_len: int = 0          # the critic's window (>= seq_len): longer than the scored windows
    # the real scores' acf of u and |u| (LAGS, F), leverage (LEVERAGE_LAGS, F); leverage_r (F,): of the
    # returns, averaged over lags (runs saved before --leverage-loss lack it)
    facts: dict | None = None

    def __post_init__(self):
        if self.starts is not None:
            self.starts = torch.as_tensor(self.starts, dtype=torch.float32)
        if self.transform is not None:
            self.transform = {k: v if isinstance(v, torch.Tensor) else torch.as_tensor(v)
                              for k, v in self.transform.items()}
        if self.facts is not None:
            self.facts = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in self.facts.items()}
        self._on = {}           # device -> (transform, facts) for the penalties: built once, not per step

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
                "train_len": self.train_len, "facts": self.facts}

    def make_transform(self) -> ReturnsTransform:
        return ReturnsTransform(lo=self.lo, scale=self.scale, **self.transform)

    def _on_device(self, dev: torch.device) -> tuple[ReturnsTransform, dict]:
        if dev not in self._on:
            self._on[dev] = (self.make_transform().to(dev), {k: v.to(dev) for k, v in self.facts.items()})
        return self._on[dev]

    def fact_penalty(self, fake: torch.Tensor) -> torch.Tensor:
        """--fact-loss: squared gaps between a batch of fake windows (B, T, F, scaled levels) and the
        real series, of the statistics a risk manager checks first, on the Gaussian scores u of
        the returns, each pooled over the batch as metrics/series_risk.py pools paths: acf of u
        and |u| at lags 1..20 and leverage corr(u_t, |u_t+k|) at k = 1..10 (means of squares),
        plus the squared 1-D Wasserstein distance of each feature's u to N(0, 1), the real
        scores' law (tails: VaR and ES). A critic on 24-step windows cannot see an acf gap of 0.1
        (one window's lag-1 estimate has a standard error ~0.2); a batch of 128 windows can
        (~0.02). Scores, not returns: the same penalty on r (heavy-tailed, its batch acf ruled
        by a few extremes) thinned G's tails on Stocks (kurtosis 7.7 vs 9.1, docs/benchmarks.md)."""
        if self.facts is None:
            raise UsageError("--fact-loss needs a run prepared with it: this run's codec has no real statistics")
        dev = fake.device
        tf, real = self._on_device(dev)
        with torch.autocast(dev.type, enabled=False):
            u = tf.to_gauss(tf.returns(fake))                                  # (B, T-1, F)
            lags = min(LAGS, u.shape[1] - 1)
            a, b = _acf_t(u, lags), _acf_t(u.abs(), lags)
            lev = _leverage_t(u, min(LEVERAGE_LAGS, lags))
            u = u.flatten(0, 1).sort(0).values                                 # (B (T-1), F)
            q = torch.special.ndtri((torch.arange(len(u), device=dev) + 0.5) / len(u))
            return ((a - real["acf"][:len(a)]).square().mean() + (b - real["acf_abs"][:len(b)]).square().mean()
                    + (lev - real["leverage"][:len(lev)]).square().mean() + (u - q[:, None]).square().mean())

    def leverage_penalty(self, fake: torch.Tensor) -> torch.Tensor:
        """--leverage-loss: the squared gap between the leverage effect of a batch of fake windows'
        returns, corr(r_t, |r_t+k|) averaged over k = 1..10 per feature (the risk checks' statistic),
        and the real series', meaned over features. Returns, not scores: the statistic is ruled by
        the extreme days (on Stocks, winsorising G's returns at 1% turned its leverage from -0.006
        to +0.003, the scores' value, while the real one stays positive), and fact_penalty's score
        term weighs every day alike. One batch's estimate is very noisy (heavy tails, ~2,000 pairs
        a lag), and the square of a noisy estimate rewards a less variable statistic (thinner
        tails: the returns-space acf term did that, docs/benchmarks.md round 9). So the square is
        estimated from the two halves of the batch, (a - t)(b - t): independent, its expectation is
        exactly the squared gap of the expected statistic."""
        if self.facts is None or "leverage_r" not in self.facts:
            raise UsageError("--leverage-loss needs a run prepared with it: this run's codec has no real "
                             "leverage of returns (it was saved by an earlier version)")
        dev = fake.device
        tf, real = self._on_device(dev)
        with torch.autocast(dev.type, enabled=False):
            r = tf.returns(fake)                                                # (B, T-1, F)
            lags = min(LEVERAGE_LAGS, r.shape[1] - 1)
            h = len(r) // 2
            a, b = (_leverage_t(part, lags).mean(0) - real["leverage_r"] for part in (r[:h], r[h:2 * h]))
            return (a * b).mean()


def _acf_t(r: torch.Tensor, lags: int) -> torch.Tensor:
    """(lags, F) autocorrelation of r (B, n, F) pooled over the batch: metrics.series_risk.acf in torch."""
    d = r - r.mean((0, 1))
    var = d.square().mean((0, 1)).clamp_min(1e-30)
    return torch.stack([(d[:, k:] * d[:, :-k]).mean((0, 1)) / var for k in range(1, lags + 1)])


def _leverage_t(r: torch.Tensor, lags: int) -> torch.Tensor:
    """(lags, F) corr(r_t, |r_t+k|) pooled over the batch: metrics.series_risk.leverage_lags in torch."""
    a, b = r - r.mean((0, 1)), r.abs() - r.abs().mean((0, 1))
    s = (a.square().mean((0, 1)) * b.square().mean((0, 1))).clamp_min(1e-60).sqrt()
    return torch.stack([(a[:, :-k] * b[:, k:]).mean((0, 1)) / s for k in range(1, lags + 1)])


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
    T - 1 + warmup steps drive the TCN, whose valid convolutions leave exactly T - 1 returns.

    calibrate: in eval mode, each feature's scores u go through G's own quantiles to N(0, 1) before
    T^-1, so the sampled returns have the real marginal (heavy tails, VaR) whatever the training
    left; a monotone map per feature, so ranks and the dependence of ranks are G's. Why: on
    Stocks, G's Volume scores had a thin upper tail (99.95% quantile 2.9 against N(0, 1)'s 3.3),
    and Volume's excess kurtosis, 88% from five days, came out 2-5 against 20.6
    (docs/benchmarks.md, round 13). The map is measured on first use in eval mode on CAL_PATHS
    paths from a fixed seed (the same map every time for the same weights) and dropped whenever
    the weights may change: a training-mode forward, or the EMA's copy of G's buffers. It is not
    in the state dict: a loaded G measures it again, identically."""

    def __init__(self, codec: ReturnsCodec, z_dim: int, hidden: int, layers: int, calibrate: bool = False):
        super().__init__()
        f = codec.n_features
        self.tf = codec.make_transform()
        self.register_buffer("starts", codec.starts.clone())                                # (S, F)
        self.inp = nn.Conv1d(z_dim + f, hidden, 1)          # the start levels are an input: vol by level
        self.blocks = nn.ModuleList(_Block(hidden, 2 ** i) for i in range(layers))
        self.head = nn.Conv1d(hidden, 2 * f, 1)              # mu_t, sigma_t (pre-softplus)
        self.mix = nn.Linear(z_dim, f, bias=False)           # this step's innovations, correlated
        self.warmup, self.z_dim, self.calibrate_scores = 2 ** layers - 1, z_dim, calibrate
        self.register_buffer("cal_grid", torch.zeros(KNOTS), persistent=False)                # (K,)
        self.register_buffer("cal_knots", torch.zeros(KNOTS, f), persistent=False)            # (K, F)
        self.register_buffer("cal_on", torch.zeros((), dtype=torch.bool), persistent=False)

    def scores(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Start days (B, F) scaled and G's uncalibrated scores u (B, T-1, F), None for one step."""
        b, n, _ = z.shape
        pick = torch.special.ndtr(z[:, 0, 0].float()) * len(self.starts)
        x0 = self.starts[pick.long().clamp_(0, len(self.starts) - 1)]               # (B, F)
        if n - self.warmup <= 1:
            return x0, None
        zt = z[:, 1:]                                                               # (B, T-1+W, Z)
        h = self.inp(torch.cat([zt, x0[:, None].expand(-1, n - 1, -1).to(zt.dtype)], -1).transpose(1, 2))
        for blk in self.blocks:
            h = blk(h)                                                              # (B, C, T-1)
        mu, s = self.head(F.leaky_relu(h, 0.2)).transpose(1, 2).float().chunk(2, -1)   # (B, T-1, F) each
        return x0, mu + F.softplus(s + 0.5413) * self.mix(zt[:, self.warmup:]).float()  # softplus(.5413) = 1

    @torch.no_grad()
    def calibrate(self) -> None:
        """Measure the eval-mode map now (export calls this before tracing)."""
        if not self.calibrate_scores:
            return
        dev = self.cal_knots.device
        g = torch.Generator().manual_seed(0)
        z = torch.randn(CAL_PATHS, CAL_LEN + self.warmup, self.z_dim, generator=g).to(dev)
        u = torch.cat([self.scores(z[i:i + 128])[1].flatten(0, 1) for i in range(0, CAL_PATHS, 128)])  # (M, F)
        # knots even in Gaussian score (as fit_returns'), between the Hazen positions of the smallest
        # and largest of the m scores, so the tails, where kurtosis and VaR live, get many knots
        m = len(u)
        ends = torch.special.ndtri(torch.tensor([0.5 / m, 1 - 0.5 / m], dtype=torch.float64))
        grid = torch.linspace(float(ends[0]), float(ends[1]), KNOTS, dtype=torch.float64, device=dev)
        knots = torch.quantile(u.double(), torch.special.ndtr(grid), dim=0)         # (K, F)
        self.cal_grid.copy_(grid.float())
        span = (knots[-1] - knots[0]).clamp_min(1e-12)      # strictly increasing, as fit_returns' knots
        knots = torch.cummax(knots, 0).values + torch.arange(KNOTS, device=dev)[:, None] * 1e-9 * span
        self.cal_knots.copy_(knots.float())
        self.cal_on.fill_(True)

    def forward(self, z: torch.Tensor, c=None) -> torch.Tensor:
        x0, u = self.scores(z)
        if u is None:
            return x0[:, None]
        if self.calibrate_scores:
            if self.training:
                self.cal_on.fill_(False)        # the weights are about to change
            else:
                if not torch.compiler.is_compiling() and not bool(self.cal_on):     # export: measured before
                    self.calibrate()
                u = _interp(u, self.cal_knots, self.cal_grid[:, None].expand_as(self.cal_knots))
        with torch.autocast(z.device.type, enabled=False):
            return self.tf.levels(x0, self.tf.from_gauss(u))


class ReturnsCritic(nn.Module):
    """Scaled levels (B, T, F) -> one logit. Reads u, |u|, cumulative r / sd (/ sqrt(T-1)) and the
    levels at steps 1..T-1 with 1-D convolutions, then a linear head on the downsampled window.
    lags K > 0: the head also reads, per feature and lag k = 1..K, the window's sums of u_t u_t-k
    and of (|u_t| - E|u|)(|u_t-k| - E|u|) over its T-1-k pairs / sqrt(T-1-k) (~N(0, 1) under
    independence): autocorrelation and volatility clustering, seen directly."""

    def __init__(self, codec: ReturnsCodec, hidden: int, lags: int = 0):
        super().__init__()
        f, c, t = codec.n_features, hidden, codec.train_len - 1
        self.lags = min(lags, t - 1)
        self.tf = codec.make_transform()
        self.net = nn.Sequential(
            nn.Conv1d(4 * f, c, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=2, dilation=2), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=1, stride=2), nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 3, padding=1, stride=2), nn.LeakyReLU(0.2))
        t = ((t + 1) // 2 + 1) // 2
        self.out = nn.Sequential(nn.Linear(c * t + 2 * self.lags * f, c), nn.LeakyReLU(0.2), nn.Linear(c, 1))

    def forward(self, x: torch.Tensor, c=None) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            r = self.tf.returns(x)                                                  # (B, T-1, F)
            u = self.tf.to_gauss(r)
            cum = (r / self.tf.sd).cumsum(1) / math.sqrt(r.shape[1])
            feats = torch.cat([u, u.abs() - 0.8, cum, x[:, 1:].float()], -1)        # (B, T-1, 4F)
            lagged = self.lagged(u)
        h = self.net(feats.transpose(1, 2)).flatten(1)                               # (B, C * ~T/4)
        if self.lags:
            h = torch.cat([h, lagged.to(h.dtype)], 1)
        return self.out(h).squeeze(-1)                                               # (B,)

    def lagged(self, u: torch.Tensor) -> torch.Tensor:
        """u (B, n, F) -> (B, 2 K F): [sum_t u_t u_t-k / sqrt(n-k) for k = 1..K, then the same of
        |u| - E|u|], each block (B, F)."""
        a, n = u.abs() - math.sqrt(2 / math.pi), u.shape[1]
        return torch.cat([(v[:, k:] * v[:, :-k]).sum(1) / math.sqrt(n - k)
                          for v in (u, a) for k in range(1, self.lags + 1)] or [u[:, 0, :0]], 1)


def make_codec(base: SeriesCodec, x: torch.Tensor, layers: int, train_len: int, tail: str = "clamp") -> ReturnsCodec:
    """The returns codec of prepared windows x (N, T, F, scaled): start days are the windows' first
    steps (the days a real window starts on); the transform is fitted on the decoded data, and
    --fact-loss's targets are the statistics of the real series' scores u under it.
    train_len: the critic's window, cut to what the data holds (independent windows: seq_len)."""
    decoded = base.decode(x)
    paths = real_paths(decoded)
    steps = len(x) + base.seq_len - 1 if paths.shape[0] == 1 else base.seq_len
    tf = fit_returns(decoded, base.lo, base.scale, tail)
    r = to_returns(paths, log_mask(paths))                                                     # (N, T-1, F)
    u = ReturnsTransform(lo=base.lo, scale=base.scale, **tf).to_gauss(torch.from_numpy(r).float()).double().numpy()
    facts = {"acf": acf(u), "acf_abs": acf(np.abs(u)), "leverage": leverage_lags(u), "leverage_r": leverage_lags(r).mean(0)}
    return ReturnsCodec(base.seq_len, base.columns, base.lo, base.scale, warmup=2 ** layers - 1,
                        starts=x[:, 0].float().clone(), transform=tf, train_len=max(base.seq_len, min(train_len, steps)),
                        facts=facts)

"""Time-series metrics, following the TimeGAN evaluation protocol (Yoon et al. 2019), in our own code.

Both scores work on windows (N, T, F) in the min-max scaled space the model trains in.

- ``discriminative``: a post-hoc 1-layer GRU classifier (hidden = F // 2, at least 1) with a linear
  head on the last hidden state, trained to tell real windows from synthetic ones on an 80/20
  split of each set (batches of 128 real + 128 synthetic, Adam), scored |test accuracy - 0.5|.
  0 = indistinguishable, 0.5 = perfectly separated.
- ``predictive``: train on synthetic, test on real: a 1-layer GRU (hidden = F // 2) with a sigmoid
  head predicts the last feature at step t+1 from the other features up to step t (L1 loss, batches
  of 128); the score is its mean absolute error on all real windows.

The paper trains these for 2000 and 5000 iterations and averages over 10 repeats. Here the counts
are parameters (defaults: the paper's iterations, 3 repeats, see docs/benchmarks.md for what the
benchmark uses); every score comes with its standard deviation over repeats (`*_std`).

Finance checks compare returns of the decoded series (log returns where a feature is positive,
differences otherwise), pooled within windows: excess kurtosis (fat tails), lag-1 autocorrelation of
returns (about 0 for prices) and of absolute returns (volatility clustering, > 0 for real prices).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..train.checkpoint import isolated_rng
from . import register

DISC_ITERS, PRED_ITERS, REPEATS, BATCH = 2000, 5000, 3, 128


class _GRUHead(nn.Module):
    def __init__(self, d_in: int, hidden: int, d_out: int = 1):
        super().__init__()
        self.rnn = nn.GRU(d_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, d_out)

    def forward(self, x):
        h, last = self.rnn(x)
        return h, last[-1]


def _hidden(features: int) -> int:
    return max(1, features // 2)


def discriminative_once(real: torch.Tensor, fake: torch.Tensor, iters: int = DISC_ITERS, seed: int = 0,
                        batch: int = BATCH) -> float:
    g = torch.Generator().manual_seed(seed)
    real, fake = real.float(), fake.float()
    n = min(len(real), len(fake))
    real = real[torch.randperm(len(real), generator=g)[:n]]
    fake = fake[torch.randperm(len(fake), generator=g)[:n]]
    k = int(n * 0.8)
    with isolated_rng(seed):      # never reseeds the training RNG (CUDA included)
        net = _GRUHead(real.shape[-1], _hidden(real.shape[-1]))
        opt = torch.optim.Adam(net.parameters())
        for _ in range(iters):
            ir = torch.randint(k, (min(batch, k),), generator=g)
            i_f = torch.randint(k, (min(batch, k),), generator=g)
            x = torch.cat([real[ir], fake[i_f]])
            y = torch.cat([torch.ones(len(ir)), torch.zeros(len(i_f))])
            logit = net.head(net(x)[1]).squeeze(-1)
            loss = F.binary_cross_entropy_with_logits(logit, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            x = torch.cat([real[k:], fake[k:]])
            y = torch.cat([torch.ones(n - k), torch.zeros(n - k)])
            acc = ((net.head(net(x)[1]).squeeze(-1) > 0).float() == y).float().mean().item()
    return abs(acc - 0.5)


def predictive_once(train: torch.Tensor, test: torch.Tensor, iters: int = PRED_ITERS, seed: int = 0,
                    batch: int = BATCH) -> float:
    """Train on `train` windows (synthetic), MAE of next-step last-feature prediction on `test` (real)."""
    g = torch.Generator().manual_seed(seed)
    train, test = train.float(), test.float()
    feats = train.shape[-1]
    d_in = max(1, feats - 1)

    def split(w):
        x = w[:, :-1, :feats - 1] if feats > 1 else w[:, :-1, :]
        return x, w[:, 1:, feats - 1:]

    with isolated_rng(seed):      # never reseeds the training RNG (CUDA included)
        net = _GRUHead(d_in, _hidden(feats))
        opt = torch.optim.Adam(net.parameters())
        xs, ys = split(train)
        for _ in range(iters):
            i = torch.randint(len(train), (min(batch, len(train)),), generator=g)
            pred = torch.sigmoid(net.head(net(xs[i])[0]))
            loss = (pred - ys[i]).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            xt, yt = split(test)
            mae = (torch.sigmoid(net.head(net(xt)[0])) - yt).abs().mean(dim=(1, 2)).mean().item()
    return mae


@register("discriminative", {
    "discriminative": ("min", 0.0, 0.5, "|accuracy - 0.5| of a post-hoc GRU telling real from synthetic windows"),
    "discriminative_std": ("min", 0.0, 0.5, "its standard deviation over repeats")})
def discriminative(real: torch.Tensor, fake: torch.Tensor, iters: int = DISC_ITERS, repeats: int = REPEATS,
                   seed: int = 0, **_) -> dict:
    s = [discriminative_once(real, fake, iters, seed + r) for r in range(repeats)]
    return {"discriminative": float(np.mean(s)), "discriminative_std": float(np.std(s))}


@register("predictive", {
    "predictive": ("min", 0.0, 1.0, "MAE on real windows of a GRU trained on synthetic ones (next step, last feature)"),
    "predictive_std": ("min", 0.0, 1.0, "its standard deviation over repeats")})
def predictive(real: torch.Tensor, fake: torch.Tensor, iters: int = PRED_ITERS, repeats: int = REPEATS,
               seed: int = 0, **_) -> dict:
    s = [predictive_once(fake, real, iters, seed + r) for r in range(repeats)]
    return {"predictive": float(np.mean(s)), "predictive_std": float(np.std(s))}


def returns(windows: np.ndarray) -> np.ndarray:
    """(N, T-1, F) per-window returns: log returns for features that are positive, else differences."""
    w = np.asarray(windows, np.float64)
    pos = (w > 0).all(axis=(0, 1))
    r = np.diff(w, axis=1)
    if pos.any():
        r[..., pos] = np.diff(np.log(w[..., pos]), axis=1)
    return r


def _acf1(r: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation per feature, pooled over windows (series demeaned per feature)."""
    d = r - r.mean(axis=(0, 1), keepdims=True)
    num = (d[:, 1:] * d[:, :-1]).sum(axis=(0, 1))
    den = (d * d).sum(axis=(0, 1))
    return num / np.maximum(den, 1e-300)


def finance_stats(windows: np.ndarray) -> dict:
    r = returns(windows)
    flat = r.reshape(-1, r.shape[-1])
    d = flat - flat.mean(0)
    kurt = (d ** 4).mean(0) / np.maximum((d ** 2).mean(0) ** 2, 1e-300) - 3
    return {"kurtosis": float(np.mean(kurt)), "acf_returns": float(np.mean(_acf1(r))),
            "acf_abs_returns": float(np.mean(_acf1(np.abs(r))))}


@register("finance", {
    "kurtosis_gap": ("min", 0.0, float("inf"), "|excess kurtosis of synthetic returns - that of real returns|"),
    "acf_returns_gap": ("min", 0.0, 2.0, "|lag-1 autocorrelation of returns, synthetic - real|"),
    "acf_abs_returns_gap": ("min", 0.0, 2.0, "|lag-1 autocorrelation of absolute returns (volatility "
                                                "clustering), synthetic - real|")})
def finance(real: np.ndarray, fake: np.ndarray, **_) -> dict:
    """real, fake: decoded windows (N, T, F) in original units."""
    a, b = finance_stats(real), finance_stats(fake)
    out = {}
    for k in a:
        out[f"{k}_real"], out[f"{k}_fake"] = a[k], b[k]
    out.update(kurtosis_gap=abs(a["kurtosis"] - b["kurtosis"]),
               acf_returns_gap=abs(a["acf_returns"] - b["acf_returns"]),
               acf_abs_returns_gap=abs(a["acf_abs_returns"] - b["acf_abs_returns"]))
    return out


def pca_2d(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened windows projected on the first two principal components of the real windows."""
    a = real.reshape(len(real), -1)
    b = fake.reshape(len(fake), -1)
    mu = a.mean(0)
    _, _, vt = np.linalg.svd(a - mu, full_matrices=False)
    return (a - mu) @ vt[:2].T, (b - mu) @ vt[:2].T


class SeriesEvaluator:
    """Scores G's windows against the real windows; `last_fake` holds the windows last scored."""

    def __init__(self, real: torch.Tensor, codec, n_fake: int | None = None, seed: int = 0,
                 disc_iters: int = DISC_ITERS, pred_iters: int = PRED_ITERS, repeats: int = REPEATS,
                 real_baseline: bool = False):
        self.real, self.codec, self.seed = real.float(), codec, seed
        self.n_fake = n_fake or len(real)
        self.disc_iters, self.pred_iters, self.repeats = disc_iters, pred_iters, repeats
        self.last_fake: torch.Tensor | None = None
        self.baseline = self._baseline() if real_baseline else {}

    def _baseline(self) -> dict:
        """Real vs real: the predictive score of a GRU trained and tested on the real windows
        (TimeGAN's "original data" reference row)."""
        return predictive(self.real, self.real, self.pred_iters, self.repeats, self.seed)

    def evaluate(self, sample) -> dict:
        fake = self.last_fake = sample(self.n_fake, None, self.seed + 12345).float()
        out = {**discriminative(self.real, fake, self.disc_iters, self.repeats, self.seed),
               **predictive(self.real, fake, self.pred_iters, self.repeats, self.seed),
               **finance(self.codec.decode(self.real), self.codec.decode(fake))}
        out.update(n_real=len(self.real), n_fake=len(fake), disc_iters=self.disc_iters,
                   pred_iters=self.pred_iters, repeats=self.repeats)
        out.update({f"real_baseline_{k}": v for k, v in self.baseline.items()})
        return out


def verdicts(res: dict) -> list[tuple[str, str]]:
    lines = []
    if "discriminative" in res:
        d = res["discriminative"]
        lines.append(("discriminative", f"discriminative score {d:.3f} ± {res.get('discriminative_std', 0):.3f}: "
                      + ("a post-hoc classifier can barely tell synthetic from real windows." if d < 0.05 else
                         "synthetic windows are partly distinguishable from real ones; lower is better." if d < 0.2
                         else "synthetic windows are easy to tell from real ones.")))
    if "predictive" in res:
        b = res.get("real_baseline_predictive")
        lines.append(("predictive", f"predictive score (train on synthetic, test on real, MAE) {res['predictive']:.4f}"
                      + (f" vs {b:.4f} when trained on real" if b is not None else "")
                      + ": lower is better; the real-data score is the floor."))
    if "kurtosis_gap" in res:
        lines.append(("kurtosis_gap", f"returns: excess kurtosis {res['kurtosis_fake']:.2f} synthetic vs "
                      f"{res['kurtosis_real']:.2f} real; lag-1 autocorrelation {res['acf_returns_fake']:.2f} vs "
                      f"{res['acf_returns_real']:.2f}; of absolute returns {res['acf_abs_returns_fake']:.2f} vs "
                      f"{res['acf_abs_returns_real']:.2f} (volatility clustering)."))
    return lines

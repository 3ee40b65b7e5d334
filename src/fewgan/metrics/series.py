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
come from `--protocol`: "timegan" = the paper's iterations, 3 repeats (the benchmark: 5); "quick"
(the default, seconds of CPU) = 500 and 1000 iterations, 1 repeat: a weaker classifier and
regressor, so quick scores are lower-is-better checks of one run against another, not numbers
to put beside the paper's. Every score comes with its standard deviation over repeats (`*_std`).

Stylized facts and risk checks of the decoded returns (series_risk.py) run on long synthetic paths
against the real series.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..train.checkpoint import isolated_rng
from . import register
from .series_risk import real_paths, risk_checks

DISC_ITERS, PRED_ITERS, REPEATS, BATCH = 2000, 5000, 3, 128
# iterations of the discriminative and predictive nets and repeats of each, by --protocol
PROTOCOLS = {"quick": (500, 1000, 1), "timegan": (DISC_ITERS, PRED_ITERS, REPEATS)}
# risk checks: synthetic paths of about a trading year. 1000, not 200: a path's volatility regime
# persists, so 200 paths are few independent draws; on one Stocks G, six noise seeds gave
# kurtosis 8.8-13.0 and the worst column's 99% VaR -10% to +9% of real with 200 paths, 10.8-11.5
# and -7% to +3% with 1000 (docs/benchmarks.md, round 13). Sampling and checking 1000 takes 1.1 CPU s.
EVAL_LENGTH, EVAL_PATHS = 250, 1000


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
                        batch: int = BATCH, tick=None) -> float:
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
            if tick is not None:
                tick()
        with torch.no_grad():
            x = torch.cat([real[k:], fake[k:]])
            y = torch.cat([torch.ones(n - k), torch.zeros(n - k)])
            acc = ((net.head(net(x)[1]).squeeze(-1) > 0).float() == y).float().mean().item()
    return abs(acc - 0.5)


def predictive_once(train: torch.Tensor, test: torch.Tensor, iters: int = PRED_ITERS, seed: int = 0,
                    batch: int = BATCH, tick=None) -> float:
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
            if tick is not None:
                tick()
        with torch.no_grad():
            xt, yt = split(test)
            mae = (torch.sigmoid(net.head(net(xt)[0])) - yt).abs().mean(dim=(1, 2)).mean().item()
    return mae


@register("discriminative", {
    "discriminative": ("min", 0.0, 0.5, "|accuracy - 0.5| of a post-hoc GRU telling real from synthetic windows"),
    "discriminative_std": ("min", 0.0, 0.5, "its standard deviation over repeats")})
def discriminative(real: torch.Tensor, fake: torch.Tensor, iters: int = DISC_ITERS, repeats: int = REPEATS,
                   seed: int = 0, tick=None, **_) -> dict:
    s = [discriminative_once(real, fake, iters, seed + r, tick=tick) for r in range(repeats)]
    return {"discriminative": float(np.mean(s)), "discriminative_std": float(np.std(s))}


@register("predictive", {
    "predictive": ("min", 0.0, 1.0, "MAE on real windows of a GRU trained on synthetic ones (next step, last feature)"),
    "predictive_std": ("min", 0.0, 1.0, "its standard deviation over repeats")})
def predictive(real: torch.Tensor, fake: torch.Tensor, iters: int = PRED_ITERS, repeats: int = REPEATS,
               seed: int = 0, tick=None, **_) -> dict:
    s = [predictive_once(fake, real, iters, seed + r, tick=tick) for r in range(repeats)]
    return {"predictive": float(np.mean(s)), "predictive_std": float(np.std(s))}


def pca_2d(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened windows projected on the first two principal components of the real windows."""
    a = real.reshape(len(real), -1)
    b = fake.reshape(len(fake), -1)
    mu = a.mean(0)
    _, _, vt = np.linalg.svd(a - mu, full_matrices=False)
    return (a - mu) @ vt[:2].T, (b - mu) @ vt[:2].T


class EvalProgress:
    """A one-line bar on stderr for an evaluation: iterations done of the scores' total, ETA."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = max(1, total), 0, enabled
        self.t0 = self.t_last = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.what = ""

    def __call__(self) -> None:
        self.done += 1
        now = time.perf_counter()
        # a tty redraws at most 5 times a second; a log file gets a line per 10%
        due = now - self.t_last > 0.2 if self.tty else self.done * 10 // self.total > (self.done - 1) * 10 // self.total
        if self.enabled and (due or self.done == self.total):
            self.t_last = now
            el = now - self.t0
            eta = el / self.done * (self.total - self.done)
            line = (f"evaluating: {self.what} {self.done}/{self.total} iterations "
                    f"{100 * self.done / self.total:3.0f}% ETA {eta:.0f}s")
            sys.stderr.write(("\r" + line.ljust(79)) if self.tty else line + "\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.done:
            self.done = 0       # closes once
            sys.stderr.write("\n")
            sys.stderr.flush()


class SeriesEvaluator:
    """Scores G's windows against the real windows; `last_fake` holds the windows last scored.

    protocol: "quick" (the default: a user can wait for it) or "timegan" (the paper's iteration
    counts); disc_iters / pred_iters / repeats override the protocol's counts when not None.
    Risk checks run on `paths` synthetic paths of `length` steps (default EVAL_LENGTH, at most the
    real series' length) against the real series; on data of independent windows (sines), on
    windows. `progress`: a bar on stderr (fewgan evaluate turns it on; training does not)."""

    def __init__(self, real: torch.Tensor, codec, n_fake: int | None = None, seed: int = 0,
                 disc_iters: int | None = None, pred_iters: int | None = None, repeats: int | None = None,
                 real_baseline: bool = False, protocol: str = "quick", length: int | None = None,
                 paths: int = EVAL_PATHS, progress: bool = False):
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol {protocol!r}: choose one of {', '.join(PROTOCOLS)}")
        d, p, r = PROTOCOLS[protocol]
        self.real, self.codec, self.seed, self.protocol = real.float(), codec, seed, protocol
        self.n_fake = n_fake or len(real)
        self.disc_iters, self.pred_iters, self.repeats = disc_iters or d, pred_iters or p, repeats or r
        self.real_decoded = codec.decode(self.real)
        self.real_long = real_paths(self.real_decoded)
        self.long = self.real_long.shape[0] == 1
        steps = self.real_long.shape[1]
        self.length = min(length or EVAL_LENGTH, steps) if self.long else self.real.shape[1]
        self.paths, self.progress = paths, progress
        self.last_fake: torch.Tensor | None = None
        self.real_baseline = real_baseline
        self.baseline = self._baseline() if real_baseline else {}

    def _baseline(self, tick=None) -> dict:
        """Real vs real: the predictive score of a GRU trained and tested on the real windows
        (TimeGAN's "original data" reference row)."""
        return predictive(self.real, self.real, self.pred_iters, self.repeats, self.seed, tick=tick)

    def evaluate(self, sample) -> dict:
        """sample(n, labels, seed, length=None) -> (n, steps, F) scaled windows or paths."""
        bar = EvalProgress(self.repeats * (self.disc_iters + self.pred_iters), self.progress)
        threads = torch.get_num_threads()
        # One thread: these GRUs are tiny; on a busy 2-core machine two threads made each step
        # 5-30x slower (spinning workers), measured in docs/benchmarks.md.
        torch.set_num_threads(1)
        try:
            fake = self.last_fake = sample(self.n_fake, None, self.seed + 12345).float()
            bar.what = "discriminative"
            out = discriminative(self.real, fake, self.disc_iters, self.repeats, self.seed, tick=bar)
            bar.what = "predictive"
            out.update(predictive(self.real, fake, self.pred_iters, self.repeats, self.seed, tick=bar))
            bar.close()
            paths = sample(self.paths, None, self.seed + 777, length=self.length).float() if self.long else fake
        finally:
            bar.close()
            torch.set_num_threads(threads)
        out.update(risk_checks(self.real_decoded, self.codec.decode(paths), list(self.codec.columns), self.length))
        out.update(n_real=len(self.real), n_fake=len(fake), disc_iters=self.disc_iters,
                   pred_iters=self.pred_iters, repeats=self.repeats, protocol=self.protocol,
                   eval_length=self.length, eval_paths=len(paths))
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
    if res.get("protocol") == "quick":
        lines.append(("protocol", f"quick protocol ({res['disc_iters']} / {res['pred_iters']} iterations, "
                      f"{res['repeats']} repeat): compare runs with it; for numbers beside TimeGAN's paper use "
                      "fewgan evaluate RUN --protocol timegan."))
    from .series_risk import verdicts as risk_verdicts
    return lines + risk_verdicts(res)

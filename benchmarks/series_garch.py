"""The peer a risk manager would pick: GARCH(1,1) with Student-t innovations per column, fitted with
the `arch` package (a benchmark-only dependency) to the same returns fewgan's evaluator uses (log
returns of positive columns, differences otherwise), with constant conditional correlation across
columns (Bollerslev 1990): the innovations are joined by a Gaussian copula whose correlation is that
of the normal scores of the fitted standardized residuals. Simulation is our own recursion on the
fitted parameters:  h_t+1 = omega + alpha (r_t - mu)^2 + beta h_t,  r_t = mu + sqrt(h_t) eps_t,
eps_t a unit-variance t(nu). Each path starts at the level of a random day of the real series,
after a 250-step burn-in of the variance.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from fewgan.metrics.series_risk import log_mask, to_returns

BURN = 250


class GarchPeer:
    def __init__(self, real_series: np.ndarray):
        """real_series: (T, F) levels in original units."""
        from arch import arch_model
        self.levels = np.asarray(real_series, np.float64)
        self.mask = log_mask(self.levels)
        r = to_returns(self.levels[None], self.mask)[0]                 # (T-1, F)
        self.scale = 1 / r.std(0)               # arch fits best with returns of unit-ish size
        self.params, z = [], []
        for j in range(r.shape[1]):
            res = arch_model(r[:, j] * self.scale[j], mean="Constant", vol="GARCH", p=1, q=1, dist="t",
                             rescale=False).fit(disp="off")
            p = res.params
            self.params.append({"mu": p["mu"], "omega": p["omega"], "alpha": p["alpha[1]"], "beta": p["beta[1]"],
                                "nu": p["nu"]})
            z.append(np.asarray(res.std_resid))
        z = np.stack(z, 1)
        z = z[np.isfinite(z).all(1)]
        normal_scores = stats.norm.ppf(stats.rankdata(z, axis=0) / (len(z) + 1))
        self.corr = np.corrcoef(normal_scores, rowvar=False).reshape(r.shape[1], r.shape[1])

    def simulate(self, n: int, length: int, seed: int) -> np.ndarray:
        """(n, length, F) level paths in original units."""
        rng = np.random.default_rng(seed)
        f = len(self.params)
        chol = np.linalg.cholesky(self.corr + 1e-9 * np.eye(f))
        u = stats.norm.cdf(rng.standard_normal((n, BURN + length - 1, f)) @ chol.T)
        eps = np.empty_like(u)
        for j, p in enumerate(self.params):
            nu = p["nu"]
            eps[..., j] = stats.t.ppf(u[..., j], nu) * np.sqrt((nu - 2) / nu)
        mu = np.array([p["mu"] for p in self.params])
        om = np.array([p["omega"] for p in self.params])
        al = np.array([p["alpha"] for p in self.params])
        be = np.array([p["beta"] for p in self.params])
        h = np.broadcast_to(om / np.maximum(1 - al - be, 1e-6), (n, f)).copy()
        r = np.empty_like(eps)
        for t in range(eps.shape[1]):
            r[:, t] = mu + np.sqrt(h) * eps[:, t]
            h = om + al * (r[:, t] - mu) ** 2 + be * h
        r = r[:, BURN:] / self.scale                                     # (n, length-1, F) returns
        start = self.levels[rng.integers(len(self.levels), size=n)][:, None, :]   # (n, 1, F)
        c = np.concatenate([np.zeros((n, 1, f)), np.cumsum(r, axis=1)], axis=1)
        return np.where(self.mask, start * np.exp(c), start + c)

    def sampler(self, codec, seq_len: int):
        """A fewgan-style sample(n, labels, seed, length=None) -> scaled (n, steps, F) tensor."""
        def sample(n, labels=None, seed=0, length=None):
            return codec.encode(self.simulate(n, length or seq_len, seed))
        return sample

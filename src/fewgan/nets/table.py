"""Networks for tables (ideas of CTGAN, Xu et al. 2019; our own code).

G: [z, condition] -> residual MLP blocks (Linear-BN-ReLU, output concatenated to the input) ->
   one linear head over the encoded row -> per span: tanh for in-mode scalars, Gumbel-softmax
   (temperature tau) for one-hots (modes, categories, missing flags). The Gumbel noise is made from
   extra Gaussian inputs in z (noise = z_dim + copula columns + number of softmax outputs), so a
   seeded z fixes a sample completely and sampling never touches the global RNG.
   Copula columns (--marginals copula, 'linear' spans: one normal score each): output = L z_c +
   residual, with z_c standard normal inputs (also fed to the MLP), L the Cholesky factor of the
   training rows' normal-score correlation (a fixed buffer) and the residual's head rows zero at
   initialisation. Categorical columns join the copula through latent normal scores (a category
   is an interval of the latent; log-probabilities of the intervals are added to the head's
   zero-initialised logits). Under a condition (one category of one column) the path uses that
   category's mean and covariance of the latents (codec.copula_cond): at step 0 G *is* a
   class-conditional Gaussian copula of the training rows, and the adversarial training learns
   what the copula misses.
D: PacGAN critic: `pac` rows (and their conditions) are concatenated and scored together, which
   lets the critic see a small sample's diversity and penalises mode collapse. Linear-LeakyReLU-
   Dropout blocks, no normalisation (the gradient penalty needs per-sample gradients).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import NETS

COPULA_EDGE = 0.05      # width (in normal scores) of the step from a copula latent to its category


class _Residual(nn.Module):
    def __init__(self, i: int, o: int):
        super().__init__()
        self.fc, self.bn = nn.Linear(i, o), nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


@NETS.register("table_g")
class TableGenerator(nn.Module):
    def __init__(self, z_dim: int, cond_dim: int, spans: list, widths: tuple[int, ...] = (256, 256),
                 tau: float = 0.2, copula_corr=None, copula_cond: dict | None = None,
                 copula_cats: list | None = None):
        super().__init__()
        self.z_dim, self.cond_dim, self.tau = z_dim, cond_dim, tau
        lin_idx = [s for s, k, a in spans if a == "linear"]
        self.n_lin = len(lin_idx)
        self.n_copula = len(copula_corr) if copula_corr is not None else 0     # latent normal scores
        if self.n_lin and not self.n_copula:
            raise ValueError("linear (copula) spans need copula_corr")
        if self.n_copula:
            self.register_buffer("copula_L", copula_cholesky(copula_corr))
        self.copula_cond = bool(self.n_copula and copula_cond and cond_dim)
        if self.copula_cond:      # per condition: a mean shift and the pooled within-category factor
            self.register_buffer("copula_mean", torch.tensor(copula_cond["mean"], dtype=torch.float32))
            self.register_buffer("copula_Lc", torch.stack([copula_cholesky(v, unit=False)
                                                           for v in copula_cond["cov"]]))
        dim = z_dim + self.n_copula + cond_dim
        blocks = []
        for w in widths:
            blocks.append(_Residual(dim, w))
            dim += w
        self.body = nn.Sequential(*blocks)
        data_dim = max(s + k for s, k, _ in spans)
        self.head = nn.Linear(dim, data_dim)
        # Categorical columns in the copula: latent j picks the category whose interval of normal
        # quantiles [lo, hi) holds it, as log-probabilities added to the head's logits (a smooth
        # step of width COPULA_EDGE): P maps each category slot to its output, S its latent.
        self.n_cat_latent = len(copula_cats or [])
        zero = list(lin_idx)
        if self.n_cat_latent:
            from scipy.special import ndtri
            slots = [(start + i, j, cum[i], cum[i + 1]) for j, (start, cum) in enumerate(copula_cats)
                     for i in range(len(cum) - 1)]
            q = lambda p: -30.0 if p <= 0 else 30.0 if p >= 1 else float(ndtri(p))  # noqa: E731
            P = torch.zeros(len(slots), data_dim)
            S = torch.zeros(self.n_cat_latent, len(slots))
            for i, (pos, j, _, _) in enumerate(slots):
                P[i, pos], S[j, i] = 1, 1
            self.register_buffer("copula_P", P)
            self.register_buffer("copula_S", S)
            self.register_buffer("copula_lo", torch.tensor([q(a) for _, _, a, _ in slots]))
            self.register_buffer("copula_hi", torch.tensor([q(b) for _, _, _, b in slots]))
            zero += [pos for pos, _, _, _ in slots]
        if zero:     # the residual on the copula columns starts at zero
            with torch.no_grad():
                self.head.weight[zero] = 0
                self.head.bias[zero] = 0
        # Group the outputs: scalars (tanh) first, then one-hots by size so each size is one softmax.
        tanh_idx = [s for s, k, a in spans if a == "tanh"]
        groups: dict[int, list[int]] = {}
        for s, k, a in spans:
            if a == "softmax":
                groups.setdefault(k, []).extend(range(s, s + k))
        self.sizes = sorted(groups)
        order = lin_idx + tanh_idx + [i for k in self.sizes for i in groups[k]]
        self.n_tanh = len(tanh_idx)
        self.n_groups = [len(groups[k]) // k for k in self.sizes]
        self.register_buffer("order", torch.tensor(order, dtype=torch.long), persistent=False)
        self.register_buffer("inverse", torch.argsort(torch.tensor(order, dtype=torch.long)), persistent=False)
        self.n_softmax = len(order) - self.n_tanh - self.n_lin

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        k = self.n_copula
        zn, zg = z[:, :self.z_dim + k], z[:, self.z_dim + k:]      # zn: z, then the copula inputs z_c
        h = zn if c is None or self.cond_dim == 0 else torch.cat([zn, c.to(zn.dtype)], dim=1)
        out = self.head(self.body(h)).float()
        parts = []
        if k:
            zc = zn[:, self.z_dim:].float()
            if self.copula_cond and c is not None:
                # c is one-hot (one condition slot per row): gather that slot's mean and factor. The
                # same numbers as c @ mean and einsum("bs,skl->bkl", c, Lc), without the
                # (batch x slots x k^2) product: 0.4 -> 0.15 ms a call on adult, 125 -> 6 ms with
                # 1200 slots and 70 latents (a wide categorical table).
                slot = c.argmax(1)
                lat = self.copula_mean[slot] + torch.einsum("bkl,bl->bk", self.copula_Lc[slot], zc)
            else:
                lat = zc @ self.copula_L.T
            if self.n_cat_latent:
                u = lat[:, self.n_lin:] @ self.copula_S
                cdf = lambda t: 0.5 * (1 + torch.erf((t - u) / (COPULA_EDGE * math.sqrt(2))))  # noqa: E731
                p = cdf(self.copula_hi) - cdf(self.copula_lo)
                out = out + torch.log(p.clamp_min(1e-6)) @ self.copula_P
            out = out[:, self.order]
            parts.append(out[:, :self.n_lin] + lat[:, :self.n_lin])
            out = out[:, self.n_lin:]
        else:
            out = out[:, self.order]
        parts.append(torch.tanh(out[:, :self.n_tanh]))
        # Gumbel(0, 1) from the Gaussian inputs: u = Phi(z), g = -log(-log u).
        u = (0.5 * (1 + torch.erf(zg.float() / math.sqrt(2)))).clamp(1e-6, 1 - 1e-6)
        g = -torch.log(-torch.log(u))
        pos = self.n_tanh
        gpos = 0
        for k, n in zip(self.sizes, self.n_groups):
            logits = out[:, pos:pos + k * n].reshape(-1, n, k)
            noise = g[:, gpos:gpos + k * n].reshape(-1, n, k)
            parts.append(torch.softmax((logits + noise) / self.tau, dim=-1).reshape(-1, n * k))
            pos += k * n
            gpos += k * n
        return torch.cat(parts, dim=1)[:, self.inverse]


def copula_cholesky(corr, unit: bool = True) -> torch.Tensor:
    """Lower Cholesky factor of a correlation (unit=True) or covariance matrix, made positive
    definite first (eigenvalues clipped at 1e-4 of the largest, a correlation's unit diagonal
    restored): float32, so L z has that covariance for z ~ N(0, I)."""
    c = torch.as_tensor(corr, dtype=torch.float64)
    c = 0.5 * (c + c.T)
    w, v = torch.linalg.eigh(c)
    c = (v * w.clamp_min(1e-4 * max(float(w.max()), 1e-12))) @ v.T
    if unit:
        d = c.diagonal().sqrt()
        c = c / d[:, None] / d[None, :]
    return torch.linalg.cholesky(c).float()


@NETS.register("table_d")
class TableDiscriminator(nn.Module):
    def __init__(self, data_dim: int, cond_dim: int, widths: tuple[int, ...] = (256, 256), pac: int = 10,
                 dropout: float = 0.5):
        super().__init__()
        self.pac, self.cond_dim = pac, cond_dim
        dim = (data_dim + cond_dim) * pac
        layers = []
        for w in widths:
            layers += [nn.Linear(dim, w), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            dim = w
        layers.append(nn.Linear(dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        # x: (N, data_dim) with N divisible by pac -> (N // pac,) scores, one per pack
        if c is not None and self.cond_dim:
            x = torch.cat([x, c.to(x.dtype)], dim=1)
        if x.shape[0] % self.pac:
            raise ValueError(f"batch {x.shape[0]} is not divisible by pac {self.pac}")
        return self.net(x.reshape(x.shape[0] // self.pac, -1)).squeeze(1)

"""GAN losses. The loop owns the schedule; this module owns the maths.

With logits l = D(x) and sigma the logistic function, D(x) = sigma(l), and
log sigma(l) = -softplus(-l), log(1 - sigma(l)) = -softplus(l):

- ``bce``  : the classic minimax game of Goodfellow et al. (2014),
             min_G max_D E[log D(x)] + E[log(1 - D(G(z)))].
             D loss = softplus(-l_real) + softplus(l_fake); G loss = -softplus(l_fake),
             i.e. G *minimises* log(1 - D(G(z))). This saturates: when D confidently rejects
             fakes (l_fake << 0) the G gradient sigma(l_fake) vanishes, which is exactly the
             situation early in training and on small data.
- ``ns``   : the non-saturating variant from the same paper, G maximises log D(G(z)):
             G loss = softplus(-l_fake). Same fixed point, strong gradients when G is bad.
             Default for images, with lazy R1 (Mescheder et al. 2018) as in StyleGAN2.
- ``hinge``: D relu(1 - l_real) + relu(1 + l_fake); G -l_fake (SNGAN, BigGAN).
- ``wgan-gp``: critic l_fake - l_real + lambda * (|grad D(x_hat)| - 1)^2 (Gulrajani et al. 2017).
- ``lsgan``: D (l_real - 1)^2/2 + l_fake^2/2; G (l_fake - 1)^2/2 (Mao et al. 2017).
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .registry import LOSSES

Tensor = torch.Tensor


def _d_bce(r: Tensor, f: Tensor) -> Tensor:
    return F.softplus(-r).mean() + F.softplus(f).mean()


LOSSES.register("bce")((_d_bce, lambda f: -F.softplus(f).mean()))
LOSSES.register("ns")((_d_bce, lambda f: F.softplus(-f).mean()))
LOSSES.register("hinge")((lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(), lambda f: -f.mean()))
LOSSES.register("wgan-gp")((lambda r, f: f.mean() - r.mean(), lambda f: -f.mean()))
LOSSES.register("lsgan")((lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(),
                          lambda f: 0.5 * ((f - 1) ** 2).mean()))


class GANLoss:
    """Runs G and D for one loss family; `augment` is applied inside run_D and nowhere else."""

    def __init__(self, G: nn.Module, D: nn.Module, loss: str, augment: Callable | None = None,
                 r1_gamma: float = 0.0, gp_lambda: float = 10.0, autocast: Callable = contextlib.nullcontext,
                 report: Callable[[str, Tensor], None] = lambda name, value: None,
                 g_aux: Callable[[Tensor, Tensor | None], Tensor | None] | None = None):
        self.G, self.D, self.name = G, D, loss
        self.g_aux = g_aux        # an extra G term from the modality (tables: condition cross-entropy); None: none this run
        self.d_fn, self.g_fn = LOSSES.get(loss)
        self.augment, self.r1_gamma, self.gp_lambda = augment, r1_gamma, gp_lambda
        self.autocast, self.report = autocast, report
        self.aug_p: Tensor | float = 0.0

    def run_G(self, z: Tensor, c: Tensor | None) -> Tensor:
        with self.autocast():
            return self.G(z, c)

    def run_D(self, x: Tensor, c: Tensor | None, full_precision: bool = False, recon_rows: int = 0):
        """D's logits; with recon_rows=R (a self-supervised D only) also its reconstruction loss
        on the first R rows, computed on the augmented images D saw."""
        if self.augment is not None:
            x = self.augment(x, self.aug_p)
        # Penalties differentiate twice: keep those passes out of reduced precision.
        ctx = torch.autocast(x.device.type, enabled=False) if full_precision else self.autocast()
        with ctx:
            if recon_rows:
                logits, rec = self.D(x, c, recon_rows=recon_rows)
                return logits.float(), rec.float()
            return self.D(x, c).float()

    # -- phases ---------------------------------------------------------------------------------
    def g_main(self, fake: Tensor, c: Tensor | None) -> Tensor:
        """G loss on fakes from run_G (the same forward pass the D phase saw, detached there)."""
        logits = self.run_D(fake, c)
        loss = self.g_fn(logits)
        self.report("loss/G", loss)
        aux = self.g_aux(fake, c) if self.g_aux is not None else None
        if aux is not None:
            self.report("loss/G_aux", aux)
            loss = loss + aux
        return loss

    def d_main(self, real: Tensor, rc: Tensor | None, fake: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor]:
        """D loss on real and fake in one D call; returns (loss, real logits)."""
        fake = fake.detach().to(real.dtype)
        cc = None if c is None else torch.cat([rc, c])
        both = torch.cat([real, fake])
        # A self-supervised D (FastGAN's) also rebuilds the reals from its features: its L1 joins
        # D's loss. Other Ds take the plain call, so their maths and RNG draws are unchanged.
        if getattr(self.D, "self_supervised", False):
            logits, rec = self.run_D(both, cc, recon_rows=real.shape[0])
            self.report("loss/D_recon", rec)
        else:
            logits, rec = self.run_D(both, cc), None                # (2N,): no BN in D, so one call is exact
        lr, lf = logits.chunk(2)       # equal halves; a PacGAN critic gives one logit per pack of rows
        loss = self.d_fn(lr, lf)
        self.report("loss/D", loss)
        if rec is not None:
            loss = loss + rec
        self.report("D/real", lr.mean())
        self.report("D/fake", lf.mean())
        if self.name == "wgan-gp":
            loss = loss + self.gp_lambda * self._grad_penalty(real, fake, rc)
        return loss, lr

    def d_reg(self, real: Tensor, rc: Tensor | None, every: int) -> Tensor:
        """Lazy R1: gamma/2 * |grad_x D(x)|^2 on reals, scaled by the interval (StyleGAN2)."""
        real = real.detach().requires_grad_(True)
        logits = self.run_D(real, rc, full_precision=True)
        (g,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        penalty = g.flatten(1).square().sum(1).mean()        # any sample shape: images, rows, windows
        self.report("loss/R1", penalty)
        return penalty * (self.r1_gamma / 2) * every

    def _grad_penalty(self, real: Tensor, fake: Tensor, c: Tensor | None) -> Tensor:
        a = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
        x = (a * real + (1 - a) * fake).requires_grad_(True)
        out = self.run_D(x, c, full_precision=True)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        # One norm per critic output: per sample, or per pack of rows for a PacGAN critic.
        gp = (g.reshape(out.shape[0], -1).norm(dim=1) - 1).square().mean()
        self.report("loss/GP", gp)
        return gp

"""The text GAN's training step: maximum likelihood first, then RelGAN-style adversarial steps.

Engine step s < mle_steps (or every step when adv_steps is 0): one teacher-forced cross-entropy
update of G (Adam at --mle-lr, gradient norm clipped at 5 as in RelGAN), optimizer "opt_mle".

Afterwards, adversarial step i = s - mle_steps: G runs free with Gumbel noise and hands D the
relaxed one-hot sequence softmax(beta (logits + g)), beta = beta_max ** min(i / adv_steps, 1)
(RelGAN's exponential schedule: 1 at the start, beta_max at the end). Relativistic standard loss
(RSGAN): D minimises softplus(-(D(real) - D(fake))), G minimises softplus(-(D(fake) - D(real)));
--no-relativistic: the non-saturating loss (D softplus(-D(real)) + softplus(D(fake)), G softplus(-D(fake))).
--mle-weight w > 0 adds w times the MLE phase's cross-entropy on a fresh real batch to G's loss, so the
adversarial signal corrects the likelihood model instead of replacing it; --adv-weight scales the
adversarial term (0: those steps without D's signal, the control that tells what D adds).
--d-steps D updates per G update (the first on the rollout G is then updated through).
Optimizers "opt_G" (--g-lr) and "opt_D" (--d-lr).

Every random draw (batches, Gumbel noise) comes from torch's global generator and the schedule
is a function of the step alone, so exact resume needs no phase state beyond the engine's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ...train.phases import adam
from .nets import line_mask

CLIP = 5.0


class TextPhases:
    def __init__(self, eng):
        self.eng = eng
        o = eng.cfg.options
        self.mle_steps, self.adv_steps = o.mle_steps, o.adv_steps
        self.beta_max, self.d_steps, self.mle_lr = o.beta_max, o.d_steps, o.mle_lr
        self.relativistic = o.relativistic
        # None: a run saved before these options existed (the adversarial loss alone, D on the relaxation)
        self.mle_weight, self.adv_weight = o.mle_weight or 0.0, o.adv_weight
        self.st = bool(o.straight_through)
        self.n_vocab = eng.prep.codec.n_vocab

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        e, cfg = self.eng, self.eng.cfg
        return {"opt_mle": adam(e.G.parameters(), self.mle_lr, cfg, e.device),
                "opt_G": adam(e.G.parameters(), cfg.g_lr, cfg, e.device),
                "opt_D": adam(e.D.parameters(), cfg.d_lr, cfg, e.device)}

    def beta(self, step: int) -> float:
        i = step - self.mle_steps
        return float(self.beta_max ** min(i / max(self.adv_steps, 1), 1.0))

    def step(self) -> None:
        if self.eng.step < self.mle_steps or self.adv_steps == 0:
            self._mle()
        else:
            self._adversarial()

    def _real_ids(self) -> torch.Tensor:
        real, _ = self.eng.batch()
        return real.long()                                             # (B, L)

    def _update(self, name: str, loss: torch.Tensor, params=None) -> None:
        opt = self.eng.opts[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if params is not None:
            torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        self.eng.bad |= ~torch.isfinite(loss.detach())

    def _ce(self) -> torch.Tensor:
        """Teacher-forced cross-entropy per token of a real batch."""
        ids = self._real_ids()
        logits = self.eng.G.logits(ids)                                # (B, L, V)
        ce = F.cross_entropy(logits.transpose(1, 2), ids, reduction="none")   # (B, L)
        mask = line_mask(ids)
        return (ce * mask).sum() / mask.sum()

    def _mle(self) -> None:
        loss = self._ce()
        self.eng.stats.report("loss/MLE", loss.detach())
        self._update("opt_mle", loss, self.eng.G.parameters())

    def _adversarial(self) -> None:
        e, G, D, b = self.eng, self.eng.G, self.eng.D, self.eng.cfg.batch
        beta = self.beta(e.step)
        soft, _ = G.relaxed(b, beta, e.device, self.st)                  # (B, L, V), grad to G
        D.requires_grad_(True)
        for k in range(self.d_steps):
            if k == 0:
                fake = soft.detach()
            else:
                with torch.no_grad():
                    fake = G.relaxed(b, beta, e.device, self.st)[0]
            real = F.one_hot(self._real_ids(), self.n_vocab).float()
            lr, lf = D(real), D(fake)
            loss_d = (F.softplus(-(lr - lf)).mean() if self.relativistic
                      else F.softplus(-lr).mean() + F.softplus(lf).mean())
            self._update("opt_D", loss_d)
        e.stats.report("loss/D", loss_d.detach())
        e.stats.report("D/real", lr.detach().mean())
        e.stats.report("D/fake", lf.detach().mean())
        D.requires_grad_(False)
        real = F.one_hot(self._real_ids(), self.n_vocab).float() if self.relativistic else None
        lf = D(soft)
        loss_g = F.softplus(-(lf - D(real))).mean() if self.relativistic else F.softplus(-lf).mean()
        e.stats.report("loss/G", loss_g.detach())
        e.stats.report("beta", torch.tensor(beta))
        loss_g = self.adv_weight * loss_g
        if self.mle_weight > 0:
            ce = self._ce()
            e.stats.report("loss/MLE", ce.detach())
            loss_g = loss_g + self.mle_weight * ce
        self._update("opt_G", loss_g)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

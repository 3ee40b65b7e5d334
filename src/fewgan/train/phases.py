"""What one training step does. The Engine (loop.py) owns the schedule around it: budget, EMA,
ADA, stats, evaluation, checkpoints, rollback. A modality whose training is not "one D step, one G
step" (TimeGAN's autoencoder/supervisor phases, say) supplies its own Phases object through
`modality.make_phases(engine)`; it must offer the same four methods as GANPhases.
"""
from __future__ import annotations

import torch


def adam(params, lr: float, cfg, device: torch.device) -> torch.optim.Adam:
    """Adam with the run's betas, fused where the device supports it."""
    return torch.optim.Adam(params, lr, betas=(cfg.beta1, cfg.beta2), fused=device.type in ("cpu", "cuda"))


class GANPhases:
    """Default step: D main (+ lazy R1), then G main, sharing one G forward.

    Modality hooks (optional): `codec.sample_batch(x, y, batch, device)` picks the real batch and
    its conditions (tables: training-by-sampling); the loss's `g_aux` adds a term to G's loss.
    """

    def __init__(self, eng):
        self.eng = eng

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        e, cfg = self.eng, self.eng.cfg
        return {"opt_G": adam(e.G.parameters(), cfg.g_lr, cfg, e.device),
                "opt_D": adam(e.D.parameters(), cfg.d_lr, cfg, e.device)}

    def step(self) -> None:
        e, cfg, loss = self.eng, self.eng.cfg, self.eng.loss
        opt_G, opt_D = e.opts["opt_G"], e.opts["opt_D"]
        # One G forward serves both phases: D sees it detached, then G is updated through it.
        real, rc = e.batch()
        # Conditional: fakes take the real batch's conditions, so they follow the data's label
        # distribution and each GP interpolate pairs a real and a fake of the same class.
        c = rc
        fake = loss.run_G(e.noise(e.local_batch), c)
        # D: main loss on real + fake, then lazy R1 every r1_every steps.
        e.D.requires_grad_(True)
        loss_d, real_logits = loss.d_main(real, rc, fake, c)
        opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_D.step()
        if e.ada:
            e.ada.accumulate(real_logits)
        if loss.r1_gamma > 0 and e.step % cfg.r1_every == 0:
            reg = loss.d_reg(real, rc, cfg.r1_every)
            opt_D.zero_grad(set_to_none=True)
            reg.backward()
            opt_D.step()
        # G: D frozen so no weight grads are computed for it.
        e.D.requires_grad_(False)
        loss_g = loss.g_main(fake, c)
        opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_G.step()
        e.bad |= ~torch.isfinite(loss_d.detach() + loss_g.detach())

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

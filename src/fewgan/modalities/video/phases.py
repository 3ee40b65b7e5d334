"""One training step of a video GAN: two discriminators (frames, clips) on the engine's losses.

Each head has its own GANLoss (same loss family, augmentation, R1 weight and autocast as the
engine's): D's loss is the sum of the frame loss and the clip loss, R1 the sum of both heads'
penalties, G's loss the sum of both adversarial terms. Both heads live in one module, so one
optimizer (opt_D, Adam is per parameter) and the engine's checkpoints cover them. ADA reads the
real logits of both heads. Baselines without a clip head train exactly like an image GAN on
frames: G makes only d_frames frames per clip and D sees d_frames random real frames.
`--frame-steps N` (warp): the first N steps train the warp model's frame generator the same way,
as an image GAN on single frames (frame head only), before the clip model starts: such a step
costs about a third of a clip step, so the content G sees several times more frames in the
same time (the frame-only baseline's frames are much sharper at equal CPU time).
"""
from __future__ import annotations

import torch
from torch import nn

from ...losses import GANLoss
from ...train.phases import GANPhases


class VideoPhases(GANPhases):
    def __init__(self, eng):
        super().__init__(eng)
        cfg, base = eng.cfg, eng.loss

        def make(head, suffix: str, G=eng.G) -> GANLoss:
            return GANLoss(G, head, cfg.loss, eng.augment, base.r1_gamma, cfg.gp_lambda, base.autocast,
                           lambda name, v: eng.stats.report(name + suffix, v))
        self.losses = [make(eng.D.frame_logits, "")]
        if eng.D.clip is not None:
            self.losses.append(make(eng.D.clip_logits, "/clip"))
        self.frames_only = eng.D.clip is None
        self.frame_steps = cfg.options.frame_steps if cfg.options.model == "warp" else 0
        self.stills = make(eng.D.frame_logits, "", _Stills(eng.G)) if self.frame_steps else None

    def step(self) -> None:
        e, cfg = self.eng, self.eng.cfg
        opt_G, opt_D = e.opts["opt_G"], e.opts["opt_D"]
        stills = self.stills is not None and e.step < self.frame_steps
        losses = [self.stills] if stills else self.losses
        for loss in losses:
            loss.aug_p = e.loss.aug_p           # the engine's ADA moves p on its own GANLoss
        real, rc = e.batch()                    # (B, T, C, H, W)
        z = e.noise(cfg.batch)                  # (B, T + 2, z_dim)
        if self.frames_only or stills:          # an image GAN on frames: make only what D sees
            k = e.D.d_frames
            pick = torch.rand(real.shape[0], real.shape[1], device=real.device).argsort(1)[:, :k]
            real = real[torch.arange(real.shape[0], device=real.device)[:, None], pick]
            z = z[:, :2 + k]
        fake = losses[0].run_G(z, rc)
        e.D.requires_grad_(True)
        loss_d = 0
        for loss in losses:
            ld, real_logits = loss.d_main(real, rc, fake, rc)
            loss_d = loss_d + ld
            if e.ada:
                e.ada.accumulate(real_logits)
        opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_D.step()
        if losses[0].r1_gamma > 0 and e.step % cfg.r1_every == 0:
            reg = sum(loss.d_reg(real, rc, cfg.r1_every) for loss in losses)
            opt_D.zero_grad(set_to_none=True)
            reg.backward()
            opt_D.step()
        e.D.requires_grad_(False)
        loss_g = sum(loss.g_main(fake, rc) for loss in losses)
        opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_G.step()
        e.bad |= ~torch.isfinite(loss_d.detach() + loss_g.detach())


class _Stills(nn.Module):
    """The warp generator's frame generator alone, one frame per noise row: z (N, 2 + k, z_dim)
    -> (N, k, C, H, W), rows 2.. as independent content codes (the frame-only baseline's layout)."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.G.draw(z[:, 2:], c)

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
`--info-classes K` (InfoGAN, Chen et al. 2016): D's loss (on detached fakes: the Q head and the
frame D's trunk) and G's loss both add info_weight x the cross-entropy of the category of each
frame's content code, read back by the Q head from d_frames frames per clip as D sees them
(augmented), so each content frame must show one category that survives a move.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
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
        # only its run_D is used: Q sees frames augmented as the frame head does
        self.info = make(eng.D.info_logits, "") if cfg.options.info_classes else None
        self.info_weight = cfg.options.info_weight

    def info_loss(self, fake: torch.Tensor, z: torch.Tensor, per_frame: bool) -> torch.Tensor:
        """Cross-entropy of the category of each frame's content code, from the Q head on k frames per clip.
        fake (B, t, C, H, W); per_frame: frame j came from code row 2 + j (frames-only / frame phase)."""
        G, k = self.eng.G, self.eng.D.d_frames
        if per_frame:
            codes, frames = z[:, 2:2 + fake.shape[1]], fake                  # (B, t, z_dim), t = k here
        else:                                                                # one content code per clip
            pick = torch.rand(fake.shape[0], fake.shape[1], device=fake.device).argsort(1)[:, :k]
            frames = fake[torch.arange(fake.shape[0], device=fake.device)[:, None], pick]
            codes = z[:, :1].expand(-1, k, -1)
        target = codes[..., :G.info_classes].argmax(-1)                      # (B, k)
        logits = self.info.run_D(frames, None)                               # (B, k, K)
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten())
        self.info.report("loss/info", loss)
        self.info.report("info/acc", (logits.argmax(-1) == target).float().mean())
        return loss * self.info_weight

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
        per_frame = stills or cfg.options.model == "frames"      # else one content code per clip
        if self.info is not None:
            self.info.aug_p = e.loss.aug_p
            loss_d = loss_d + self.info_loss(fake.detach(), z, per_frame)
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
        if self.info is not None:
            loss_g = loss_g + self.info_loss(fake, z, per_frame)
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

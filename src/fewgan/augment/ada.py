"""ADA controller (Karras et al. 2020): move the augmentation probability p so that the
overfitting heuristic r_t = E[sign D(real)] stays at the target (0.6).

State lives in tensors on the training device, so the step loop never waits for the host.
"""
from __future__ import annotations

import torch


class AdaController:
    def __init__(self, target: float, interval: int, kimg: float, batch: int, device: torch.device,
                 p: float = 0.0):
        self.target, self.interval = target, interval
        # p moves by at most this much per adjustment: reaching 1 takes `kimg` thousand images.
        self.speed = batch * interval / (kimg * 1000)
        self.p = torch.tensor(float(p), device=device)
        self.sign_sum = torch.zeros((), device=device)
        self.count = torch.zeros((), device=device)

    def accumulate(self, real_logits: torch.Tensor) -> None:
        self.sign_sum += torch.sign(real_logits.detach().float()).sum()
        self.count += real_logits.shape[0]

    def update(self) -> torch.Tensor:
        """Adjust p; returns r_t (0-d tensor) for the stats."""
        rt = self.sign_sum / self.count.clamp(min=1)
        self.p = (self.p + torch.sign(rt - self.target) * self.speed).clamp(0.0, 1.0)
        self.sign_sum.zero_()
        self.count.zero_()
        return rt

    def state_dict(self) -> dict:
        return {"p": float(self.p), "sign_sum": float(self.sign_sum), "count": float(self.count)}

    def load_state_dict(self, s: dict) -> None:
        self.p.fill_(s["p"])
        self.sign_sum.fill_(s["sign_sum"])
        self.count.fill_(s["count"])

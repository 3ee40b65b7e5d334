"""Experiment (not shipped): a data-space recurrent GAN, increments parametrisation, D that sees x and
dx. Standalone loop on purpose: it is a measured pointer for the series model, see docs/benchmarks.md.

  python benchmarks/series_rgan_experiment.py --data stocks --steps 3000 --lr 5e-4 --mm 10
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fewgan.data.series import load_series, windows
from fewgan.metrics.series import discriminative_once, predictive_once

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="sines"); ap.add_argument("--steps", type=int, default=3000)
ap.add_argument("--H", type=int, default=64); ap.add_argument("--mode", default="inc")
ap.add_argument("--lr", type=float, default=1e-3); ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--dsteps", type=int, default=1); ap.add_argument("--mm", type=float, default=0.0)
a = ap.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(0)
src = load_series(a.data if a.data == "sines" else str(Path(__file__).resolve().parents[2] / "shared/data/stock/stock_data.csv"), 24, 0,
                  reverse=(a.data != "sines"))
if src.windows is not None: w = src.windows
else:
    v = src.values; v = (v - v.min(0)) / (v.max(0) - v.min(0)); w = windows(v, 24)
X = torch.tensor(w, dtype=torch.float32); N, T, Fd = X.shape
print(X.shape)
ZG, ZS, H = 16, 8, a.H

class G(nn.Module):
    def __init__(s):
        super().__init__()
        s.init = nn.Sequential(nn.Linear(ZG, H), nn.LeakyReLU(0.2), nn.Linear(H, 2 * H + Fd))
        s.rnn = nn.GRU(ZS + Fd, H, 2, batch_first=True)
        s.head = nn.Linear(H, Fd)
    def forward(s, zg, zs):
        o = s.init(zg); h0 = torch.tanh(o[:, :2 * H]).view(-1, 2, H).transpose(0, 1).contiguous()
        l0 = o[:, 2 * H:]
        if a.mode == "inc":
            y, _ = s.rnn(torch.cat([zs, l0[:, None].expand(-1, T, -1)], -1), h0)
            d = s.head(y) * 0.1
            lev = l0[:, None] + torch.cumsum(torch.cat([torch.zeros_like(d[:, :1]), d[:, 1:]], 1), 1)
            return torch.sigmoid(lev)
        y, _ = s.rnn(torch.cat([zs, l0[:, None].expand(-1, T, -1)], -1), h0)
        return torch.sigmoid(s.head(y))

class D(nn.Module):
    def __init__(s):
        super().__init__()
        s.rnn = nn.GRU(2 * Fd, H, 1, batch_first=True, bidirectional=True)
        s.out = nn.Sequential(nn.Linear(4 * H, H), nn.LeakyReLU(0.2), nn.Linear(H, 1))
    def forward(s, x):
        dx = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], 1) * 10
        y, _ = s.rnn(torch.cat([x, dx], -1))
        return s.out(torch.cat([y.mean(1), y.max(1).values], -1)).squeeze(-1)

g, d = G(), D()
gema = G(); gema.load_state_dict(g.state_dict())
og = torch.optim.Adam(g.parameters(), a.lr, betas=(0.5, 0.9)); od = torch.optim.Adam(d.parameters(), a.lr, betas=(0.5, 0.9))
B = 128; t0 = time.process_time()
for step in range(1, a.steps + 1):
    for _ in range(a.dsteps):
        real = X[torch.randint(N, (B,))]
        fake = g(torch.randn(B, ZG), torch.randn(B, T, ZS))
        lr_, lf = d(real), d(fake.detach())
        ld = F.softplus(-lr_).mean() + F.softplus(lf).mean()
        od.zero_grad(); ld.backward(); od.step()
    lg = F.softplus(-d(fake)).mean()
    if a.mm:
        lg = lg + a.mm * ((fake.mean(0) - real.mean(0)).abs().mean() + (fake.std(0) - real.std(0)).abs().mean())
    og.zero_grad(); lg.backward(); og.step()
    with torch.no_grad():
        beta = min(0.999, 1 - 1 / (step * 0.05 + 1))
        for pe, p in zip(gema.parameters(), g.parameters()): pe.lerp_(p, 1 - beta)
    if step % 500 == 0 or step == a.steps:
        with torch.no_grad():
            fk = gema(torch.randn(N, ZG), torch.randn(N, T, ZS))
        ds = discriminative_once(X, fk, 1000, 0)
        print(f"step {step} cpu {time.process_time()-t0:.0f}s ld {ld.item():.3f} lg {lg.item():.3f} disc {ds:.3f}", flush=True)
with torch.no_grad():
    fk = gema(torch.randn(N, ZG), torch.randn(N, T, ZS))
print("final disc(2000it x2)", np.mean([discriminative_once(X, fk, 2000, s) for s in range(2)]),
      "pred", predictive_once(fk, X, 2000, 0), "real pred", predictive_once(X, X, 2000, 0) if a.data!="sines" else "")

"""Run by tests/test_distributed.py under torchrun (2 ranks): the averaged gradient of half
batches, R1 penalty included, equals the single-process gradient of the whole batch."""
import torch

from fewgan.losses import GANLoss
from fewgan.nets.image import ImageDiscriminator
from fewgan.train.distributed import Distributed

dist = Distributed.from_env("cpu")
torch.manual_seed(0)                              # the same D and the same data on every rank
D = ImageDiscriminator(8, 1, 4, 0, spectral_norm=False)
real, fake = torch.randn(8, 1, 8, 8), torch.randn(8, 1, 8, 8)
start = [p.detach().clone() for p in D.parameters()]


def step(D, real, fake, opt):
    loss = GANLoss(D, D, "ns", r1_gamma=1.0)
    for phase in (lambda: loss.d_main(real, None, fake, None)[0], lambda: loss.d_reg(real, None, 4)):
        opt.zero_grad(set_to_none=True)       # two phases, as GANPhases runs them: main loss, then R1
        phase().backward()
        opt.step()


# every rank: its half of the batch, gradients averaged by the pre-step hook
opt = {"opt_D": torch.optim.SGD(D.parameters(), lr=0.1)}
dist.hook_optimizers(opt)
half = slice(4 * dist.rank, 4 * dist.rank + 4)
step(D, real[half], fake[half], opt["opt_D"])
# the same two phases in one process on the whole batch
ref = ImageDiscriminator(8, 1, 4, 0, spectral_norm=False)
with torch.no_grad():
    for p, s in zip(ref.parameters(), start):
        p.copy_(s)
step(ref, real, fake, torch.optim.SGD(ref.parameters(), lr=0.1))
err = max(float((a - b).detach().abs().max()) for a, b in zip(D.parameters(), ref.parameters()))
moved = max(float((a - b).detach().abs().max()) for a, b in zip(D.parameters(), start))
print(f"rank {dist.rank}: max |2-rank - 1-process| = {err:.3g} (update size {moved:.3g})", flush=True)
assert err < 1e-6 and moved > 1e-3, (err, moved)
dist.close()

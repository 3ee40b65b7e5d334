"""Data-parallel training over torch.distributed: `torchrun --nproc-per-node K -m fewgan train ...`.

No DDP: DDP's bucketed hooks fire inside `autograd.grad` (R1, gradient penalty) and do not see
double-backward terms correctly. Instead every optimizer gets a step pre-hook that averages its
gradients over the ranks in one flat all-reduce, so each phase (D main, lazy R1, G main, TimeGAN's
phases) is averaged exactly when it is applied, whatever autograd did before. With equal local
batches, the mean of per-rank mean losses is the global mean loss, so the averaged gradient is the
single-process gradient of the global batch (test_distributed.py checks it, R1 included).

What stays identical on every rank: parameters (same init, same averaged gradients, same Adam
maths), G_ema (from identical G), ADA's p (its statistic E[sign D(real)] is summed over ranks before
each update) and every decision taken in the loop (stop, rollback, --until), which rank 0 makes or
the ranks agree on. BatchNorm: G's BatchNorm normalises with the statistics of the rank's own
local batch ("ghost batch norm" of B/K samples); its running mean and variance are averaged over the
ranks after every step, so G_ema (which copies them) stays identical. The averaged running variance
is the mean of the per-rank variances: it leaves out the spread between the ranks' batch means.

Ranks differ in their random draws (per-rank seeds from --seed) and only rank 0 writes the run
directory, logs and progress, and evaluates. A checkpoint holds every rank's RNG state, so a resume
with the same world size continues bitwise; another world size resumes with a warning.
"""
from __future__ import annotations

import datetime
import hashlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError

TIMEOUT_S = 900.0     # a hung (not dead) rank: collectives give up after this; FEWGAN_DIST_TIMEOUT overrides


class RankLost(RuntimeError):
    """Another rank died or stopped answering: this rank stops too (one line, exit 1)."""


def rank_seed(seed: int, rank: int, *more: int) -> int:
    return int(np.random.SeedSequence([seed, rank, *more]).generate_state(1, np.uint64)[0] >> 1)


class Distributed:
    """The process group of one training run; world 1 (the default) makes every method a no-op."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0, comm: str = "cpu"):
        self.rank, self.world, self.local_rank = rank, world, local_rank
        self.comm = torch.device(comm)          # where collective tensors live (cuda for NCCL)

    @classmethod
    def from_env(cls, device: str) -> "Distributed":
        """Join the group torchrun describes in the environment (WORLD_SIZE, RANK, MASTER_ADDR...)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        import torch.distributed as dist
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        cuda = device.split(":")[0] == "cuda"
        if cuda:
            if not torch.cuda.is_available():
                raise UsageError(f"--device {device}: CUDA is not available on this machine: use --device cpu")
            torch.cuda.set_device(local)
        timeout = float(os.environ.get("FEWGAN_DIST_TIMEOUT", TIMEOUT_S))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=timeout))
        return cls(rank, world, local, f"cuda:{local}" if cuda else "cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, name: str) -> str:
        """One process per device: a bare `cuda` means this rank's GPU."""
        return f"cuda:{self.local_rank}" if self.world > 1 and name == "cuda" else name

    def local_batch(self, cfg) -> int:
        if cfg.batch % self.world:
            raise UsageError(f"--batch {cfg.batch} does not split over {self.world} processes: use a multiple "
                             f"of {self.world}, e.g. --batch {max(self.world, cfg.batch // self.world * self.world)}")
        local = cfg.batch // self.world
        pac = getattr(cfg.options, "pac", None)     # a PacGAN critic scores packs of rows per rank
        if pac and local % pac:
            raise UsageError(f"--batch {cfg.batch} over {self.world} processes gives {local} rows per process, "
                             f"not a multiple of --pac {pac}: use --batch {self.world * pac * max(1, local // pac)}")
        return local

    # -- collectives ----------------------------------------------------------------------------
    def from_main(self, obj):
        """Rank 0's value of a small Python object, on every rank."""
        if self.world == 1:
            return obj
        import torch.distributed as dist
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self.comm)
        return box[0]

    def agree(self, last: bool, bad: torch.Tensor) -> tuple[bool, torch.Tensor]:
        """Stop if any rank stops; a non-finite loss on any rank is one on all (same rollback)."""
        if self.world == 1:
            return last, bad
        import torch.distributed as dist
        t = torch.stack([torch.tensor(float(last), device=self.comm), bad.detach().float().to(self.comm)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t[0] > 0), (t[1] > 0).to(bad.device)

    def sum_(self, *tensors: torch.Tensor) -> None:
        if self.world == 1:
            return
        import torch.distributed as dist
        flat = torch.stack([t.detach().float().reshape(()).to(self.comm) for t in tensors])
        dist.all_reduce(flat)
        for t, v in zip(tensors, flat):
            t.copy_(v.to(t.device, t.dtype))

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        if self.world == 1:
            return t
        import torch.distributed as dist
        v = t.detach().float().reshape(()).to(self.comm).clone()
        dist.all_reduce(v)
        return (v / self.world).to(t.device)

    def _average_flat(self, tensors: list[torch.Tensor]) -> None:
        """In place: each tensor becomes its mean over the ranks (one all-reduce for all of them)."""
        if not tensors:
            return
        import torch.distributed as dist
        flat = torch.cat([t.detach().reshape(-1).float() for t in tensors]).to(self.comm)
        dist.all_reduce(flat)
        flat /= self.world
        for t, v in zip(tensors, flat.split([t.numel() for t in tensors])):
            t.copy_(v.view_as(t).to(t.device, t.dtype))

    def hook_optimizers(self, opts: dict) -> None:
        """Average gradients over the ranks right before every optimizer step (every phase)."""
        if self.world == 1:
            return
        for opt in opts.values():
            opt.register_step_pre_hook(lambda o, args, kwargs: self._average_flat(
                [p.grad for g in o.param_groups for p in g["params"] if p.grad is not None]))

    def sync_buffers(self, *modules: torch.nn.Module) -> None:
        """Average floating buffers (BatchNorm running statistics) over the ranks."""
        if self.world > 1:
            self._average_flat([b for m in modules for b in m.buffers() if b.is_floating_point()])

    def reduce_stats(self, stats) -> None:
        """Average the reported training statistics over the ranks before rank 0 writes them."""
        if self.world == 1 or not stats._sums:
            return
        names = sorted(stats._sums)
        vals = [stats._sums[n].reshape(()) for n in names]
        self._average_flat(vals)
        for n, v in zip(names, vals):
            stats._sums[n] = v

    # -- engine hooks -----------------------------------------------------------------------------
    def seed(self, seed: int) -> None:
        """After the nets are built (same init everywhere): each rank its own random stream."""
        if self.world > 1:
            _seed_all(rank_seed(seed, self.rank))

    def checkpoint_extra(self, eng) -> dict:
        """Collective, on every rank before rank 0 writes checkpoint.pt: every rank's RNG state, and
        ADA's partial statistic summed into rank 0 (the same sum the next update would take)."""
        if self.world == 1:
            return {"world_size": 1}
        import torch.distributed as dist
        from .checkpoint import rng_state
        states = [None] * self.world
        dist.all_gather_object(states, rng_state())
        if eng.ada:
            self.sum_(eng.ada.sign_sum, eng.ada.count)
            if not self.main:
                eng.ada.sign_sum.zero_()
                eng.ada.count.zero_()
        return {"world_size": self.world, "rng_ranks": states}

    def after_load(self, eng, ck: dict) -> None:
        """Each rank takes its own RNG state back; another world size gets fresh per-rank streams."""
        from .checkpoint import set_rng_state
        saved = ck.get("world_size", 1)
        if saved != self.world:
            if self.main:
                eng._log(f"warning: this checkpoint was written by {saved} process(es) and resumes with "
                         f"{self.world}: training continues, but not as it would have with {saved} (the "
                         "per-process random streams differ)")
            if self.world > 1:
                _seed_all(rank_seed(eng.cfg.seed, self.rank, eng.step))
        elif self.world > 1:
            set_rng_state(ck["rng_ranks"][self.rank])
        if self.world > 1 and eng.ada and not self.main:   # rank 0 holds the saved partial sum
            eng.ada.sign_sum.zero_()
            eng.ada.count.zero_()

    def load_main(self, path: Path | None) -> dict | None:
        """Rank 0's checkpoint at `path` (None if it has none), on every rank (rollbacks)."""
        from .checkpoint import load_checkpoint
        ck = load_checkpoint(path) if self.main and path is not None and Path(path).is_file() else None
        return self.from_main(ck)

    def check_identical(self, eng) -> None:
        """End of training: G, D and G_ema are bitwise the same on every rank, or this fails."""
        if self.world == 1:
            return
        import torch.distributed as dist
        mine = {name: _digest(getattr(eng, name)) for name in ("G", "D", "G_ema")}
        every = [None] * self.world
        dist.all_gather_object(every, mine)
        bad = [name for name in mine if len({d[name] for d in every}) > 1]
        if bad:
            raise RuntimeError(f"{', '.join(bad)} differ between ranks after step {eng.step}: the ranks "
                               "went out of step (a bug; please report it)")
        if self.main:
            eng._log(f"G, D and G_ema identical on all {self.world} ranks (G_ema sha256 {mine['G_ema'][:12]})")

    # -- lifetime -------------------------------------------------------------------------------
    @contextmanager
    def guard(self):
        """Turn a collective that failed because a peer died or hung into one clear RankLost."""
        try:
            yield
        except (UsageError, KeyboardInterrupt):
            raise
        except Exception as e:
            if self.world > 1 and _is_comm_error(e):
                first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
                raise RankLost(f"rank {self.rank}: lost contact with the other {self.world - 1} process(es) "
                               f"(one died, or none answered within the timeout): {first[:200]}") from None
            raise

    def close(self) -> None:
        """Clean exit: wait for every rank, then drop the group (gloo aborts at exit otherwise)."""
        if self.world == 1:
            return
        import torch.distributed as dist
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


    def drop(self) -> None:
        if self.world > 1:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.destroy_process_group()


def _seed_all(seed: int) -> None:
    """torch, numpy and Python's generators (a checkpoint holds all three; seeded, they resume alike)."""
    import random
    torch.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)
    random.seed(seed)


def _is_comm_error(e: Exception) -> bool:
    import torch.distributed as dist
    if isinstance(e, getattr(dist, "DistError", ())):
        return True
    text = str(e).lower()
    return isinstance(e, RuntimeError) and any(w in text for w in (
        "gloo", "nccl", "connection", "timed out", "timeout", "peer", "broken pipe", "socket"))


def _digest(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, t in module.state_dict().items():
        h.update(k.encode())
        h.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes() if t.dim() else
                 t.detach().cpu().reshape(1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def exit_lost(e: RankLost) -> None:
    """Print the one line and leave at once: the group is broken, so no barrier, no teardown."""
    sys.stderr.write(f"fewgan: error: {e}\n")
    sys.stderr.flush()
    os._exit(1)

"""Sampling at scale: millions of samples streamed to a file in chunks, memory bounded by the chunk.

Reproducibility does not depend on the chunk size: noise is drawn per fixed block of BLOCK samples,
block b from its own generator seeded by (seed, b), and G always runs on whole blocks (a matmul's
rounding may depend on the batch size, so a block is never split across G calls). A chunk is a run
of whole blocks, so any chunk size gives the same samples, bitwise. The file is written under a
temporary name in the same folder and renamed at the end: an interrupted run leaves no half file.

Shards (`fewgan sample` under torchrun): rank r of K writes blocks r, r+K, r+2K... of the same
sequence to `<stem>-0000r-of-0000K<suffix>`, so the shards together hold exactly the samples a
single process would write, deterministic by seed and rank.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from .sampling import conditions, noise_shape

BLOCK = 4096
DEFAULT_CHUNK = 65536


def block_generator(seed: int, block: int) -> torch.Generator:
    # SeedSequence mixes (seed, block) into well-separated streams (seed + block would overlap runs).
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, block]).generate_state(1, np.uint64)[0]))


@torch.no_grad()
def raw_chunks(gen, n: int, seed: int = 0, chunk: int = DEFAULT_CHUNK, labels=None, length: int | None = None,
               blocks: range | None = None) -> Iterator[torch.Tensor]:
    """G_ema's raw output for samples 0..n-1, as CPU float tensors of about `chunk` samples.
    `blocks`: the block indices to produce (a shard); default all of them."""
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    per = max(1, chunk // BLOCK)                       # whole blocks per chunk
    shape = noise_shape(gen.codec, gen.config.z_dim, length)
    todo = list(blocks if blocks is not None else range(math.ceil(n / BLOCK)))
    G = gen.G.eval()
    for i in range(0, len(todo), per):
        out = []
        for b in todo[i:i + per]:
            g = block_generator(seed, b)
            z = torch.randn(BLOCK, *shape, generator=g)
            c = conditions(gen.codec, BLOCK, labels, g)
            x = G(z.to(gen.device), None if c is None else c.to(gen.device)).float().cpu()
            out.append(x[:min(BLOCK, n - b * BLOCK)])   # the last block of n is cut, never split
        yield torch.cat(out)


class Bar:
    """`sampled 1,234,567/10,000,000 rows 12% 150k rows/s ETA 1m02s` on stderr, at most once a second."""

    def __init__(self, total: int, unit: str, enabled: bool):
        self.total, self.unit, self.enabled = total, unit, enabled
        self.t0 = self.last = time.perf_counter()
        self.done = 0

    def update(self, k: int) -> None:
        self.done += k
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 1.0 and self.done < self.total):
            return
        self.last = now
        rate = self.done / max(now - self.t0, 1e-9)
        eta = (self.total - self.done) / max(rate, 1e-9)
        line = (f"sampled {self.done:,}/{self.total:,} {self.unit} {100 * self.done / self.total:3.0f}% "
                f"{rate:,.0f} {self.unit}/s ETA {int(eta) // 60}m{int(eta) % 60:02d}s")
        end = "\n" if self.done >= self.total or not sys.stderr.isatty() else ""
        sys.stderr.write(("\r" if sys.stderr.isatty() else "") + line + end)
        sys.stderr.flush()


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yields a temporary path beside `path`; renamed over it when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def shard_plan(n: int, path: Path, rank: int, world: int) -> tuple[Path, range, int]:
    """(this rank's file, its block indices, its sample count) for n samples over `world` ranks."""
    blocks = range(rank, math.ceil(n / BLOCK), world)
    count = sum(min(BLOCK, n - b * BLOCK) for b in blocks)
    if world == 1:
        return Path(path), blocks, count
    p = Path(path)
    return p.with_name(f"{p.stem}-{rank:05d}-of-{world:05d}{p.suffix}"), blocks, count


def write_frames(frames: Iterator, path: Path, fmt: str) -> None:
    """Append DataFrames to one .csv/.tsv or .parquet file (one row group per chunk)."""
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        writer, schema = None, None
        try:
            for df in frames:
                t = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
                if writer is None:
                    schema = t.schema
                    writer = pq.ParquetWriter(str(path), schema)
                writer.write_table(t)
        finally:
            if writer is not None:
                writer.close()
        return
    sep = "\t" if fmt == "tsv" else ","
    with open(path, "w", newline="") as f:
        for i, df in enumerate(frames):
            df.to_csv(f, index=False, header=i == 0, sep=sep)


def write_array(chunks: Iterator[np.ndarray], path: Path, shape: tuple[int, ...], dtype=np.float64) -> None:
    """Fill a memory-mapped .npy of `shape` chunk by chunk (pages go to disk, not to RAM)."""
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    pos = 0
    for x in chunks:
        arr[pos:pos + len(x)] = x
        pos += len(x)
    arr.flush()
    del arr


def dist_env() -> tuple[int, int]:
    """(rank, world size) when started by torchrun, else (0, 1)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def stream(gen, n: int, path: Path, seed: int, chunk: int, progress: bool, unit: str,
           write: Callable[[Iterator[torch.Tensor], Path, int], None], labels=None, length=None) -> Path:
    """The shared driver: this rank's shard of n samples, chunked, through `write(chunks, tmp, count)`."""
    rank, world = dist_env()
    out, blocks, count = shard_plan(n, path, rank, world)
    bar = Bar(count, unit, progress and rank == 0)

    def chunks():
        for x in raw_chunks(gen, n, seed, chunk, labels, length, blocks):
            yield x
            bar.update(len(x))
    with atomic_path(out) as tmp:
        write(chunks(), tmp, count)
    return out

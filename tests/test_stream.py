"""`fewgan sample` at scale: chunked streaming gives the same file whatever the chunk size, shards
under torchrun add up to the single-process file, and nothing is left under a temporary name."""
import hashlib

import numpy as np
import pandas as pd
import pytest

from fewgan.modalities import plugins
from fewgan.train.stream import BLOCK

N = 2 * BLOCK + 808          # three blocks, the last one cut


def _digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from fewgan.cli import main
    root = tmp_path_factory.mktemp("stream")
    for name in ("table", "series"):
        assert main(["train", name, "--out", str(root / name), "--steps", "2", *plugins()[name].smoke,
                     "--threads", "1", "--quiet"]) == 0
    return root


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_same_file_for_any_chunk(runs, cli, tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    files = []
    for chunk in (BLOCK, 3 * BLOCK):
        out = tmp_path / f"rows-{chunk}{suffix}"
        code, _, err = cli("sample", runs / "table", "-n", N, "--out", out, "--seed", 7, "--chunk", chunk, "--quiet")
        assert code == 0, err
        files.append(out)
    df = pd.read_csv(files[0]) if suffix == ".csv" else pd.read_parquet(files[0])
    assert len(df) == N
    if suffix == ".csv":
        assert _digest(files[0]) == _digest(files[1])
    else:   # parquet files differ in row-group layout by design; their contents must not
        assert df.equals(pd.read_parquet(files[1]))
    other = tmp_path / f"other{suffix}"
    assert cli("sample", runs / "table", "-n", N, "--out", other, "--seed", 8, "--quiet")[0] == 0
    assert not df.equals(pd.read_csv(other) if suffix == ".csv" else pd.read_parquet(other))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []   # no temp files left


def test_series_npy_memmap_same_for_any_chunk(runs, cli, tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert cli("sample", runs / "series", "-n", N, "--out", a, "--chunk", 100, "--quiet")[0] == 0
    assert cli("sample", runs / "series", "-n", N, "--out", b, "--chunk", 50000, "--quiet")[0] == 0
    x = np.load(a)
    assert x.shape == (N, 8, 5) and np.isfinite(x).all() and np.array_equal(x, np.load(b))
    c = tmp_path / "c.csv"
    assert cli("sample", runs / "series", "-n", 9, "--out", c, "--chunk", 4, "--quiet")[0] == 0
    df = pd.read_csv(c)
    assert len(df) == 9 * 8 and list(df["window"].unique()) == list(range(9))
    assert np.allclose(df.iloc[:, 2:].to_numpy().reshape(9, 8, 5), x[:9])   # the csv holds the npy's first 9


def test_shards_add_up_to_the_single_file(runs, cli, tmp_path, monkeypatch):
    whole = tmp_path / "whole.csv"
    assert cli("sample", runs / "table", "-n", N, "--out", whole, "--quiet")[0] == 0
    parts = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        assert cli("sample", runs / "table", "-n", N, "--out", tmp_path / "rows.csv", "--quiet")[0] == 0
        parts.append(pd.read_csv(tmp_path / f"rows-{rank:05d}-of-00002.csv"))
    assert not (tmp_path / "rows.csv").exists()
    # rank r holds blocks r, r+2, ...: interleave the blocks back
    blocks = [parts[b % 2].iloc[(b // 2) * BLOCK:(b // 2 + 1) * BLOCK] for b in range(3)]
    assert pd.concat(blocks, ignore_index=True).equals(pd.read_csv(whole))

"""Bad-input corpus across image, table and series: each case exits 2 with exactly one line on
stderr naming the problem (the expected words) and a fix, no traceback, and writes nothing: every
file under the test's folder and every run directory hashes the same before and after."""
import gzip
import json

import numpy as np
import pytest
from PIL import Image

from conftest import TINY_S, tree_digest

from fewgan.cli import main

ROWS = "".join(f"{i},{'xy'[i % 2]},{i * 1.5}\n" for i in range(30))


def _csv(d, name, text):
    (d / name).write_text(text)
    return d / name


def _npy(d, name, arr, **kw):
    np.save(d / name, arr, **kw)
    return d / name


def _pngs(d, name, images=(), extra=None):
    f = d / name
    f.mkdir()
    for i, im in enumerate(images):
        im.save(f / f"{i}.png")
    if extra:
        (f / extra[0]).write_bytes(extra[1])
    return f


def _gray(i=0):
    return Image.fromarray(np.full((16, 16), 40 * i, np.uint8))


def corpus(d, runs):
    img, tab, ser = runs["image"], runs["table"], runs["series"]
    ok = _csv(d, "ok.csv", "a,b,c\n" + ROWS)
    png = (d / "one.png")
    _gray().save(png)
    good = png.read_bytes()
    T = ["train", "table", "--steps", "2", "--out", d / "o"]
    I = ["train", "image", "--steps", "2", "--out", d / "o"]
    S = ["train", "series", "--steps", "2", "--out", d / "o", *TINY_S]
    return {
        # -- tables: malformed files -------------------------------------------------------------
        "csv empty file": ([*T, "--data", _csv(d, "e.csv", "")], "empty"),
        "csv header only": ([*T, "--data", _csv(d, "h.csv", "a,b,c\n")], "rows"),
        "csv ragged rows": ([*T, "--data", _csv(d, "r.csv", "a,b\n1,2\n3,4,5,6\n" + "1,2\n" * 20)], "fields"),
        "csv wrong delimiter": ([*T, "--data", _csv(d, "semi.csv", "a;b;c\n" + ROWS.replace(",", ";"))], "separated"),
        "csv unclosed quote": ([*T, "--data", _csv(d, "q.csv", 'a,b\n1,"x\n2,y\n')], "parse"),
        "csv one long line": ([*T, "--data", _csv(d, "long.csv", "a,b\n" + "9" * 300000 + ",x\n")], "column 'a'"),
        "csv not utf-8": ([*T, "--data", _csvb(d, "l1.csv", b"a,b\n" + b"\xff\xfe,x\n" * 30)], "parse"),
        "csv mixed-type column": ([*T, "--data", _csv(d, "mix.csv", "a,b\n" + "".join(
            f"{'oops' if i == 7 else i},{'xy'[i % 2]}\n" for i in range(40)))], "--discrete a"),
        "csv all-NaN column": ([*T, "--data", _csv(d, "nan.csv", "a,b\n" + "".join(f"{i},\n" for i in range(30)))],
                               "drop it"),
        "csv infinities": ([*T, "--data", _csv(d, "inf.csv", "a,b\n" + "".join(
            f"{'inf' if i == 3 else i},{'xy'[i % 2]}\n" for i in range(30)))], "infinite"),
        "csv duplicate column names": ([*T, "--data", _csv(d, "dup.csv", "a,a,c\n" + ROWS)], "duplicate"),
        "csv huge integers": ([*T, "--data", _csv(d, "big.csv", "a,b\n" + "".join(
            f"{10 ** 30 + i},{'xy'[i % 2]}\n" for i in range(30)))], "64 bits"),
        "csv single value column": ([*T, "--data", _csv(d, "const.csv", "a,b\n" + "".join(
            f"{i},same\n" for i in range(30)))], "drop it"),
        "unknown table format": ([*T, "--data", _csv(d, "t.xlsx", "a")], "format"),
        "table data is a folder": ([*T, "--data", d], "folder"),
        # -- tables: flags and schemas ------------------------------------------------------------
        "discrete unknown column": ([*T, "--data", ok, "--discrete", "zz"], "unknown column 'zz'"),
        "column named like a flag": ([*T, "--data", _csv(d, "flag.csv", "--steps,b\n" + ROWS.replace(
            ",", ";", 1)[:0] + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(30))), "--discrete=--nope"],
            "unknown column '--nope'"),
        "unicode column in --where": (["sample", tab, "-n", "5", "--out", d / "s.csv", "--where", "größe=1"],
                                      "größe"),
        "schema not json": ([*T, "--data", ok, "--schema", _csv(d, "s.json", "{nope")], "JSON"),
        "schema unknown type": ([*T, "--data", ok, "--schema", _schema(d, {"a": "weird"})], "weird"),
        "schema not an object": ([*T, "--data", ok, "--schema", _csv(d, "s2.json", "[1, 2]")], "expected"),
        "pac not dividing batch": ([*T, "--data", ok, "--batch", "12", "--pac", "5"], "--pac"),
        "where wrong value type": (["sample", tab, "-n", "5", "--out", d / "s.csv", "--where", "age=abc"], "age"),
        "where unknown column": (["sample", tab, "-n", "5", "--out", d / "s.csv", "--where", "nope=1"], "nope"),
        "where malformed": (["sample", tab, "-n", "5", "--out", d / "s.csv", "--where", "sex"], "--where"),
        "table sample to png": (["sample", tab, "-n", "5", "--out", d / "s.png"], ".png"),
        # -- images ------------------------------------------------------------------------------------
        "zero-byte png": ([*I, "--data", _pngs(d, "z", [_gray(), _gray(1)], ("bad.png", b""))], "bad.png"),
        "truncated png": ([*I, "--data", _pngs(d, "tr", [_gray(), _gray(1)], ("cut.png", good[: len(good) // 2]))],
                          "cut.png"),
        "not an image file": ([*I, "--data", _pngs(d, "txt", [_gray()], ("notes.png", b"hello"))], "notes.png"),
        "mixed image sizes": ([*I, "--data", _pngs(d, "ms", [_gray(), Image.new("L", (20, 20))])], "size"),
        "npz without image key": ([*I, "--data", _npz(d, "k.npz", z=np.zeros((4, 8, 8)))], "'x'"),
        "npy of rank 1": ([*I, "--data", _npy(d, "r1.npy", np.zeros(64, np.float32))], "shape"),
        "npy of rank 5": ([*I, "--data", _npy(d, "r5.npy", np.zeros((2, 2, 8, 8, 1), np.float32))], "shape"),
        "npy object dtype": ([*I, "--data", _npy(d, "obj.npy", np.array([{"a": 1}] * 4, dtype=object),
                                                  allow_pickle=True)], "npy"),
        "npy complex dtype": ([*I, "--data", _npy(d, "cx.npy", np.zeros((4, 8, 8), np.complex64))], "complex"),
        "npy NaN pixels": ([*I, "--data", _npy(d, "nanp.npy", np.full((4, 8, 8), np.nan, np.float32))], "NaN"),
        "npy Inf pixels": ([*I, "--data", _npy(d, "infp.npy", np.where(np.eye(8)[None] > 0, np.inf,
                                                                      np.zeros((4, 8, 8), np.float32)))], "inf"),
        "idx gz truncated": ([*I, "--data", _gz(d, "t-images-idx3-ubyte.gz", b"\x00\x00\x08\x03\x00\x00")], "idx"),
        "image --where": (["sample", img, "-n", "4", "--out", d / "s.png", "--where", "a=1"], "--where"),
        "image label out of range": (["sample", img, "-n", "4", "--out", d / "s.png", "--label", "99"], "label"),
        # -- series ------------------------------------------------------------------------------------
        "series text column": ([*S, "--data", _csv(d, "st.csv", "a,b\n" + "".join(
            f"{i},{'xy'[i % 2]}\n" for i in range(40)))], "b"),
        "series too short": ([*S, "--data", _csv(d, "sh.csv", "a\n1\n2\n3\n")], "seq-len"),
        "series NaN": ([*S, "--data", _csv(d, "sn.csv", "a,b\n" + "".join(
            f"{'' if i == 5 else i},{i % 7}\n" for i in range(40)))], "NaN"),
        "series Inf": ([*S, "--data", _csv(d, "si.csv", "a,b\n" + "".join(
            f"{'inf' if i == 5 else i},{i % 7}\n" for i in range(40)))], "infinite"),
        "series npy rank 4": ([*S, "--data", _npy(d, "s4.npy", np.zeros((2, 2, 2, 40), np.float32))], ".csv"),
        "series negative length": (["sample", ser, "-n", "2", "--out", d / "s.csv", "--length", "-5"], "--length"),
        # -- every modality: counts and metrics --------------------------------------------------------
        "negative -n": (["sample", img, "-n", "-5", "--out", d / "s.png"], "-n"),
        "zero -n": (["sample", tab, "-n", "0", "--out", d / "s.csv"], "-n"),
        "huge -n": (["sample", ser, "-n", str(10 ** 12), "--out", d / "s.csv"], "-n"),
        "until unknown metric": ([*T, "--data", ok, "--until", "fidelity>=0.9"], "fidelity"),
        "until malformed": ([*I, "--until", "fd=30"], "--until"),
        "until another modality's metric": ([*T, "--data", ok, "--until", "fd<=30"], "table runs do not report 'fd'"),
        "eval-n below minimum": ([*I, "--eval-n", "2"], "--eval-n"),
        "steps not a number": ([*S, "--data", "sines", "--steps", "1e3x"], "--steps"),
    }


def _csvb(d, name, raw):
    (d / name).write_bytes(raw)
    return d / name


def _schema(d, cols):
    p = d / f"schema-{len(list(d.glob('schema-*')))}.json"
    p.write_text(json.dumps({"columns": [{"name": k, "type": v} for k, v in cols.items()]}))
    return p


def _npz(d, name, **arrays):
    np.savez(d / name, **arrays)
    return d / name


def _gz(d, name, raw):
    with gzip.open(d / name, "wb") as f:
        f.write(raw)
    return d / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus-runs")
    rng = np.random.default_rng(0)
    (d / "t.csv").write_text("age,sex\n" + "".join(f"{a},{'MF'[a % 2]}\n" for a in rng.integers(18, 80, 40)))
    (d / "s.csv").write_text("a,b\n" + "".join(f"{np.sin(i / 3):.4f},{np.cos(i / 5):.4f}\n" for i in range(60)))
    args = {"image": ["image", "--data", "digits", "--max-images", "32", "--res", "16", "--width", "4", "--batch", "8",
                      "--z-dim", "8", "--conditional"],
            "table": ["table", "--data", d / "t.csv", "--batch", "10", "--width", "8", "--z-dim", "4"],
            "series": ["series", "--data", d / "s.csv", *TINY_S]}
    for name, a in args.items():
        assert main(["train", *map(str, a), "--out", str(d / name), "--steps", "2", "--quiet"]) == 0
    return {name: d / name for name in args}


def test_corpus_has_40_cases(tmp_path):
    fake = {k: tmp_path for k in ("image", "table", "series")}
    assert len(corpus(tmp_path, fake)) >= 40




def test_every_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, runs, cli):
    cases = corpus(tmp_path, runs)
    failures = []
    for name, (args, words) in cases.items():
        before = {**tree_digest(tmp_path), **{f"run:{k}:{p}": h for k, r in runs.items()
                                              for p, h in tree_digest(r).items()}}
        try:
            code, out, err = cli(*args)
        except BaseException as e:       # noqa: BLE001  (a case that crashes is a failure, listed below)
            code, err = None, f"raised {e.__class__.__name__}: {str(e)[:200]}"
        after = {**tree_digest(tmp_path), **{f"run:{k}:{p}": h for k, r in runs.items()
                                             for p, h in tree_digest(r).items()}}
        lines = err.strip().splitlines()
        problem = []
        if code != 2:
            problem.append(f"exit {code}")
        if len(lines) != 1 or not lines[0].startswith("fewgan: error:") or "Traceback" in err:
            problem.append(f"stderr {err.strip()[-300:]!r}")
        elif words not in lines[0]:
            problem.append(f"{words!r} not in {lines[0]!r}")
        if after != before:
            problem.append(f"files changed: {sorted(set(after) ^ set(before) | {k for k in before if after.get(k) != before[k]})[:4]}")
        if (tmp_path / "o").exists():      # written by a failing case: keep the next cases independent
            __import__("shutil").rmtree(tmp_path / "o")
        if problem:
            failures.append(f"{name}: {'; '.join(problem)}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)

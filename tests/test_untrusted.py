"""Files someone sent you: a checkpoint that would run code, damaged checkpoints and configs, a
newer format, and run directories or schemas that try to make fewgan write elsewhere."""
import io
import json
import os
import shutil
import zipfile

import pytest
import torch

from fewgan.config import TrainConfig
from fewgan.errors import UsageError
from fewgan.train.checkpoint import load_checkpoint

from conftest import tree_digest


def one_line_error(result):
    code, out, err = result
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("fewgan: error:") and "Traceback" not in err, \
        (code, err)
    return lines[0]


@pytest.fixture
def run(tiny_run, tmp_path):
    r = tmp_path / "run"
    shutil.copytree(tiny_run, r)
    return r


class Evil:
    """Unpickling this calls os.system: what a malicious checkpoint does."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(run, tmp_path, cli):
    marker = tmp_path / "pwned"
    ck = load_checkpoint(run / "checkpoint.pt")
    ck["G_ema"] = {"payload": Evil(marker)}
    torch.save(ck, run / "checkpoint.pt")
    # the file is really malicious: an unsafe load runs it (what fewgan must never do)
    torch.load(run / "checkpoint.pt", weights_only=False)
    assert marker.exists()
    marker.unlink()
    before = tree_digest(run)
    for args in (["info", run], ["sample", run, "-n", 2, "--out", tmp_path / "s.png"], ["evaluate", run],
                 ["train", "--resume", run, "--steps", 30, "--quiet"], ["report", run]):
        line = one_line_error(cli(*args))
        assert "refused" in line and "nothing was run" in line and "posix.system" in line, line
    assert not marker.exists() and tree_digest(run) == before and not (tmp_path / "s.png").exists()


def _damage(run, how):
    p = run / "checkpoint.pt"
    raw = p.read_bytes()
    if how == "empty":
        p.write_bytes(b"")
    elif how == "truncated":
        p.write_bytes(raw[: len(raw) // 2])
    elif how == "random bytes":
        p.write_bytes(os.urandom(4096))
    elif how == "zip of junk":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", b"\x80\x02junk")
        p.write_bytes(buf.getvalue())
    else:
        ck = load_checkpoint(p)
        if how == "newer format":
            ck["format_version"] = 99
        elif how == "no format":
            del ck["format_version"]
        elif how == "not a dict":
            ck = [1, 2, 3]
        elif how == "missing weights":
            del ck["G_ema"]
        elif how == "step is a string":
            ck["step"] = "20"
        elif how == "wrong weight shapes":
            ck["G_ema"] = {k: t[..., :1] if t.dim() else t for k, t in ck["G_ema"].items()}
        elif how == "config unknown key":
            ck["config"]["engine"]["evil"] = 1
        elif how == "config wrong type":
            ck["config"]["engine"]["batch"] = "eight"
        elif how == "options wrong type":
            ck["config"]["options"]["width"] = [4]
        elif how == "config not a dict":
            ck["config"]["engine"] = "x"
        torch.save(ck, p)


DAMAGE = {"empty": "empty", "truncated": "truncated", "random bytes": "corrupt", "zip of junk": "corrupt",
          "newer format": "upgrade fewgan", "no format": "not a fewgan checkpoint", "not a dict": "not a fewgan",
          "missing weights": "'G_ema'", "step is a string": "'step'", "wrong weight shapes": "does not match",
          "config unknown key": "unknown setting 'evil'", "config wrong type": "--batch",
          "options wrong type": "--width", "config not a dict": "JSON object"}


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_checkpoint_is_one_line(run, tmp_path, cli, how):
    _damage(run, how)
    before = tree_digest(run)
    for args in (["sample", run, "-n", 2, "--out", tmp_path / "s.npz"],
                 ["train", "--resume", run, "--steps", 30, "--quiet"]):
        line = one_line_error(cli(*args))
        assert DAMAGE[how] in line, (how, line)
    assert tree_digest(run) == before and not (tmp_path / "s.npz").exists()


@pytest.mark.parametrize("change,words", [({"engine": {"nope": 1}}, "unknown setting 'nope'"),
                                          ({"engine": {"steps": "many"}}, "--steps"),
                                          ({"options": {"res": -3}}, "--res"),
                                          ({"format": 7}, "upgrade fewgan"),
                                          ({"format": "2"}, "format '2'")])
def test_config_json_unknown_keys_wrong_types_newer_format(run, change, words):
    d = json.loads((run / "config.json").read_text())
    for k, v in change.items():
        d[k] = {**d[k], **v} if isinstance(v, dict) else v
    (run / "config.json").write_text(json.dumps(d))
    with pytest.raises(UsageError, match=words):
        TrainConfig.load(run / "config.json")
    (run / "config.json").write_text("{not json")
    with pytest.raises(UsageError, match="cannot read the config"):
        TrainConfig.load(run / "config.json")


@pytest.mark.parametrize("name", ["stats.jsonl", "metrics.jsonl", "samples", "best.pt"])
def test_a_run_directory_cannot_redirect_writes_outside_it(run, tmp_path, cli, name):
    """A symbolic link planted in a run (stats.jsonl -> ~/.bashrc) would make resume/evaluate write
    through it: such runs are refused before anything is written."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    target = victim if name == "samples" else victim / "precious.txt"
    p = run / name
    shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    p.symlink_to(target)
    for args in (["train", "--resume", run, "--steps", 30, "--quiet"], ["evaluate", run], ["report", run]):
        assert "symbolic link" in one_line_error(cli(*args))
    assert tree_digest(victim) == {"precious.txt": __import__("hashlib").sha256(b"keep me").hexdigest()}


def test_the_saved_out_of_a_run_is_never_written_to(run, tmp_path, cli):
    elsewhere = tmp_path / "elsewhere"
    ck = load_checkpoint(run / "checkpoint.pt")
    ck["config"]["engine"]["out"] = str(elsewhere)
    torch.save(ck, run / "checkpoint.pt")
    assert cli("train", "--resume", run, "--steps", 22, "--quiet")[0] == 0
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 22 and not elsewhere.exists()


def test_a_schema_cannot_make_fewgan_write_outside_out(tmp_path, cli):
    """Column names that look like paths are only names: every file lands under --out."""
    work = tmp_path / "work"
    work.mkdir()
    names = ["../../escape", "/tmp/fewgan-escape-abs", "..", "samples/../../x"]
    rows = "".join(f"{i},{i % 3},{'ab'[i % 2]},{i * 2}\n" for i in range(30))
    (work / "t.csv").write_text(",".join(names) + "\n" + rows)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"columns": [{"name": names[0], "type": "continuous"},
                                              {"name": names[1], "type": "categorical"},
                                              {"name": names[2], "type": "categorical"},
                                              {"name": names[3], "type": "continuous"}]}))
    before = {p for p in tmp_path.rglob("*")}
    out = work / "run"
    code, _, err = cli("train", "table", "--data", work / "t.csv", "--schema", schema, "--out", out, "--steps", 2,
                       "--batch", "10", "--width", "8", "--quiet")
    assert code == 0, err
    new = {p for p in tmp_path.rglob("*")} - before
    assert new and all(out in p.parents or p == out for p in new), sorted(map(str, new))
    assert not os.path.exists("/tmp/fewgan-escape-abs")

"""`fewgan export`: every registered modality's G_ema (text: its per-step cell) as an ONNX graph that
onnxruntime runs to the same numbers as PyTorch (1e-5), with a dynamic batch and a JSON that decodes
the output; the text JSON alone runs the sampling loop to fewgan's own lines."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from fewgan.cli import main
from fewgan.export import example_inputs, exportable
from fewgan.modalities import BUILTIN, get_modality, plugins
from fewgan.train.run import TrainedGenerator

ort = pytest.importorskip("onnxruntime", reason="the [export] extra: pip install 'fewgan[export]'")

EXPORTABLE = [n for n in BUILTIN if hasattr(get_modality(n), "export_info")]
EXTRA = {"video": ("--conditional",)}       # video: the label input c is exported and checked too
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> a folder with run/ (a 2-step smoke run), g.onnx and g.json: one per modality for all tests."""
    done = {}

    def get(name: str) -> Path:
        if name not in done:
            d = tmp_path_factory.mktemp(name)
            flags = [*plugins()[name].smoke, *EXTRA.get(name, ()), "--seed", "3", "--threads", "1", "--quiet"]
            assert main(["train", name, "--out", str(d / "run"), "--steps", "2", *flags]) == 0
            assert main(["export", str(d / "run"), "--out", str(d / "g.onnx")]) == 0, f"{name}: export failed"
            done[name] = d
        return done[name]
    return get


def _outputs(meta: dict) -> list[dict]:
    return meta.get("outputs") or [meta["output"]]


def test_every_modality_exports():
    assert sorted(EXPORTABLE) == sorted(BUILTIN), "a registered modality has no export_info"


@pytest.mark.parametrize("name", EXPORTABLE)
def test_onnx_matches_pytorch(name, exported):
    d = exported(name)
    meta = json.loads((d / "g.json").read_text())
    assert meta["modality"] == name and meta["decode"]
    sess = ort.InferenceSession(str(d / "g.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == [i["name"] for i in meta["inputs"]]
    assert [o.name for o in sess.get_outputs()] == [o["name"] for o in _outputs(meta)]
    gen = TrainedGenerator.open(d / "run")
    for n, seed in ((3, 0), (11, 1)):       # two batch sizes, neither the traced one (4)
        ex = exportable(gen, n, seed)
        got = sess.run(None, {k: t.numpy() for k, t in zip(ex.input_names, ex.inputs)})
        for g, w, o in zip(got, ex.run(), _outputs(meta)):
            assert g.shape == w.shape == (n, *o["shape"][1:])
            err = float(np.abs(g - w.numpy()).max())
            assert err <= 1e-5, f"{name} {o['name']}: onnxruntime differs from PyTorch by {err:.3g}"


def test_series_returns_model_exports(tmp_path):
    """--model returns (a TCN of Gaussianised returns, levels from a start day the first noise step
    picks) exports too: its quantile map is written without searchsorted, which ONNX lacks."""
    rng = np.random.default_rng(0)
    prices = 100 * np.exp(np.cumsum(rng.standard_t(3, (120, 2)) * 0.01, 0))
    np.savetxt(tmp_path / "p.csv", prices, delimiter=",", header="a,b", comments="")
    run = tmp_path / "run"
    assert main(["train", "series", "--data", str(tmp_path / "p.csv"), "--model", "returns", "--seq-len", "8",
                 "--hidden", "4", "--steps", "2", "--out", str(run), "--quiet", "--threads", "1"]) == 0
    assert main(["export", str(run), "--out", str(tmp_path / "g.onnx")]) == 0
    sess = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    ex = exportable(TrainedGenerator.open(run), 9, 1)
    got, = sess.run(None, {k: t.numpy() for k, t in zip(ex.input_names, ex.inputs)})
    want = ex.run()[0].numpy()
    assert got.shape == want.shape == (9, 8, 2) and float(np.abs(got - want).max()) <= 1e-5


@pytest.mark.parametrize("name", ["video", "text"])
def test_pt2_matches_pytorch(name, exported, cli):
    d = exported(name)
    assert cli("export", d / "run", "--out", d / "g.pt2")[0] == 0
    prog = torch.export.load(str(d / "g.pt2")).module()
    ex = exportable(TrainedGenerator.open(d / "run"), 5, 2)
    got = prog(*ex.inputs)
    for g, w in zip(got if isinstance(got, tuple) else (got,), ex.run()):
        assert g.shape == w.shape and torch.allclose(g, w, atol=1e-6)


def test_video_json_decodes_like_the_run(exported):
    """Conditional video: z (T + 2 rows) and class ids in, the JSON's uint8 rule gives the run's frames."""
    d = exported("video")
    meta, gen = json.loads((d / "g.json").read_text()), TrainedGenerator.open(d / "run")
    info = meta["decode"]
    assert [i["name"] for i in meta["inputs"]] == ["z", "c"] and info["classes"] == gen.codec.classes
    assert meta["output"]["shape"][1:] == [info["frames"], info["channels"], info["resolution"], info["resolution"]]
    z, c = exportable(gen, 6, 3).inputs
    x, = ort.InferenceSession(str(d / "g.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"z": z.numpy(), "c": c.numpy()})
    frames = np.round((np.clip(x, -1, 1) + 1) * 127.5).astype(np.uint8).transpose(0, 1, 3, 4, 2)
    assert np.array_equal(frames, gen.codec.decode(gen.G(z, c)))


def _doc_block(path: Path, heading: str) -> str:
    """The first ```python block after `heading` in a Markdown file."""
    text = path.read_text()
    m = re.search(re.escape(heading) + r".*?```python\n(.*?)```", text, re.S)
    assert m, f"{path.name}: no python block under {heading!r}"
    return m.group(1)


def test_text_cell_loop_gives_fewgans_lines(exported, monkeypatch):
    """docs/tensorflow.md's loop (onnxruntime and the JSON only), fed fewgan's own uniforms, writes
    exactly the lines `fewgan sample` writes."""
    from fewgan.modalities.text.modality import sample_lines
    d = exported("text")
    monkeypatch.chdir(d)                    # the documented code opens g.json and g.onnx
    ns = {}
    exec(_doc_block(DOCS / "tensorflow.md", "## Text: running the exported cell"), ns)
    gen = TrainedGenerator.open(d / "run")
    n, temperature, seed = 5, 0.5, 4
    want = sample_lines(gen.G, gen.codec, n, temperature, None, seed)
    z = torch.randn(n, gen.codec.seq_len, generator=torch.Generator().manual_seed(seed))   # sample_lines' draw
    u = (0.5 * (1 + torch.erf(z / 2 ** 0.5))).numpy()
    assert ns["sample_lines"](u, temperature) == want
    # guards: a 2-step G is nearly uniform, so check the lines are varied and the temperature changes them
    assert len(set(want)) > 1 and any(want), "degenerate lines would not test the decoding"
    assert ns["sample_lines"](u, 1.0) != want, "the temperature does not matter here: it is not tested"


def test_table_json_decodes_like_the_run(cli, exported, tmp_path):
    """The JSON's codec alone turns the graph's output into the same rows as the run."""
    from fewgan.data.table_codec import TableCodec
    run = exported("table") / "run"
    assert cli("export", run, "--out", tmp_path / "g.pt2", "--format", "pt2")[0] == 0
    meta = json.loads((tmp_path / "g.json").read_text())
    prog = torch.export.load(str(tmp_path / "g.pt2")).module()
    gen = TrainedGenerator.open(run)
    z, c = example_inputs(gen, 6, 2)
    x = prog(z, c)
    with torch.no_grad():
        assert torch.allclose(x, gen.G(z, c), atol=1e-6)
    a = TableCodec.from_state(meta["decode"]["codec"]).decode(x)
    gen.codec.calibrate(gen.sample)       # as `fewgan sample` does: missing-value cuts, marginal maps
    b = gen.codec.decode(gen.G(z, c).detach())
    assert a.equals(b) and list(a.columns) == meta["decode"]["column_order"]


def test_export_refuses_bad_input(cli, tiny_run, tmp_path, monkeypatch):
    from fewgan.modalities.image.modality import ImageModality
    monkeypatch.delattr(ImageModality, "export_info")     # a modality that has not said how to decode
    code, _, err = cli("export", tiny_run, "--out", tmp_path / "g.onnx")
    assert code == 2 and "export_info" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "g.onnx").exists()
    monkeypatch.undo()
    code, _, err = cli("export", tiny_run, "--out", tmp_path / "g.txt")
    assert code == 2 and "onnx or pt2" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("export", tmp_path / "nothing", "--out", tmp_path / "g.onnx")
    assert code == 2 and not (tmp_path / "g.onnx").exists()

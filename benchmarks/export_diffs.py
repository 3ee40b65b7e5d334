"""onnxruntime vs PyTorch on exported graphs, without TensorFlow (docs/tensorflow.md, route (a) rows of
modalities not run through tf_roundtrip.sh). Per modality: a tiny run (smoke flags, 20 steps, as
tf_roundtrip.sh trains), `fewgan export`, 16 example inputs (seed 123) in onnxruntime, the largest
absolute difference per graph output. Main venv only:
    python benchmarks/export_diffs.py WORKDIR video text     (results: benchmarks/results/export_diffs.json)
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from fewgan.cli import main
from fewgan.export import exportable
from fewgan.modalities import plugins
from fewgan.train.run import TrainedGenerator

EXTRA = {"video": ("--conditional",)}      # labels as a second input, as the test exports it


def measure(work: Path, name: str) -> dict:
    run = work / name
    if not (run / "checkpoint.pt").exists():
        flags = [*plugins()[name].smoke, *EXTRA.get(name, ()), "--threads", "1", "--quiet"]
        assert main(["train", name, "--out", str(run), "--steps", "20", *flags]) == 0
    assert main(["export", str(run), "--out", str(work / f"{name}.onnx")]) == 0
    ex = exportable(TrainedGenerator.open(run), 16, seed=123)
    sess = ort.InferenceSession(str(work / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: t.numpy() for k, t in zip(ex.input_names, ex.inputs)})
    return {"modality": name, "flags": " ".join(EXTRA.get(name, ())), "onnxruntime": ort.__version__,
            "outputs": {n: {"shape": list(g.shape), "max_abs_diff": float(np.abs(g - w.numpy()).max())}
                        for n, g, w in zip(ex.output_names, got, ex.run())}}


if __name__ == "__main__":
    work = Path(sys.argv[1])
    work.mkdir(parents=True, exist_ok=True)
    rows = [measure(work, name) for name in sys.argv[2:]]
    out = Path(__file__).parent / "results" / "export_diffs.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(json.dumps(rows, indent=1))

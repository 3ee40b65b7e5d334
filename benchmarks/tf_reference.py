"""Reference inputs and PyTorch outputs of an exported run, for benchmarks/tf_check.py (main venv)."""
import sys
from pathlib import Path

import numpy as np
import torch

from fewgan.export import example_inputs
from fewgan.train.run import TrainedGenerator

run, out = Path(sys.argv[1]), Path(sys.argv[2])
gen = TrainedGenerator.open(run)
inputs = example_inputs(gen, 16, seed=123)
with torch.no_grad():
    x = gen.G(inputs[0], inputs[1] if len(inputs) == 2 else None).float()
np.savez(out, x=x.numpy(), **{n: t.numpy() for n, t in zip(("z", "c"), inputs)})
print(f"{out}: inputs {[tuple(t.shape) for t in inputs]} output {tuple(x.shape)}")

"""Run an exported fewgan generator from TensorFlow, two ways, against PyTorch's own output.

(a) onnxruntime inside a tf.data / Keras pipeline (tf.numpy_function), (b) the SavedModel that
onnx2tf converted. Run with the TensorFlow venv (see docs/tensorflow.md and tf_roundtrip.sh):
    python tf_check.py g.onnx saved_model_dir reference.npz result.json
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort
import tensorflow as tf

onnx_path, saved, ref_path, result = sys.argv[1:5]
ref = np.load(ref_path)
names = [n for n in ("z", "c") if n in ref]
feeds = {n: ref[n] for n in names}

# (a) onnxruntime as a TF op: a Keras layer around tf.numpy_function, used in a tf.data pipeline
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])


class OnnxGenerator(tf.keras.layers.Layer):
    def call(self, *inputs):
        def run(*arrays):
            return sess.run(None, dict(zip(names, arrays)))[0]
        x = tf.numpy_function(run, list(inputs), tf.float32)
        x.set_shape([None, *ref["x"].shape[1:]])
        return x


layer = OnnxGenerator()
ds = tf.data.Dataset.from_tensor_slices(tuple(feeds[n] for n in names)).batch(5)   # batches 5, 5, 5, 1
got_a = np.concatenate([layer(*b).numpy() for b in ds])
diff_a = float(np.abs(got_a - ref["x"]).max())

row = {"onnx": onnx_path, "output_shape": list(ref["x"].shape), "tensorflow": tf.__version__,
       "onnxruntime": ort.__version__, "max_abs_diff_ort_in_tf": diff_a}
if saved == "-":        # no SavedModel (onnx2tf failed): route (a) only
    print(json.dumps(row))
    with open(result, "w") as f:
        json.dump({**row, "onnx2tf": "failed"}, f, indent=2)
    sys.exit(0)

# (b) the converted SavedModel
model = tf.saved_model.load(saved)
fn = model.signatures["serving_default"]
arg_names = list(fn.structured_input_signature[1].keys())
t0 = time.perf_counter()
out = fn(**{a: tf.constant(feeds[n]) for a, n in zip(sorted(arg_names), sorted(names))})
got_b = next(iter(out.values())).numpy()
layout = "as exported"
if got_b.shape != ref["x"].shape and got_b.ndim == 4:      # onnx2tf writes images channels-last (NHWC)
    got_b, layout = got_b.transpose(0, 3, 1, 2), "NHWC (onnx2tf's), transposed back to NCHW"
diff_b = float(np.abs(got_b - ref["x"]).max())
row.update(max_abs_diff_savedmodel=diff_b, savedmodel_inputs=arg_names, savedmodel_output_layout=layout)
print(json.dumps(row))
with open(result, "w") as f:
    json.dump(row, f, indent=2)

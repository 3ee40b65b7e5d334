#!/usr/bin/env bash
# ONNX -> TensorFlow round trip for every modality (not part of CI; docs/tensorflow.md).
# Needs the main venv (fewgan + [export]) and a separate TensorFlow venv:
#   python3 -m venv /work/tfvenv && /work/tfvenv/bin/pip install tensorflow-cpu onnx2tf tf_keras onnx \
#       onnxruntime onnx_graphsurgeon sng4onnx psutil ai-edge-litert
# Usage: benchmarks/tf_roundtrip.sh [WORKDIR]   (results: benchmarks/results/tf_roundtrip.json)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-$HERE/../.venv/bin/python}
TFPY=${TFPY:-/work/tfvenv/bin/python}
W=${1:-$(mktemp -d)}
mkdir -p "$W" "$HERE/results"
export PYTHONPATH=$HERE/../src${PYTHONPATH:+:$PYTHONPATH}
results=()
for m in image table series; do
  smoke=$("$PY" -c "from fewgan.modalities import get_plugin; print(' '.join(get_plugin('$m').smoke))")
  [ -f "$W/$m/checkpoint.pt" ] || "$PY" -m fewgan train $m --out "$W/$m" --steps 20 $smoke --threads 1 --quiet
  "$PY" -m fewgan export "$W/$m" --out "$W/$m.onnx"
  "$PY" "$HERE/tf_reference.py" "$W/$m" "$W/$m-ref.npz"
  # onnx2tf needs static shapes (a ConvTranspose with a symbolic batch does not convert): batch 16
  "$TFPY" "$HERE/onnx_static_batch.py" "$W/$m.onnx" "$W/$m-b16.onnx" 16
  rm -rf "$W/$m-tf"
  if "$TFPY" -m onnx2tf -i "$W/$m-b16.onnx" -o "$W/$m-tf" -osd > "$W/$m-onnx2tf.log" 2>&1 && [ -f "$W/$m-tf/saved_model.pb" ]; then
    "$TFPY" "$HERE/tf_check.py" "$W/$m.onnx" "$W/$m-tf" "$W/$m-ref.npz" "$W/$m-tf.json" 2>/dev/null | tail -1
    results+=("$(cat "$W/$m-tf.json")")
  else
    echo "$m: onnx2tf failed, see $W/$m-onnx2tf.log:"; grep -v onnxsim "$W/$m-onnx2tf.log" | grep -m2 -E "Error|must be" || true
    "$TFPY" "$HERE/tf_check.py" "$W/$m.onnx" - "$W/$m-ref.npz" "$W/$m-tf.json" 2>/dev/null | tail -1   # route (a) only
    results+=("$(cat "$W/$m-tf.json")")
  fi
done
(IFS=,; echo "[${results[*]}]") > "$HERE/results/tf_roundtrip.json"
echo "wrote $HERE/results/tf_roundtrip.json"

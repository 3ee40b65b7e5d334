"""Copy an ONNX graph with its batch dimension fixed (onnx2tf cannot convert a ConvTranspose whose
batch is symbolic). Usage: python onnx_static_batch.py in.onnx out.onnx BATCH"""
import sys

import onnx

src, dst, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = onnx.load(src)
del m.graph.value_info[:]                 # drop the symbolic shapes; re-inferred below
for v in list(m.graph.input) + list(m.graph.output):
    v.type.tensor_type.shape.dim[0].dim_value = batch
m = onnx.shape_inference.infer_shapes(m, data_prop=True)
onnx.save(m, dst)

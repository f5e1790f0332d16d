"""The local target's "engine build": prepares an ONNX model for Triton's python backend on the CPU.

  python build_cpu_engine.py SOURCE.onnx OUT.onnx PRECISION

int8 quantizes the weights with ONNX Runtime (dynamic quantization); fp16 and fp32 keep the model
as it is (ONNX Runtime on the CPU runs fp32). The result is checked by loading it in ONNX Runtime
and running one batch, as TensorRT's builder would fail on a model it cannot build.
"""
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(source, out, precision):
    onnx.checker.check_model(onnx.load(source))
    if precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(source, out, weight_type=QuantType.QInt8)
    elif precision in ("fp16", "fp32"):
        shutil.copyfile(source, out)
    else:
        sys.exit(f"unsupported precision {precision!r} (int8, fp16 or fp32)")
    session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    feed = {}
    for tensor in session.get_inputs():
        shape = [1 if not isinstance(d, int) else d for d in tensor.shape]
        feed[tensor.name] = np.zeros(shape, dtype=np.float32)
    outputs = session.run(None, feed)
    print(f"[I] {out}: {precision}, inputs {[(t.name, t.shape) for t in session.get_inputs()]}, outputs {[o.shape for o in outputs]}")
    print("&&&& PASSED CPU engine build")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])

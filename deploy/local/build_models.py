"""Builds the local target's ONNX models: a small ResNet-style CNN with fixed random weights.

  python build_models.py OUT_DIR

writes OUT_DIR/<name>.onnx for
  resnet-mini       the model (input "input" [N,3,64,64] float32, output "logits" [N,10]),
  resnet-mini-int8  the same model with INT8 weights (onnxruntime dynamic quantization),
  resnet-mini-slow  a model made slower on purpose (4x the channels): the regression drill.
Weights come from a fixed seed, so the files are the same on every machine.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SHAPE = [3, 64, 64]
CLASSES = 10


class Graph:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.weights, self.count = [], [], 0

    def name(self, kind):
        self.count += 1
        return f"{kind}_{self.count}"

    def weight(self, shape, fan_in):
        tensor = numpy_helper.from_array((self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), self.name("w"))
        self.weights.append(tensor)
        return tensor.name

    def conv(self, x, c_in, c_out, stride=1, relu=True):
        out = self.name("conv")
        w = self.weight([c_out, c_in, 3, 3], c_in * 9)
        b = self.weight([c_out], c_out)
        self.nodes.append(helper.make_node("Conv", [x, w, b], [out], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride]))
        return self.relu(out) if relu else out

    def relu(self, x):
        out = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [out]))
        return out

    def residual(self, x, channels):
        y = self.conv(self.conv(x, channels, channels), channels, channels, relu=False)
        out = self.name("add")
        self.nodes.append(helper.make_node("Add", [x, y], [out]))
        return self.relu(out)


def build(width, seed):
    g = Graph(seed)
    x = g.conv("input", 3, width, stride=2)
    x = g.residual(x, width)
    x = g.conv(x, width, 2 * width, stride=2)
    x = g.residual(x, 2 * width)
    pooled = g.name("pool")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    flat = g.name("flat")
    g.nodes.append(helper.make_node("Flatten", [pooled], [flat]))
    w = g.weight([2 * width, CLASSES], 2 * width)
    b = g.weight([CLASSES], CLASSES)
    mm = g.name("matmul")
    g.nodes.append(helper.make_node("MatMul", [flat, w], [mm]))
    g.nodes.append(helper.make_node("Add", [mm, b], ["logits"]))
    graph = helper.make_graph(
        g.nodes,
        "resnet_mini",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *INPUT_SHAPE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", CLASSES])],
        g.weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="triton-pipeline")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(out_dir):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(build(width=16, seed=50), out / "resnet-mini.onnx")
    onnx.save(build(width=64, seed=50), out / "resnet-mini-slow.onnx")
    quantize_dynamic(str(out / "resnet-mini.onnx"), str(out / "resnet-mini-int8.onnx"), weight_type=QuantType.QInt8)
    for name in ("resnet-mini", "resnet-mini-int8", "resnet-mini-slow"):
        print(f"{out / (name + '.onnx')} {(out / (name + '.onnx')).stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

"""Triton python-backend model that runs an ONNX file with ONNX Runtime on the CPU.

Triton copies this file to <model>/<version>/model.py beside model.onnx. Each model instance is
one process with one ONNX Runtime thread, so instance_group count is real parallelism. The
requests Triton's dynamic batcher hands over in one execute() call are run as one batch.
The model's inputs and outputs come from the ONNX file (auto-complete), so config.pbtxt only
carries the serving choices: max_batch_size, instance_group, dynamic_batching.
"""
import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

ONNX_TYPES = {"tensor(float)": "TYPE_FP32", "tensor(int64)": "TYPE_INT64", "tensor(int32)": "TYPE_INT32"}


def session_for(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


class TritonPythonModel:
    @staticmethod
    def auto_complete_config(config):
        here = os.path.dirname(os.path.abspath(__file__))
        session = session_for(os.path.join(here, "model.onnx"))
        for io, add in ((session.get_inputs(), config.add_input), (session.get_outputs(), config.add_output)):
            for tensor in io:
                add({"name": tensor.name, "data_type": ONNX_TYPES[tensor.type], "dims": [int(d) for d in tensor.shape[1:]]})
        return config

    def initialize(self, args):
        directory = os.path.join(args["model_repository"], args["model_version"])
        self.session = session_for(os.path.join(directory, "model.onnx"))
        self.inputs = [t.name for t in self.session.get_inputs()]
        self.outputs = [t.name for t in self.session.get_outputs()]
        self.config = json.loads(args["model_config"])

    def execute(self, requests):
        batches = [[pb_utils.get_input_tensor_by_name(r, name).as_numpy() for name in self.inputs] for r in requests]
        sizes = [b[0].shape[0] for b in batches]
        feed = {name: np.concatenate([b[i] for b in batches]) for i, name in enumerate(self.inputs)}
        results = self.session.run(self.outputs, feed)
        responses, start = [], 0
        for size in sizes:
            tensors = [pb_utils.Tensor(name, result[start : start + size]) for name, result in zip(self.outputs, results)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start += size
        return responses

"""Exports a Hugging Face Transformers question-answering model directory to ONNX for TensorRT.

Inputs input_ids, attention_mask, token_type_ids and outputs start_logits, end_logits, every one
with dynamic axes {0: batch, 1: sequence}, so the engine's optimization profiles (not the export)
choose the shapes. Token inputs are INT32, TensorRT's native integer type. Uses the TorchScript
exporter (dynamo=False where torch has the choice: its dynamic_axes is the documented way to name
dynamic dimensions) and eager attention (plain MatMul/Softmax, which TensorRT fuses itself). Runs on
the CPU; the engine build needs the GPU, the export does not.

    python3 export_transformer_onnx.py --model-dir DIR --output model.onnx --sequence-length 384
"""
import argparse
import inspect
import sys

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUTS = ["start_logits", "end_logits"]


def load_model(model_dir):
    import torch
    from transformers import AutoModelForQuestionAnswering

    try:
        model = AutoModelForQuestionAnswering.from_pretrained(model_dir, attn_implementation="eager")
    except TypeError:  # transformers before attn_implementation
        model = AutoModelForQuestionAnswering.from_pretrained(model_dir)
    model = model.to(torch.float32).eval()
    if hasattr(model.config, "use_cache"):
        model.config.use_cache = False
    return model


def qa_wrapper(model, input_names):
    import torch

    accepted = inspect.signature(model.forward).parameters
    absent = [name for name in input_names if name not in accepted]
    if absent:
        raise SystemExit(
            f"{type(model).__name__}.forward takes no {', '.join(absent)}; the engine build exports {', '.join(input_names)} "
            "(a BERT-style question-answering model)"
        )

    class QuestionAnsweringLogits(torch.nn.Module):
        """The model with positional inputs and a (start_logits, end_logits) tuple, so the ONNX names are fixed."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            out = self.model(**dict(zip(input_names, tensors)))
            if isinstance(out, tuple):
                return out[0], out[1]
            return out.start_logits, out.end_logits

    return QuestionAnsweringLogits()


def sample_inputs(model, input_names, batch, sequence, dtype):
    import torch

    torch_dtype = {"int32": torch.int32, "int64": torch.int64}[dtype]
    vocab = int(getattr(model.config, "vocab_size", 1000))
    generator = torch.Generator().manual_seed(0)
    samples = {
        "input_ids": torch.randint(0, min(vocab, 30000), (batch, sequence), generator=generator, dtype=torch.int64).to(torch_dtype),
        "attention_mask": torch.ones((batch, sequence), dtype=torch_dtype),
        "token_type_ids": torch.zeros((batch, sequence), dtype=torch_dtype),
    }
    return tuple(samples[name] for name in input_names)


def export(model_dir, output, opset=17, sequence_length=384, batch=2, input_names=INPUTS, output_names=OUTPUTS, dtype="int32"):
    import torch

    model = load_model(model_dir)
    wrapper = qa_wrapper(model, input_names)
    sample = sample_inputs(model, input_names, batch, sequence_length, dtype)
    axes = {0: "batch", 1: "sequence"}
    kwargs = {
        "input_names": list(input_names),
        "output_names": list(output_names),
        "dynamic_axes": {name: dict(axes) for name in [*input_names, *output_names]},
        "opset_version": opset,
        "do_constant_folding": True,
    }
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(wrapper, sample, output, **kwargs)
    return check_export(output, input_names, output_names, opset)


def check_export(path, input_names, output_names, opset):
    """The exported model's inputs and outputs, checked: names as planned, dimensions 0 and 1 dynamic."""
    import onnx

    onnx.checker.check_model(path)  # by path: also a model with external data
    model = onnx.load(path, load_external_data=False)
    found_opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if found_opset != opset:
        raise SystemExit(f"the exported model has opset {found_opset}, the plan asks for {opset}")

    def described(values):
        out = {}
        for value in values:
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            out[value.name] = (onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type), dims)
        return out

    inputs, outputs = described(model.graph.input), described(model.graph.output)
    for kind, names, found in (("inputs", input_names, inputs), ("outputs", output_names, outputs)):
        if list(found) != list(names):
            raise SystemExit(f"the exported model's {kind} are {list(found)}, expected {list(names)}")
        for name, (_, dims) in found.items():
            if len(dims) < 2 or any(isinstance(d, int) for d in dims[:2]):
                raise SystemExit(f"the exported {name} has dimensions {dims}; dimensions 0 and 1 must be dynamic (batch, sequence)")
    return inputs, outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, help="a save_pretrained directory of a question-answering model")
    parser.add_argument("--output", required=True)
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--sequence-length", type=int, default=384, help="the sequence length the export traces with")
    parser.add_argument("--batch", type=int, default=2, help="the batch the export traces with")
    parser.add_argument("--inputs", default=",".join(INPUTS))
    parser.add_argument("--outputs", default=",".join(OUTPUTS))
    parser.add_argument("--dtype", choices=["int32", "int64"], default="int32")
    args = parser.parse_args(argv)
    inputs, outputs = export(
        args.model_dir, args.output, args.opset, args.sequence_length, args.batch, args.inputs.split(","), args.outputs.split(","), args.dtype
    )
    for kind, values in (("input", inputs), ("output", outputs)):
        for name, (dtype, dims) in values.items():
            print(f"exported {kind} {name}: {dtype} {dims}")
    print(f"wrote {args.output} (opset {args.opset})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

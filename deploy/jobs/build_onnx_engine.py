"""Builds one TensorRT engine as BUILD_PLAN says, for ONNX and Transformers sources alike.

Steps: fetch the source; a Transformers model archive is unpacked and exported to ONNX first
(export_transformer_onnx.py, dynamic batch and sequence axes); parse the ONNX model; one
optimization profile per planned (min,opt,max) batch triple, the sequence dimension from the plan;
the plan's builder flags (INT8 with FP16 fallback, FP16, or none); INT8 scales from a calibration
cache that is checked against the network first, or from calibration data (.npz) fed through
Polygraphy's Calibrator, which also writes a new cache; then the serialized plan. Writes into
--work: model.plan, calibration.cache (when calibrated from data) and summary.json, which
build-engine.sh uploads with the build record. The plan's own checks live in engine_plan.py.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import tensorrt as trt

import engine_plan
import gcs_copy
from engine_plan import PlanError

HERE = os.path.dirname(os.path.abspath(__file__))
FLOAT_TYPES = {trt.float32, trt.float16} | ({trt.bfloat16} if hasattr(trt, "bfloat16") else set())


def onnx_source(plan, work):
    """The ONNX model to build: the source itself, or the Transformers model exported as the plan says."""
    if plan.export is None:
        return gcs_copy.fetch(plan.source_uri, os.path.join(work, "model.onnx"))
    archive = gcs_copy.fetch(plan.source_uri, os.path.join(work, "transformers-model.archive"))
    model_dir = engine_plan.unpack_transformers_archive(archive, os.path.join(work, "transformers-model"))
    output = os.path.join(work, "model.onnx")
    batch, sequence = plan.export.sample_shape
    subprocess.run(
        [
            sys.executable, os.path.join(HERE, "export_transformer_onnx.py"),
            "--model-dir", model_dir, "--output", output, "--opset", str(plan.export.opset),
            "--sequence-length", str(sequence), "--batch", str(batch),
            "--inputs", ",".join(plan.export.inputs), "--outputs", ",".join(plan.export.outputs), "--dtype", plan.export.input_dtype,
        ],
        check=True,
    )
    return output


def parse_network(builder, logger, onnx_path):
    # TensorRT 10 networks are always explicit-batch (the flag is deprecated); earlier releases need it.
    flags = 0 if int(trt.__version__.split(".")[0]) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(onnx_path):  # by path, so external weights next to it are found
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise SystemExit(f"ONNX parse failed:\n{errors}")
    return network, parser


def network_inputs(network):
    return [network.get_input(i) for i in range(network.num_inputs)]


def float_tensor_names(network):
    """The network's floating-point tensors (inputs and layer outputs): the ones calibration gives scales."""
    names = [t.name for t in network_inputs(network) if t.dtype in FLOAT_TYPES]
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        names += [layer.get_output(j).name for j in range(layer.num_outputs) if layer.get_output(j).dtype in FLOAT_TYPES]
    return list(dict.fromkeys(names))


def calibrator_for(plan, network, shapes, work):
    """(calibrator, path of the cache it writes or None, how) for the plan's calibration."""
    from polygraphy.backend.trt import Calibrator

    cal = plan.calibration
    inputs = network_inputs(network)
    if cal.cache is not None:
        path = gcs_copy.fetch(cal.cache, os.path.join(work, "given-calibration.cache"))
        with open(path, "rb") as f:
            cache = engine_plan.parse_calibration_cache(f.read())
        try:
            fit = engine_plan.check_calibration_cache(cache, cal.cache, [t.name for t in inputs], float_tensor_names(network), trt.__version__)
        except PlanError as err:
            if cal.on_cache_mismatch == "fail":
                raise
            print(f"warning: {err}\nwarning: calibrating on {cal.data} instead", flush=True)
        else:
            for warning in fit.warnings:
                print(f"warning: {warning}", flush=True)
            print(f"calibration cache {cal.cache} ({cache.header}) has scales for {fit.checked - len(fit.missing)} of {fit.checked} tensors", flush=True)
            # TensorRT reads the cache and asks for no batch while it covers the network.
            return Calibrator(data_loader=[], cache=path), None, f"cache {cal.cache}"

    path = gcs_copy.fetch(cal.data, os.path.join(work, "calibration.npz"))
    opt_shapes = {name: opt for name, (_, opt, _) in shapes[cal.profile].items()}
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    count = engine_plan.calibration_batches(cal, {name: a.shape for name, a in arrays.items()}, opt_shapes, cal.data)
    dtypes = {t.name: np.dtype(trt.nptype(t.dtype)) for t in inputs}
    size = cal.batch_size

    def batches():
        for i in range(count):
            yield {name: np.ascontiguousarray(arrays[name][i * size:(i + 1) * size], dtype=dtypes[name]) for name in opt_shapes}

    written = os.path.join(work, "calibration.cache")
    if os.path.exists(written):
        os.remove(written)
    print(f"calibrating on {cal.data}: {count} batches of {size} at profile {cal.profile}'s opt shapes", flush=True)
    return Calibrator(data_loader=batches(), cache=written), written, f"data {cal.data} ({count} batches of {size})"


def build(plan, onnx_path, work):
    logger = trt.Logger(trt.Logger.INFO)
    builder = trt.Builder(logger)
    network, _parser = parse_network(builder, logger, onnx_path)
    inputs = [(t.name, tuple(t.shape)) for t in network_inputs(network)]
    shapes = engine_plan.network_profile_shapes(plan, inputs)

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, plan.workspace_bytes)
    for flag in plan.builder_flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    profiles = []
    for per_input in shapes:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in per_input.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
        profiles.append(profile)
        print("profile " + "; ".join(f"{n} {list(lo)}..{list(opt)}..{list(hi)}" for n, (lo, opt, hi) in per_input.items()), flush=True)

    calibration = None
    written = None
    if plan.calibration is not None:
        calibrator, written, calibration = calibrator_for(plan, network, shapes, work)
        config.set_calibration_profile(profiles[plan.calibration.profile])
        config.int8_calibrator = calibrator

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise SystemExit("TensorRT could not build the engine (see its log above)")
    output = os.path.join(work, "model.plan")
    with open(output, "wb") as f:
        f.write(serialized)  # IHostMemory is a buffer: written as is, measured by nbytes
    print(f"wrote {output} ({serialized.nbytes} bytes, {len(inputs)} inputs, {len(profiles)} profiles)", flush=True)
    return {
        "planBytes": int(serialized.nbytes),
        "tensorrtVersion": trt.__version__,
        "flags": list(plan.builder_flags),
        "calibration": calibration,
        "calibrationCacheFile": written if written is not None and os.path.exists(written) else None,
        "profileShapes": [{n: [list(s) for s in triple] for n, triple in per_input.items()} for per_input in shapes],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="a scratch directory; outputs are written here")
    parser.add_argument("--plan", help="BUILD_PLAN JSON (default: the BUILD_PLAN environment variable)")
    args = parser.parse_args()
    try:
        plan = engine_plan.load_plan(args.plan if args.plan is not None else os.environ.get("BUILD_PLAN", ""))
        summary = build(plan, onnx_source(plan, args.work), args.work)
    except PlanError as err:
        raise SystemExit(f"error: {err}") from None
    with open(os.path.join(args.work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()

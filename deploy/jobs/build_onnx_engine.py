"""Builds a TensorRT engine from ONNX with one optimization profile per (min,opt,max) batch triple.

Used by build-engine.sh inside the TensorRT container. INT8 reads a calibration cache (the sample
ships one for ResNet50), so no calibration images are needed; FP16 is enabled alongside INT8 so
layers without INT8 kernels fall back to FP16.
"""
import argparse

import tensorrt as trt


class CacheCalibrator(trt.IInt8EntropyCalibrator2):
    """Replays a calibration cache; never asked for batches when the cache matches the network."""

    def __init__(self, cache_path):
        super().__init__()
        with open(cache_path, "rb") as f:
            self.cache = f.read()

    def get_batch_size(self):
        return 1

    def get_batch(self, names):
        return None

    def read_calibration_cache(self):
        return self.cache

    def write_calibration_cache(self, cache):
        pass


def parse_profiles(text):
    triples = [tuple(int(x) for x in part.split(",")) for part in text.split(";") if part]
    for lo, opt, hi in triples:
        if not lo <= opt <= hi:
            raise SystemExit(f"invalid profile ({lo},{opt},{hi}): need min <= opt <= max")
    return triples


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--precision", choices=["int8", "fp16", "fp32"], default="int8")
    parser.add_argument("--profiles", required=True, help="min,opt,max;min,opt,max;...")
    parser.add_argument("--calibration-cache")
    parser.add_argument("--workspace-gib", type=int, default=4)
    args = parser.parse_args()

    logger = trt.Logger(trt.Logger.INFO)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    onnx_parser = trt.OnnxParser(network, logger)
    with open(args.onnx, "rb") as f:
        if not onnx_parser.parse(f.read()):
            errors = "\n".join(str(onnx_parser.get_error(i)) for i in range(onnx_parser.num_errors))
            raise SystemExit(f"ONNX parse failed:\n{errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, args.workspace_gib << 30)
    if args.precision in ("int8", "fp16"):
        config.set_flag(trt.BuilderFlag.FP16)
    if args.precision == "int8":
        if not args.calibration_cache:
            raise SystemExit("INT8 needs --calibration-cache")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = CacheCalibrator(args.calibration_cache)

    for lo, opt, hi in parse_profiles(args.profiles):
        profile = builder.create_optimization_profile()
        for i in range(network.num_inputs):
            tensor = network.get_input(i)
            rest = tuple(tensor.shape)[1:]
            profile.set_shape(tensor.name, (lo, *rest), (opt, *rest), (hi, *rest))
        config.add_optimization_profile(profile)
        if args.precision == "int8":
            config.set_calibration_profile(profile)

    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise SystemExit("engine build failed")
    with open(args.output, "wb") as f:
        f.write(plan)
    print(f"wrote {args.output} ({len(plan)} bytes, {network.num_inputs} inputs)")


if __name__ == "__main__":
    main()

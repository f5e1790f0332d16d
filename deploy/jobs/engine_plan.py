"""The engine build plan and the checks that need no TensorRT (standard library only).

BUILD_PLAN is JSON written by the pipeline (src/plan/engine-build.ts): the source and whether it is
exported to ONNX first, one optimization profile per (min,opt,max) batch triple with the sequence
dimension resolved, the builder flags, INT8 calibration and the workspace. build_onnx_engine.py does
what it says; this module parses it, resolves each network input's shapes per profile, checks a
calibration cache or calibration data against the network, and names the Python packages the plan
needs. `python3 engine_plan.py check-deps` (BUILD_PLAN from the environment) fails fast, with what
to do, when the image lacks one of them.
"""
import dataclasses
import importlib.util
import json
import os
import re
import sys
import tarfile
import zipfile

PLAN_VERSION = 1
FORMATS = ("onnx", "transformers")
PRECISIONS = {"int8": ["INT8", "FP16"], "fp16": ["FP16"], "fp32": []}
DOCS = 'docs/gke.md, "Engine builds"'


class PlanError(Exception):
    """The plan, the network or a calibration input cannot be built as asked; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Range:
    min: int
    opt: int
    max: int


@dataclasses.dataclass(frozen=True)
class Profile:
    batch: Range
    sequence: Range | None


@dataclasses.dataclass(frozen=True)
class Export:
    opset: int
    inputs: list
    outputs: list
    input_dtype: str
    sample_shape: tuple


@dataclasses.dataclass(frozen=True)
class Calibration:
    cache: str | None
    data: str | None
    profile: int
    batch_size: int
    on_cache_mismatch: str


@dataclasses.dataclass(frozen=True)
class Plan:
    model: str
    gpu: str
    source_uri: str
    source_format: str
    export: Export | None
    profiles: list
    precision: str
    builder_flags: list
    calibration: Calibration | None
    workspace_bytes: int


def _field(obj, name, kind, where):
    if not isinstance(obj, dict) or name not in obj:
        raise PlanError(f"BUILD_PLAN: {where} has no field {name!r}")
    value = obj[name]
    if kind is not None and not isinstance(value, kind):
        raise PlanError(f"BUILD_PLAN: {where}.{name} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _range(obj, where):
    values = [_field(obj, k, int, where) for k in ("min", "opt", "max")]
    if not 1 <= values[0] <= values[1] <= values[2]:
        raise PlanError(f"BUILD_PLAN: {where} needs 1 <= min <= opt <= max, got {tuple(values)}")
    return Range(*values)


def load_plan(text):
    """Parses and checks BUILD_PLAN; raises PlanError naming the field that is wrong."""
    try:
        raw = json.loads(text)
    except (TypeError, ValueError) as err:
        raise PlanError(f"BUILD_PLAN is not JSON: {err}") from None
    version = _field(raw, "version", int, "plan")
    if version != PLAN_VERSION:
        raise PlanError(f"BUILD_PLAN version {version} is not {PLAN_VERSION}: the builder scripts (ConfigMap) and the pipeline differ; redeploy the worker")
    source = _field(raw, "source", dict, "plan")
    source_format = _field(source, "format", str, "source")
    if source_format not in FORMATS:
        raise PlanError(f"BUILD_PLAN: source.format {source_format!r} is not one of {', '.join(FORMATS)}")
    precision_obj = _field(raw, "precision", dict, "plan")
    precision = _field(precision_obj, "mode", str, "precision")
    if precision not in PRECISIONS:
        raise PlanError(f"BUILD_PLAN: precision.mode {precision!r} is not one of {', '.join(PRECISIONS)}")
    flags = _field(precision_obj, "builderFlags", list, "precision")
    if flags != PRECISIONS[precision]:
        raise PlanError(f"BUILD_PLAN: {precision} builds with flags {PRECISIONS[precision]}, the plan says {flags}")

    profiles = []
    for i, p in enumerate(_field(raw, "profiles", list, "plan")):
        sequence = _field(p, "sequence", None, f"profiles[{i}]")
        profiles.append(Profile(_range(_field(p, "batch", dict, f"profiles[{i}]"), f"profiles[{i}].batch"), None if sequence is None else _range(sequence, f"profiles[{i}].sequence")))
    if not profiles:
        raise PlanError("BUILD_PLAN has no optimization profile")

    export = None
    export_obj = _field(raw, "export", None, "plan")
    if export_obj is not None:
        sample = _field(export_obj, "sampleShape", list, "export")
        export = Export(
            opset=_field(export_obj, "opset", int, "export"),
            inputs=_field(export_obj, "inputs", list, "export"),
            outputs=_field(export_obj, "outputs", list, "export"),
            input_dtype=_field(export_obj, "inputDtype", str, "export"),
            sample_shape=tuple(sample),
        )
    if (source_format == "transformers") != (export is not None):
        raise PlanError(f"BUILD_PLAN: a {source_format} source {'needs' if export is None else 'takes no'} export step")
    if export is not None and any(p.sequence is None for p in profiles):
        raise PlanError("BUILD_PLAN: an exported Transformers model needs the sequence dimension in every profile (models[].sequenceLength)")

    calibration = None
    cal = _field(raw, "calibration", None, "plan")
    if cal is not None:
        calibration = Calibration(
            cache=_field(cal, "cache", None, "calibration"),
            data=_field(cal, "data", None, "calibration"),
            profile=_field(cal, "profile", int, "calibration"),
            batch_size=_field(cal, "batchSize", int, "calibration"),
            on_cache_mismatch=_field(cal, "onCacheMismatch", str, "calibration"),
        )
        if calibration.cache is None and calibration.data is None:
            raise PlanError("BUILD_PLAN: calibration names neither a cache nor data")
        if not 0 <= calibration.profile < len(profiles):
            raise PlanError(f"BUILD_PLAN: calibration.profile {calibration.profile} is not one of the {len(profiles)} profiles")
        if calibration.batch_size != profiles[calibration.profile].batch.opt:
            raise PlanError("BUILD_PLAN: calibration.batchSize must be the calibration profile's opt batch (TensorRT calibrates at the opt shapes)")
        if calibration.on_cache_mismatch not in ("fail", "recalibrate") or (calibration.on_cache_mismatch == "recalibrate" and calibration.data is None):
            raise PlanError(f"BUILD_PLAN: calibration.onCacheMismatch {calibration.on_cache_mismatch!r}: 'fail', or 'recalibrate' with data")
    if precision == "int8" and calibration is None:
        raise PlanError(
            f"model {raw.get('model')!r}: an INT8 engine needs calibration and the plan has none; set models[].calibration.data "
            "(an .npz of input arrays) or models[].calibration.cache (written by the same TensorRT for this model), or precision: fp16"
        )
    if precision != "int8" and calibration is not None:
        raise PlanError(f"BUILD_PLAN: calibration is for INT8 builds, the plan builds {precision}")

    return Plan(
        model=_field(raw, "model", str, "plan"),
        gpu=_field(raw, "gpu", str, "plan"),
        source_uri=_field(source, "uri", str, "source"),
        source_format=source_format,
        export=export,
        profiles=profiles,
        precision=precision,
        builder_flags=flags,
        calibration=calibration,
        workspace_bytes=_field(raw, "workspaceBytes", int, "plan"),
    )


def profile_shapes(profile, inputs):
    """{input name: (min shape, opt shape, max shape)} for one profile.

    inputs: [(name, shape)] as the parsed network has them, -1 for a dynamic dimension. Dimension 0
    is the batch (it must be dynamic: Triton batches along it); dimension 1, when dynamic, is the
    sequence and needs the plan's sequence range. Any other dynamic dimension is an error.
    """
    shapes = {}
    for name, shape in inputs:
        shape = tuple(int(d) for d in shape)
        if not shape:
            raise PlanError(f"input {name!r} is a scalar; Triton batches along dimension 0, so every input needs one")
        if shape[0] != -1:
            raise PlanError(
                f"input {name!r} has a fixed batch dimension {shape[0]} (shape {list(shape)}); an engine with optimization profiles "
                "needs dimension 0 dynamic: export the ONNX model with a dynamic batch axis"
            )
        dims = [profile.batch]
        for axis, dim in enumerate(shape[1:], start=1):
            if dim >= 0:
                dims.append(Range(dim, dim, dim))
            elif axis == 1 and profile.sequence is not None:
                dims.append(profile.sequence)
            elif axis == 1:
                raise PlanError(
                    f"input {name!r} has a dynamic dimension 1 (shape {list(shape)}), e.g. a sequence length, that the plan does not "
                    "resolve; set models[].sequenceLength in the spec, or export the model with a static dimension 1"
                )
            else:
                raise PlanError(
                    f"input {name!r} has a dynamic dimension {axis} (shape {list(shape)}); the plan resolves the batch (dimension 0) "
                    "and the sequence (dimension 1) only: export the model with static dimensions beyond those"
                )
        shapes[name] = (tuple(d.min for d in dims), tuple(d.opt for d in dims), tuple(d.max for d in dims))
    return shapes


def network_profile_shapes(plan, inputs):
    """profile_shapes for each of the plan's profiles, in order."""
    if not inputs:
        raise PlanError("the network has no inputs")
    return [profile_shapes(p, inputs) for p in plan.profiles]


# --- calibration cache -------------------------------------------------------------------------

_HEADER = re.compile(r"^TRT-(\d+)-(\w+)$")


@dataclasses.dataclass(frozen=True)
class CalibrationCache:
    header: str
    tensorrt_version: str
    algorithm: str
    scales: dict


def tensorrt_version_of(number):
    """TensorRT's version integer as its cache header writes it: 7103 (7.1.3), 8601 (8.6.1), 100300 (10.3.0)."""
    if number >= 100000:  # TensorRT 10 and later: major * 10000 + minor * 100 + patch
        return f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    return f"{number // 1000}.{number // 100 % 10}.{number % 100}"


def parse_calibration_cache(data):
    """A TensorRT calibration cache: a header line 'TRT-<version>-<algorithm>', then 'tensor_name: hex' lines."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, (bytes, bytearray)) else data
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise PlanError("the calibration cache is empty")
    match = _HEADER.match(lines[0])
    if match is None:
        raise PlanError(f"the calibration cache's first line {lines[0][:60]!r} is not a TensorRT cache header ('TRT-<version>-<algorithm>')")
    scales = {}
    for number, line in enumerate(lines[1:], start=2):
        name, sep, value = line.rpartition(":")
        if not sep or not re.fullmatch(r"[0-9a-fA-F]{1,8}", value.strip()):
            raise PlanError(f"calibration cache line {number} {line[:60]!r} is not 'tensor_name: hex'")
        scales[name.strip()] = value.strip()
    return CalibrationCache(lines[0], tensorrt_version_of(int(match.group(1))), match.group(2), scales)


@dataclasses.dataclass(frozen=True)
class CacheFit:
    missing_inputs: list
    missing: list
    checked: int
    warnings: list


def _examples(names, n=5):
    shown = ", ".join(names[:n])
    return shown + (f" (and {len(names) - n} more)" if len(names) > n else "")


def check_calibration_cache(cache, uri, input_names, tensor_names, tensorrt_version=None):
    """Checks a cache against the network before building; raises PlanError when it does not fit.

    input_names: the network's inputs; tensor_names: its floating-point tensors (inputs and layer
    outputs), the ones INT8 calibration gives scales. A cache fits when every input and at least half
    of those tensors have a scale; scales cached for other tensors are ignored by TensorRT.
    """
    missing_inputs = [n for n in input_names if n not in cache.scales]
    missing = [n for n in tensor_names if n not in cache.scales]
    warnings = []
    if tensorrt_version is not None and cache.tensorrt_version.split(".")[:2] != str(tensorrt_version).split(".")[:2]:
        warnings.append(
            f"calibration cache {uri} was written by TensorRT {cache.tensorrt_version}, this builder is TensorRT {tensorrt_version}; "
            "TensorRT does not promise that caches carry across releases"
        )
    if missing_inputs or len(missing) * 2 > len(tensor_names):
        others = [n for n in cache.scales if n not in set(tensor_names)]
        raise PlanError(
            f"calibration cache {uri} (header {cache.header}: written by TensorRT {cache.tensorrt_version}) does not fit this network: "
            f"{len(missing_inputs)} of {len(input_names)} inputs"
            + (f" ({_examples(missing_inputs)})" if missing_inputs else "")
            + f" and {len(missing)} of {len(tensor_names)} tensors have no scale in it"
            + (f" (e.g. {_examples(missing)})" if missing else "")
            + f"; it holds {len(cache.scales)} scales"
            + (f", for names such as {_examples(others, 3)}" if others else "")
            + ". A cache is tied to the network's tensor names and to the TensorRT release that wrote it; give calibration data "
            f"(models[].calibration.data, an .npz of input arrays) to calibrate and write a new cache ({DOCS})"
        )
    return CacheFit(missing_inputs, missing, len(tensor_names), warnings)


# --- calibration data ----------------------------------------------------------------------------

def calibration_batches(calibration, arrays, opt_shapes, uri="calibration data"):
    """How many batches the calibration data gives, checked against the calibration profile.

    arrays: {name: shape} of the .npz; opt_shapes: {input name: opt shape} of the calibration
    profile (TensorRT calibrates a dynamic-shape network at the opt shapes of one profile). Each
    input needs an [N, ...] array whose trailing dimensions are the opt shape's; rows past the
    last whole batch are not used.
    """
    missing = [name for name in opt_shapes if name not in arrays]
    if missing:
        raise PlanError(f"{uri} has no array for input(s) {', '.join(missing)}; it has {', '.join(sorted(arrays)) or 'none'} (numpy.savez(path, **{{input_name: array}}))")
    rows = set()
    for name, opt in opt_shapes.items():
        shape = tuple(arrays[name])
        if tuple(shape[1:]) != tuple(opt[1:]):
            raise PlanError(f"{uri}: array {name!r} has shape {list(shape)}; calibration at the opt shapes needs [N, {', '.join(str(d) for d in opt[1:])}]")
        rows.add(shape[0])
    if len(rows) != 1:
        raise PlanError(f"{uri}: the input arrays have different row counts {sorted(rows)}; give every input the same N")
    (n,) = rows
    if n < calibration.batch_size:
        raise PlanError(f"{uri} has {n} rows; calibration at batch {calibration.batch_size} needs at least that many (a few hundred is usual)")
    return n // calibration.batch_size


# --- sources -----------------------------------------------------------------------------------

def unpack_transformers_archive(archive, dest):
    """Extracts a Transformers model archive (.tar.gz, .tgz, .tar or .zip) and returns the directory holding config.json."""
    os.makedirs(dest, exist_ok=True)
    root = os.path.realpath(dest)

    def inside(name):
        target = os.path.realpath(os.path.join(root, name))
        if target != root and not target.startswith(root + os.sep):
            raise PlanError(f"the model archive holds {name!r}, outside its directory; re-create the archive from the model directory")

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                inside(name)
            z.extractall(root)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            for member in t.getmembers():
                inside(member.name)
                if not (member.isfile() or member.isdir()):
                    raise PlanError(f"the model archive holds {member.name!r}, which is not a file or directory (links are refused)")
            if hasattr(tarfile, "data_filter"):  # Python 3.12, and 3.10.12 / 3.11.4 backports
                t.extractall(root, filter="data")
            else:
                t.extractall(root)
    else:
        raise PlanError("the model source is not a .tar(.gz) or .zip archive of a Transformers model directory (save_pretrained)")
    found = sorted(dirpath for dirpath, _, files in os.walk(root) if "config.json" in files)
    if not found:
        raise PlanError("the model archive has no config.json: archive the directory that save_pretrained wrote")
    return min(found, key=len)


# --- dependencies ------------------------------------------------------------------------------

def required_modules(plan):
    """The Python modules the plan needs, with why (the builder image must carry them: no egress at run time)."""
    needed = [("tensorrt", "build the engine"), ("numpy", "build the engine"), ("google.cloud.storage", "read sources and write the engine (gs://)")]
    if plan.export is not None:
        needed += [("torch", "export the Transformers model"), ("transformers", "export the Transformers model"), ("onnx", "check the exported model")]
    if plan.calibration is not None:
        needed.append(("polygraphy", "feed INT8 calibration (its Calibrator)"))
    return needed


def missing_modules(plan, find_spec=importlib.util.find_spec):
    missing = []
    for module, why in required_modules(plan):
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append((module, why))
    return missing


def missing_modules_message(missing):
    what = "; ".join(f"{m} (to {why})" for m, why in missing)
    return (
        f"the engine builder image lacks Python packages: {what}. The Job installs nothing at run time (private clusters have no "
        f"egress): build and push deploy/images/engine-builder for this Triton release and run again ({DOCS})"
    )


def main(argv):
    if argv[1:] != ["check-deps"]:
        print("usage: engine_plan.py check-deps   (reads BUILD_PLAN from the environment)", file=sys.stderr)
        return 2
    try:
        plan = load_plan(os.environ.get("BUILD_PLAN", ""))
    except PlanError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    missing = missing_modules(plan)
    if missing:
        print(f"error: {missing_modules_message(missing)}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

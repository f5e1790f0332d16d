"""engine_plan.py: the build plan, shape resolution, calibration cache and data checks, archives, dependencies.

Standard library only (runs on CI without TensorRT, numpy or pip installs):
    python3 -m unittest discover -s deploy/jobs/tests
ENGINE_PLAN_FIXTURES, when set, is a directory of BUILD_PLAN JSON files written by the pipeline's
own planner (test/unit/deploy/engine-scripts.test.ts): they must load as they are.
"""
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
JOBS = os.path.dirname(HERE)
sys.path.insert(0, JOBS)

import engine_plan  # noqa: E402
from engine_plan import PlanError  # noqa: E402

GIB = 1 << 30


def resnet_plan(**changes):
    plan = {
        "version": 1,
        "model": "resnet50",
        "gpu": "nvidia-tesla-t4",
        "source": {"uri": "gs://models/resnet50-v1-12.onnx", "format": "onnx"},
        "export": None,
        "profiles": [
            {"batch": {"min": 1, "opt": 8, "max": 32}, "sequence": None},
            {"batch": {"min": 1, "opt": 16, "max": 32}, "sequence": None},
            {"batch": {"min": 1, "opt": 32, "max": 32}, "sequence": None},
        ],
        "precision": {"mode": "int8", "builderFlags": ["INT8", "FP16"]},
        "calibration": {"cache": "gs://models/resnet50.cache", "data": None, "profile": 2, "batchSize": 32, "onCacheMismatch": "fail", "algorithm": "entropy2"},
        "workspaceBytes": 4 * GIB,
    }
    plan.update(changes)
    return plan


def bert_plan(**changes):
    seq = {"min": 384, "opt": 384, "max": 384}
    plan = {
        "version": 1,
        "model": "bert-large",
        "gpu": "nvidia-tesla-t4",
        "source": {"uri": "gs://models/bert-large-squad2.tar.gz", "format": "transformers"},
        "export": {
            "exporter": "torch.onnx.export",
            "opset": 17,
            "inputs": ["input_ids", "attention_mask", "token_type_ids"],
            "outputs": ["start_logits", "end_logits"],
            "dynamicAxes": {"0": "batch", "1": "sequence"},
            "inputDtype": "int32",
            "sampleShape": [2, 384],
        },
        "profiles": [{"batch": {"min": 1, "opt": 16, "max": 16}, "sequence": seq}],
        "precision": {"mode": "int8", "builderFlags": ["INT8", "FP16"]},
        "calibration": {"cache": None, "data": "gs://models/squad-384.npz", "profile": 0, "batchSize": 16, "onCacheMismatch": "fail", "algorithm": "entropy2"},
        "workspaceBytes": 4 * GIB,
    }
    plan.update(changes)
    return plan


def load(plan):
    return engine_plan.load_plan(json.dumps(plan))


RESNET_INPUTS = [("data", (-1, 3, 224, 224))]
BERT_INPUTS = [("input_ids", (-1, -1)), ("attention_mask", (-1, -1)), ("token_type_ids", (-1, -1))]


class LoadPlan(unittest.TestCase):
    def test_resnet_int8_with_a_cache(self):
        plan = load(resnet_plan())
        self.assertEqual(plan.builder_flags, ["INT8", "FP16"])
        self.assertIsNone(plan.export)
        self.assertEqual([p.batch.opt for p in plan.profiles], [8, 16, 32])
        self.assertEqual(plan.calibration.cache, "gs://models/resnet50.cache")
        self.assertEqual(plan.workspace_bytes, 4 * GIB)

    def test_bert_is_exported_first(self):
        plan = load(bert_plan())
        self.assertEqual(plan.export.inputs, ["input_ids", "attention_mask", "token_type_ids"])
        self.assertEqual(plan.export.opset, 17)
        self.assertEqual(plan.profiles[0].sequence, engine_plan.Range(384, 384, 384))

    def test_int8_without_calibration_is_refused_with_what_to_do(self):
        with self.assertRaises(PlanError) as caught:
            load(resnet_plan(calibration=None))
        self.assertIn("INT8 engine needs calibration", str(caught.exception))
        self.assertIn("calibration.data", str(caught.exception))

    def test_refusals(self):
        cases = [
            (resnet_plan(version=2), "version 2"),
            (resnet_plan(precision={"mode": "int8", "builderFlags": ["INT8"]}), "INT8"),
            (resnet_plan(precision={"mode": "fp16", "builderFlags": ["FP16"]}), "calibration is for INT8"),
            (resnet_plan(source={"uri": "gs://m/x.zip", "format": "tf-checkpoint"}), "tf-checkpoint"),
            (bert_plan(export=None), "needs export"),
            (resnet_plan(profiles=[]), "no optimization profile"),
            (resnet_plan(profiles=[{"batch": {"min": 8, "opt": 4, "max": 32}, "sequence": None}]), "min <= opt <= max"),
            (resnet_plan(calibration={**resnet_plan()["calibration"], "batchSize": 8}), "opt batch"),
            (bert_plan(profiles=[{"batch": {"min": 1, "opt": 16, "max": 16}, "sequence": None}], calibration=None, precision={"mode": "fp16", "builderFlags": ["FP16"]}), "sequence dimension"),
        ]
        for plan, message in cases:
            with self.subTest(message=message), self.assertRaises(PlanError) as caught:
                load(plan)
            self.assertIn(message, str(caught.exception))
        with self.assertRaises(PlanError):
            engine_plan.load_plan("{not json")

    def test_plans_written_by_the_pipeline_load(self):
        fixtures = os.environ.get("ENGINE_PLAN_FIXTURES")
        if not fixtures:
            self.skipTest("ENGINE_PLAN_FIXTURES not set (the node test sets it)")
        names = sorted(os.listdir(fixtures))
        self.assertTrue(names)
        for name in names:
            with self.subTest(name=name), open(os.path.join(fixtures, name)) as f:
                text = f.read()
                expected_error = json.loads(text).get("expectError")
                if expected_error:
                    with self.assertRaises(PlanError) as caught:
                        engine_plan.load_plan(json.dumps(json.loads(text)["plan"]))
                    self.assertIn(expected_error, str(caught.exception))
                    continue
                plan = engine_plan.load_plan(text)
                inputs = BERT_INPUTS if plan.export is not None else RESNET_INPUTS
                self.assertEqual(len(engine_plan.network_profile_shapes(plan, inputs)), len(plan.profiles))


class ProfileShapes(unittest.TestCase):
    def test_resnet_profiles_keep_each_batch_triple(self):
        shapes = engine_plan.network_profile_shapes(load(resnet_plan()), RESNET_INPUTS)
        self.assertEqual(
            [s["data"] for s in shapes],
            [
                ((1, 3, 224, 224), (8, 3, 224, 224), (32, 3, 224, 224)),
                ((1, 3, 224, 224), (16, 3, 224, 224), (32, 3, 224, 224)),
                ((1, 3, 224, 224), (32, 3, 224, 224), (32, 3, 224, 224)),
            ],
        )

    def test_bert_sequence_comes_from_the_plan(self):
        (shapes,) = engine_plan.network_profile_shapes(load(bert_plan()), BERT_INPUTS)
        for name, _ in BERT_INPUTS:
            self.assertEqual(shapes[name], ((1, 384), (16, 384), (16, 384)))

    def test_unresolvable_dimensions_are_clear_errors(self):
        resnet = load(resnet_plan())
        cases = [
            ([("data", (1, 3, 224, 224))], "fixed batch dimension 1"),
            ([("input_ids", (-1, -1))], "set models[].sequenceLength"),
            ([("image", (-1, 3, -1, -1))], "dynamic dimension 2"),
            ([("scalar", ())], "scalar"),
        ]
        for inputs, message in cases:
            with self.subTest(message=message), self.assertRaises(PlanError) as caught:
                engine_plan.network_profile_shapes(resnet, inputs)
            self.assertIn(message, str(caught.exception))


# A cache in the format TensorRT 7.1 wrote for the sample's older ResNet50 ONNX model (its tensor
# names), and one for resnet50-v1-12.onnx's names: the values are made up, the names are the point.
SAMPLE_CACHE = b"TRT-7103-EntropyCalibration2\ngpu_0/data_0: 3c010a14\ngpu_0/conv1_1: 3d8d2c31\ngpu_0/res_conv1_bn_1: 3d9d6c81\ngpu_0/pool1_1: 3d9d6c81\n"
V12_TENSORS = ["data", "resnetv17_conv0_fwd", "resnetv17_batchnorm0_fwd", "resnetv17_relu0_fwd", "resnetv17_pool0_fwd", "resnetv17_dense0_fwd"]


class CalibrationCache(unittest.TestCase):
    def test_header_names_the_tensorrt_release(self):
        for header, version in [("TRT-7103-EntropyCalibration2", "7.1.3"), ("TRT-8601-EntropyCalibration2", "8.6.1"), ("TRT-100300-EntropyCalibration2", "10.3.0")]:
            with self.subTest(header=header):
                cache = engine_plan.parse_calibration_cache(f"{header}\nx: 3c010a14\n".encode())
                self.assertEqual(cache.tensorrt_version, version)
                self.assertEqual(cache.algorithm, "EntropyCalibration2")
        self.assertEqual(engine_plan.parse_calibration_cache(SAMPLE_CACHE).scales["gpu_0/conv1_1"], "3d8d2c31")

    def test_malformed_caches(self):
        for data, message in [(b"", "empty"), (b"hello\nx: 1\n", "not a TensorRT cache header"), (b"TRT-8601-EntropyCalibration2\nno scale here\n", "line 2")]:
            with self.subTest(message=message), self.assertRaises(PlanError) as caught:
                engine_plan.parse_calibration_cache(data)
            self.assertIn(message, str(caught.exception))

    def test_the_samples_tensorrt_7_cache_does_not_fit_resnet50_v1_12(self):
        cache = engine_plan.parse_calibration_cache(SAMPLE_CACHE)
        with self.assertRaises(PlanError) as caught:
            engine_plan.check_calibration_cache(cache, "gs://models/resnet50.cache", ["data"], V12_TENSORS, "10.3.0")
        message = str(caught.exception)
        for part in ["gs://models/resnet50.cache", "TensorRT 7.1.3", "1 of 1 inputs (data)", "6 of 6 tensors", "resnetv17_conv0_fwd", "gpu_0/data_0", "calibration data", "calibration.data"]:
            self.assertIn(part, message)

    def test_a_cache_of_this_network_fits(self):
        lines = "".join(f"{name}: 3c010a14\n" for name in V12_TENSORS[:4])
        cache = engine_plan.parse_calibration_cache(f"TRT-100300-EntropyCalibration2\n{lines}".encode())
        fit = engine_plan.check_calibration_cache(cache, "gs://c", ["data"], V12_TENSORS, "10.3.0")
        self.assertEqual(fit.missing, V12_TENSORS[4:])
        self.assertEqual(fit.warnings, [])
        older = engine_plan.parse_calibration_cache(f"TRT-8601-EntropyCalibration2\n{lines}".encode())
        warned = engine_plan.check_calibration_cache(older, "gs://c", ["data"], V12_TENSORS, "10.3.0")
        self.assertIn("TensorRT 8.6.1", warned.warnings[0])

    def test_a_cache_missing_an_input_or_most_tensors_fails(self):
        names = "".join(f"{name}: 3c010a14\n" for name in V12_TENSORS[1:])
        cache = engine_plan.parse_calibration_cache(f"TRT-100300-EntropyCalibration2\n{names}".encode())
        with self.assertRaisesRegex(PlanError, "1 of 1 inputs"):
            engine_plan.check_calibration_cache(cache, "gs://c", ["data"], V12_TENSORS)
        few = engine_plan.parse_calibration_cache(b"TRT-100300-EntropyCalibration2\ndata: 3c010a14\nresnetv17_conv0_fwd: 3c010a14\n")
        with self.assertRaisesRegex(PlanError, "4 of 6 tensors"):
            engine_plan.check_calibration_cache(few, "gs://c", ["data"], V12_TENSORS)


class CalibrationData(unittest.TestCase):
    def setUp(self):
        self.bert = load(bert_plan()).calibration
        self.opt = {"input_ids": (16, 384), "attention_mask": (16, 384), "token_type_ids": (16, 384)}

    def test_whole_batches_at_the_opt_shape(self):
        arrays = {name: (100, 384) for name in self.opt}
        self.assertEqual(engine_plan.calibration_batches(self.bert, arrays, self.opt), 6)

    def test_refusals(self):
        cases = [
            ({"input_ids": (100, 384)}, "no array for input(s) attention_mask, token_type_ids"),
            ({name: (100, 128) for name in self.opt}, "needs [N, 384]"),
            ({**{name: (100, 384) for name in self.opt}, "input_ids": (90, 384)}, "different row counts"),
            ({name: (8, 384) for name in self.opt}, "has 8 rows"),
        ]
        for arrays, message in cases:
            with self.subTest(message=message), self.assertRaises(PlanError) as caught:
                engine_plan.calibration_batches(self.bert, arrays, self.opt, "gs://models/squad-384.npz")
            self.assertIn(message, str(caught.exception))


class TransformersArchive(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def _tar(self, members):
        path = os.path.join(self.tmp.name, "model.tar.gz")
        with tarfile.open(path, "w:gz") as t:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        return path

    def test_tar_and_zip_archives_unpack_to_the_model_directory(self):
        model_dir = engine_plan.unpack_transformers_archive(self._tar({"bert/config.json": b"{}", "bert/model.safetensors": b"w"}), os.path.join(self.tmp.name, "a"))
        self.assertTrue(os.path.isfile(os.path.join(model_dir, "model.safetensors")))
        path = os.path.join(self.tmp.name, "model.zip")
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("config.json", "{}")
        self.assertEqual(engine_plan.unpack_transformers_archive(path, os.path.join(self.tmp.name, "b")), os.path.realpath(os.path.join(self.tmp.name, "b")))

    def test_refusals(self):
        with self.assertRaisesRegex(PlanError, "outside its directory"):
            engine_plan.unpack_transformers_archive(self._tar({"../evil/config.json": b"{}"}), os.path.join(self.tmp.name, "c"))
        with self.assertRaisesRegex(PlanError, "no config.json"):
            engine_plan.unpack_transformers_archive(self._tar({"weights.bin": b"w"}), os.path.join(self.tmp.name, "d"))
        plain = os.path.join(self.tmp.name, "plain.onnx")
        with open(plain, "wb") as f:
            f.write(b"not an archive")
        with self.assertRaisesRegex(PlanError, "not a .tar"):
            engine_plan.unpack_transformers_archive(plain, os.path.join(self.tmp.name, "e"))


class Dependencies(unittest.TestCase):
    def test_what_each_plan_needs(self):
        modules = lambda plan: [m for m, _ in engine_plan.required_modules(load(plan))]  # noqa: E731
        self.assertEqual(modules(resnet_plan()), ["tensorrt", "numpy", "google.cloud.storage", "polygraphy"])
        self.assertEqual(modules(resnet_plan(precision={"mode": "fp16", "builderFlags": ["FP16"]}, calibration=None)), ["tensorrt", "numpy", "google.cloud.storage"])
        self.assertEqual(modules(bert_plan()), ["tensorrt", "numpy", "google.cloud.storage", "torch", "transformers", "onnx", "polygraphy"])

    def test_missing_packages_are_named_with_what_to_do(self):
        missing = engine_plan.missing_modules(load(bert_plan()), find_spec=lambda m: None if m in ("torch", "transformers") else object())
        self.assertEqual([m for m, _ in missing], ["torch", "transformers"])
        message = engine_plan.missing_modules_message(missing)
        self.assertIn("torch (to export the Transformers model)", message)
        self.assertIn("deploy/images/engine-builder", message)

    def test_check_deps_exits_3_on_a_machine_without_tensorrt(self):
        env = {**os.environ, "BUILD_PLAN": json.dumps(resnet_plan())}
        run = subprocess.run([sys.executable, os.path.join(JOBS, "engine_plan.py"), "check-deps"], env=env, capture_output=True, text=True)
        if engine_plan.missing_modules(load(resnet_plan())):
            self.assertEqual(run.returncode, 3, run.stderr)
            self.assertIn("engine builder image lacks Python packages", run.stderr)
        else:
            self.assertEqual(run.returncode, 0, run.stderr)
        bad = subprocess.run([sys.executable, os.path.join(JOBS, "engine_plan.py"), "check-deps"], env={**env, "BUILD_PLAN": "{}"}, capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("BUILD_PLAN", bad.stderr)


class Scripts(unittest.TestCase):
    def test_every_job_script_compiles(self):
        for name in sorted(os.listdir(JOBS)):
            if name.endswith(".py"):
                with self.subTest(name=name), open(os.path.join(JOBS, name)) as f:
                    compile(f.read(), name, "exec")


if __name__ == "__main__":
    unittest.main()

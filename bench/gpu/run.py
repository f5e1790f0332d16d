"""Runs a GPU benchmark plan (written by bench/gpu/plan.ts) with the real Triton on this machine's
NVIDIA GPU and brings back, per concurrency point: perf_analyzer's CSV and output, Triton's
/metrics before the point and at its end (under load), the GPU gauges sampled during it, and the
model's statistics after it.

    python3 bench/gpu/run.py PLAN.json OUT_DIR (--archive triton-gpu.zip | --triton-root DIR --perf-analyzer PATH)
        [--deadline-s 540]

--archive is what bench/gpu/pack_triton.py makes (for a machine without network); --triton-root
is an installed nvidia-pytriton's pytriton/tritonserver. Needs PyTorch with CUDA, torchvision and
transformers in this Python. Results go to OUT_DIR/gpu-run.json, rewritten after every sweep, so
a run stopped by its deadline keeps what it measured. CUDA_VISIBLE_DEVICES limits the GPUs Triton
sees (the multi-gpu plan runs once with 0 and once with 0,1); the recording keeps its value.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile

HTTP, GRPC, METRICS = 8000, 8001, 8002
GAUGES = ("nv_gpu_utilization", "nv_gpu_memory_used_bytes", "nv_gpu_power_usage")


def unpack(archive, into):
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            path = z.extract(info, into)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(path, mode & 0o777)
    root = os.path.join(into, "pytriton", "tritonserver")
    return root, os.path.join(into, "bin", "perf_analyzer")


def prepare(root):
    """The python backend's stub for this Python, and the library names perf_analyzer asks for."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = os.path.join(root, "python_backend_stubs", version, "triton_python_backend_stub")
    shutil.copy(stub, os.path.join(root, "backends", "python", "triton_python_backend_stub"))
    libs = os.path.join(os.path.dirname(os.path.dirname(root)), "nvidia_pytriton.libs")
    for wanted, prefix in (("libb64.so.0d", "libb64-"), ("libcudart.so.12", "libcudart-")):
        found = [f for f in os.listdir(libs) if f.startswith(prefix)]
        link = os.path.join(libs, wanted)
        if found and not os.path.exists(link):
            os.symlink(found[0], link)
    return libs


def get(path, port=HTTP, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.read().decode()


def post(path, body=b"{}"):
    request = urllib.request.Request(f"http://127.0.0.1:{HTTP}{path}", data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as r:
        return r.read().decode()


def load_model(name, errors):
    """Loads one model; a refusal (a config Triton rejects) is kept as Triton's reply, not raised."""
    try:
        post(f"/v2/repository/models/{name}/load")
    except urllib.error.HTTPError as refused:
        errors[name] = {"status": refused.code, "body": refused.read().decode()}


def nv_lines(text):
    """Triton's own series (nv_*), which is what the pipeline reads; the rest is process noise."""
    return "\n".join(line for line in text.splitlines() if line.startswith(("nv_", "# HELP nv_", "# TYPE nv_"))) + "\n"


def gauge_values(text):
    values = {}
    for line in text.splitlines():
        for name in GAUGES:
            if line.startswith(name + "{") or line.startswith(name + " "):
                values.setdefault(name, []).append(float(line.rsplit(" ", 1)[1]))
    return values


class Sampler(threading.Thread):
    """Scrapes /metrics every interval while a perf_analyzer run lasts."""

    def __init__(self, interval):
        super().__init__(daemon=True)
        self.interval, self.samples, self.last_text, self.stop = interval, [], None, threading.Event()
        self.started_at = time.monotonic()

    def run(self):
        while not self.stop.is_set():
            try:
                text = get("/metrics", METRICS)
                self.samples.append({"t": round(time.monotonic() - self.started_at, 2), **gauge_values(text)})
                self.last_text = text
            except OSError:
                pass
            self.stop.wait(self.interval)


def start_server(root, libs, repository, log_path):
    env = dict(os.environ, PYTHONPATH=sysconfig.get_paths()["purelib"], LD_LIBRARY_PATH=f"{libs}:{os.environ.get('LD_LIBRARY_PATH', '')}")
    argv = [
        os.path.join(root, "bin", "tritonserver"),
        f"--model-repository={repository}",
        f"--backend-directory={os.path.join(root, 'backends')}",
        "--model-control-mode=explicit",
        "--allow-gpu-metrics=true",
        "--metrics-interval-ms=500",
        f"--http-port={HTTP}", f"--grpc-port={GRPC}", f"--metrics-port={METRICS}",
        "--model-load-thread-count=16",
        "--log-verbose=0",
    ]
    log = open(log_path, "w")
    server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    for _ in range(240):
        if server.poll() is not None:
            raise SystemExit(f"tritonserver exited with {server.returncode}; see {log_path}")
        try:
            get("/v2/health/live")
            return server
        except OSError:
            time.sleep(0.5)
    raise SystemExit("tritonserver was not live after 120 s")


def instance_lines(log_path):
    """Triton's log lines that say where each model instance was created (its GPU device)."""
    with open(log_path, errors="replace") as log:
        return [line.rstrip() for line in log if "instance" in line.lower() and ("gpu" in line.lower() or "device" in line.lower())]


def measure_point(perf_analyzer, libs, model, point, workdir):
    csv = os.path.join(workdir, "perf.csv")
    if os.path.exists(csv):
        os.remove(csv)
    argv = [perf_analyzer] + [csv if a == "@CSV@" else a for a in point["argv"]]
    before = get("/metrics", METRICS)
    stats_before = json.loads(get(f"/v2/models/{model}/stats"))
    sampler = Sampler(0.5)
    sampler.start()
    started = time.monotonic()
    env = dict(os.environ, LD_LIBRARY_PATH=f"{libs}:{os.environ.get('LD_LIBRARY_PATH', '')}")
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    seconds = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    return {
        "concurrency": point["concurrency"],
        "exitCode": done.returncode,
        "seconds": round(seconds, 2),
        "csv": open(csv).read() if os.path.exists(csv) else None,
        "stdout": done.stdout[-6000:] + done.stderr[-2000:],
        "metricsBefore": nv_lines(before),
        "metricsUnderLoad": nv_lines(sampler.last_text or before),
        "gauges": sampler.samples,
        "statsBefore": stats_before,
        "stats": json.loads(get(f"/v2/models/{model}/stats")),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan")
    parser.add_argument("out")
    parser.add_argument("--archive")
    parser.add_argument("--triton-root")
    parser.add_argument("--perf-analyzer")
    parser.add_argument("--deadline-s", type=float, default=540)
    parser.add_argument("--round", type=int, help="run only this round's sweeps (a plan too long for one call)")
    parser.add_argument("--sweep", action="append", help="run only the sweep with this id (repeatable): one a deadline cut short")
    args = parser.parse_args()
    began = time.monotonic()
    plan = json.load(open(args.plan))
    workdir = tempfile.mkdtemp(prefix="gpu-bench-")
    if args.archive:
        root, perf_analyzer = unpack(args.archive, os.path.join(workdir, "triton"))
    elif args.triton_root and args.perf_analyzer:
        root, perf_analyzer = args.triton_root, args.perf_analyzer
    else:
        parser.error("give --archive, or --triton-root and --perf-analyzer")
    libs = prepare(root)
    sweeps = [s for s in plan["sweeps"] if (args.round is None or s["round"] == args.round) and (args.sweep is None or s["id"] in args.sweep)]
    if not sweeps:
        parser.error("no sweep of the plan matches --round/--sweep")
    used = {s["model"] for s in sweeps}
    plan["models"] = [m for m in plan["models"] if m["name"] in used]
    repository = os.path.join(workdir, "repository")
    model_py = os.path.join(os.path.dirname(os.path.abspath(args.plan)), plan["modelFile"])
    for model in plan["models"]:
        os.makedirs(os.path.join(repository, model["name"], "1"))
        open(os.path.join(repository, model["name"], "config.pbtxt"), "w").write(model["configPbtxt"])
        shutil.copy(model_py, os.path.join(repository, model["name"], "1", "model.py"))

    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "triton.log")
    server = start_server(root, libs, repository, log_path)
    result = {"plan": plan["name"], "gpu": subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip(), "visibleDevices": os.environ.get("CUDA_VISIBLE_DEVICES"), "startSeconds": round(time.monotonic() - began, 1), "configs": {m["name"]: m["configPbtxt"] for m in plan["models"]}, "sweeps": [], "stoppedAtDeadline": False}
    try:
        # Every model of the plan is loaded once, side by side (idle instances cost GPU memory, not
        # GPU time), so the sweeps pay no reloads.
        load_started = time.monotonic()
        load_replies = {}
        threads = [threading.Thread(target=load_model, args=(m["name"], load_replies)) for m in plan["models"]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ready = json.loads(post("/v2/repository/index"))
        result["loadSeconds"] = round(time.monotonic() - load_started, 1)
        result["models"] = {m["name"]: m.get("state") for m in ready}
        result["loadErrors"] = load_replies
        print(f"loaded in {result['loadSeconds']} s: {result['models']}", flush=True)
        for sweep in sweeps:
            if result["models"].get(sweep["model"]) != "READY":
                continue
            if result["stoppedAtDeadline"]:
                break
            points = []
            for point in sweep["points"]:
                if time.monotonic() - began > args.deadline_s:
                    result["stoppedAtDeadline"] = True
                    break
                points.append(measure_point(perf_analyzer, libs, sweep["model"], point, workdir))
            result["sweeps"].append({"id": sweep["id"], "model": sweep["model"], "round": sweep["round"], "points": points})
            result["elapsedSeconds"] = round(time.monotonic() - began, 1)
            json.dump(result, open(os.path.join(args.out, "gpu-run.json"), "w"))
            print(f"{result['elapsedSeconds']:7.1f} s  {sweep['id']}: " + ", ".join(f"c={p['concurrency']} rc={p['exitCode']}" for p in points), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        result["instanceLog"] = instance_lines(log_path)
        json.dump(result, open(os.path.join(args.out, "gpu-run.json"), "w"))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Triton Inference Server and perf_analyzer for CPU, from PyPI only, into .tools/triton (reused):
#   - tritonserver 2.51 with its python backend, as bundled by nvidia-pytriton 0.7.0
#     (manylinux_2_35; its shared libraries in nvidia_pytriton.libs);
#   - perf_analyzer from tritonclient[all] 2.51.0 (built for glibc 2.34; later wheels need 2.38),
#     linked against libb64 and libcudart, which the pytriton wheel also ships (dlopen'd CUDA stays unused);
#   - onnx and onnxruntime, which the python backend uses to run our ONNX models on the CPU.
# Its own virtual environment: pytriton pins numpy<2. Needs Python 3.8-3.12 with a shared libpython.
# Prints nothing when everything is there; .tools/bin/tritonserver and .tools/bin/perf_analyzer are wrappers.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.tools/triton"
venv="$root/venv"
stamp="$root/.installed-v2"
[ -f "$stamp" ] && [ -x .tools/bin/tritonserver ] && [ -x .tools/bin/perf_analyzer ] && exit 0

python=${PYTHON:-python3}
version=$("$python" -c 'import sys; print(f"{sys.version_info.major}.{sys.version_info.minor}")')
case "$version" in 3.8|3.9|3.10|3.11|3.12) ;; *) echo "setup-triton: Python 3.8-3.12 is needed (found $version)" >&2; exit 1 ;; esac
[ "$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("Py_ENABLE_SHARED"))')" = 1 ] ||
  { echo "setup-triton: $python has no shared libpython, which Triton's python backend loads" >&2; exit 1; }

echo "setup-triton: installing nvidia-pytriton 0.7.0, tritonclient 2.51.0, onnx, onnxruntime into $venv (once)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  nvidia-pytriton==0.7.0 "tritonclient[all]==2.51.0" numpy==1.26.4 onnx==1.22.0 onnxruntime==1.32.0 >&2

site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
libs="$site/nvidia_pytriton.libs"
server="$site/pytriton/tritonserver"
mkdir -p "$root/backends/python" "$root/lib"
cp "$server/backends/python/libtriton_python.so" "$server/backends/python/triton_python_backend_utils.py" "$root/backends/python/"
cp "$server/python_backend_stubs/$version/triton_python_backend_stub" "$root/backends/python/"
ln -sf "$(ls "$libs"/libb64-*.so.0d)" "$root/lib/libb64.so.0d"
ln -sf "$(ls "$libs"/libcudart-*.so.12*)" "$root/lib/libcudart.so.12"

mkdir -p .tools/bin
cat > .tools/bin/tritonserver <<WRAPPER
#!/usr/bin/env bash
# Triton 2.51 (from nvidia-pytriton) on the CPU; the python backend sees the venv's packages.
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export PYTHONPATH="$site\${PYTHONPATH:+:\$PYTHONPATH}"
export PATH="$venv/bin:\$PATH"
exec "$server/bin/tritonserver" --backend-directory="$root/backends" "\$@"
WRAPPER
cat > .tools/bin/perf_analyzer <<WRAPPER
#!/usr/bin/env bash
# perf_analyzer from tritonclient 2.51.0 with its shared libraries.
export LD_LIBRARY_PATH="$root/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "$venv/bin/perf_analyzer" "\$@"
WRAPPER
chmod +x .tools/bin/tritonserver .tools/bin/perf_analyzer
.tools/bin/perf_analyzer --version >/dev/null 2>&1 || { echo "setup-triton: perf_analyzer does not start: $(.tools/bin/perf_analyzer --version 2>&1 | head -3)" >&2; exit 1; }
touch "$stamp"

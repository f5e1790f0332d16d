"""Packs what bench/gpu/run.py needs from PyPI's wheels into one zip, for a GPU machine that has
Python and PyTorch but no network: tritonserver (nvidia-pytriton 0.7.0, with only the Python 3.12
python-backend stub and without its bundled libpython) and perf_analyzer (tritonclient 2.51.0).

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux_2_35_x86_64 --platform manylinux1_x86_64 -d WHEELS \
        nvidia-pytriton==0.7.0 tritonclient==2.51.0
    python3 bench/gpu/pack_triton.py WHEELS OUT.zip

The zip keeps each file's mode in its external attributes; run.py restores the run bits.
"""
import glob
import os
import sys
import zipfile

STUB_PREFIX = "pytriton/tritonserver/python_backend_stubs/"


def wanted(name):
    if name.endswith("/"):
        return None
    if name.startswith("nvidia_pytriton.libs/"):
        return None if "libpython3" in name else name
    if name.startswith(STUB_PREFIX):
        return name if name.startswith(STUB_PREFIX + "3.12/") else None
    if name.startswith("pytriton/tritonserver/"):
        return name
    if name.endswith(".data/data/bin/perf_analyzer"):
        return "bin/perf_analyzer"
    return None


def main(wheels, out):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as packed:
        for wheel in sorted(glob.glob(os.path.join(wheels, "*.whl"))):
            with zipfile.ZipFile(wheel) as source:
                for info in source.infolist():
                    target = wanted(info.filename)
                    if target is None:
                        continue
                    entry = zipfile.ZipInfo(target, date_time=info.date_time)
                    entry.external_attr = info.external_attr
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    packed.writestr(entry, source.read(info))
    print(f"{out}: {os.path.getsize(out) / 2**20:.1f} MiB")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pack_triton.py WHEELS_DIR OUT.zip")
    main(sys.argv[1], sys.argv[2])

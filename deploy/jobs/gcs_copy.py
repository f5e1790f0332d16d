"""GCS transfers for the engine-build Job (google-cloud-storage, credentials from workload identity).

download URI DEST | upload FILE URI | record PLAN_FILE RECORD_URI --engine-key ... [--summary FILE]
(writes the build record JSON that the pipeline reads to skip rebuilding the same engine).
fetch(uri, dest) is what build_onnx_engine.py reads its sources with: gs:// through the storage
API, http(s):// directly (a private cluster has no egress: keep sources in the bucket).
"""
import argparse
import base64
import datetime
import hashlib
import json
import shutil
import urllib.request

from google.cloud import storage


def blob_of(client, uri):
    bucket, _, path = uri.removeprefix("gs://").partition("/")
    return client.bucket(bucket).blob(path)


def fetch(uri, dest):
    if uri.startswith("gs://"):
        blob_of(storage.Client(), uri).download_to_filename(dest)
    elif uri.startswith(("http://", "https://")):
        with urllib.request.urlopen(uri, timeout=60) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    else:
        raise SystemExit(f"unsupported source {uri}: the engine-build Job reads gs:// (or http(s)://) URIs")
    return dest


def upload(path, uri):
    blob_of(storage.Client(), uri).upload_from_filename(path, checksum="md5")


def md5_base64(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["download", "upload", "record"])
    parser.add_argument("source")
    parser.add_argument("destination")
    for name in ["engine-key", "model", "plan-uri", "image", "gpu", "profiles", "flags", "summary"]:
        parser.add_argument(f"--{name}")
    args = parser.parse_args()
    if args.action == "download":
        fetch(args.source, args.destination)
    elif args.action == "upload":
        upload(args.source, args.destination)
    else:
        summary = {}
        if args.summary:
            with open(args.summary) as f:
                summary = json.load(f)
        record = {
            "engineKey": args.engine_key,
            "model": args.model,
            "planUri": args.plan_uri,
            "planMd5": md5_base64(args.source),
            "tensorrtImage": args.image,
            "gpu": args.gpu,
            "flags": summary.get("flags") or (args.flags or "").split(","),
            "profiles": args.profiles,
            "builtAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        for key in ("tensorrtVersion", "planBytes", "calibration", "profileShapes"):
            if key in summary:
                record[key] = summary[key]
        blob_of(storage.Client(), args.destination).upload_from_string(json.dumps(record, indent=2), content_type="application/json")


if __name__ == "__main__":
    main()

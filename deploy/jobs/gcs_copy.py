"""GCS transfers for the engine-build Job (google-cloud-storage, credentials from workload identity).

download URI DEST | upload FILE URI | record PLAN_FILE RECORD_URI --engine-key ... (writes the
build record JSON that the pipeline reads to skip rebuilding the same engine).
"""
import argparse
import base64
import datetime
import hashlib
import json

from google.cloud import storage


def blob_of(client, uri):
    bucket, _, path = uri.removeprefix("gs://").partition("/")
    return client.bucket(bucket).blob(path)


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
    for name in ["engine-key", "model", "plan-uri", "image", "gpu", "profiles", "flags"]:
        parser.add_argument(f"--{name}")
    args = parser.parse_args()
    client = storage.Client()
    if args.action == "download":
        blob_of(client, args.source).download_to_filename(args.destination)
    elif args.action == "upload":
        blob = blob_of(client, args.destination)
        blob.upload_from_filename(args.source, checksum="md5")
    else:
        record = {
            "engineKey": args.engine_key,
            "model": args.model,
            "planUri": args.plan_uri,
            "planMd5": md5_base64(args.source),
            "tensorrtImage": args.image,
            "gpu": args.gpu,
            "flags": args.flags.split(","),
            "profiles": args.profiles,
            "builtAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        blob_of(client, args.destination).upload_from_string(json.dumps(record, indent=2), content_type="application/json")


if __name__ == "__main__":
    main()

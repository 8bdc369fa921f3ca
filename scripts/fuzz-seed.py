#!/usr/bin/env python3
"""Seeds each fuzz target's corpus (fuzz/corpus/<target>/) from the samples in events/ and fuzz/seeds/.

Each target gets the inputs its parser reads in production: the okta-hook's function URL events whole, their
bodies (base64 decoded) for the envelope parser, the SQS messages' bodies for the job parser, the EventBridge
events and CloudTrail records for the watch, metadata XML and certificates for the SAML readers. Existing corpus
files are kept (libFuzzer names its finds by hash; seeds are named seed-<file>). Usage: fuzz-seed.py [target…]
"""
import base64
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SEEDS = ROOT / "fuzz" / "seeds"
CORPUS = ROOT / "fuzz" / "corpus"


def files(folder, pattern="*.json"):
    return sorted(p for p in (EVENTS / folder).glob(pattern) if p.is_file())


def hook_request():
    for path in files("okta-hook"):
        yield path.name, path.read_bytes()


def okta_envelope():
    for path in files("okta-hook"):
        event = json.loads(path.read_text())
        body = event.get("body")
        if not isinstance(body, str):
            continue
        data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
        yield path.name, data


def sqs_job():
    for path in files("propagation-check"):
        event = json.loads(path.read_text())
        for i, record in enumerate(event.get("Records", [])):
            if isinstance(record.get("body"), str):
                yield f"{path.stem}-{i}.json", record["body"].encode()
    yield from from_seeds("sqs_job")()


def eventbridge_event():
    for path in files("identity-center-watch") + files("cloudtrail"):
        yield f"{path.parent.name}-{path.name}", path.read_bytes()


def from_seeds(target):
    def seeds():
        for path in sorted((SEEDS / target).glob("*")):
            yield path.name, path.read_bytes()
    return seeds


TARGETS = {
    "hook_request": hook_request,
    "okta_envelope": okta_envelope,
    "sqs_job": sqs_job,
    "eventbridge_event": eventbridge_event,
    "saml_metadata": from_seeds("saml_metadata"),
    "x509_certificate": from_seeds("x509_certificate"),
}


def main(names):
    for name in names or TARGETS:
        if name not in TARGETS:
            sys.exit(f"unknown fuzz target {name!r}; targets: {', '.join(TARGETS)}")
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        count = 0
        for file_name, data in TARGETS[name]():
            (folder / f"seed-{file_name}").write_bytes(data)
            count += 1
        if count == 0:
            sys.exit(f"{name}: no seed found (events/ or fuzz/seeds/ moved?)")
        print(f"{name}: {count} seeds in {folder.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])

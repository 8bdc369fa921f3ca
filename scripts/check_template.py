#!/usr/bin/env python3
"""Checks template.yaml the way `sam deploy` would see it, offline.

cfn-lint alone no longer runs the SAM translator, so it misses SAM-level mistakes (a bad Runtime, a misspelled
function-URL resource in a GetAtt). This script translates SAM -> CloudFormation with aws-sam-translator (with a
policy loader that needs no network, and an S3 placeholder for local CodeUri, as `sam validate` does), then runs
cfn-lint on the result. Exit status: 0 clean, 1 with every problem printed. With --translated it prints the translated
template as JSON instead (tests/least_privilege.rs reads each function role's policies from it); --decoded prints a
plain CloudFormation template as JSON (the member role templates, for the same test).
"""

import json
import os
import subprocess
import sys
import tempfile

from cfnlint.decode import cfn_yaml
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


class OfflinePolicyLoader:
    """Resolves managed policy names without calling IAM (the template uses ARNs and SAM policy templates)."""

    def load(self):
        return {}


def translate(path):
    """The template as CloudFormation after SAM translation; raises InvalidDocumentException."""
    # The translator needs a Region for pseudo parameters; no credentials and no network are used.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = cfn_yaml.load(path)
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri", "."), str):
            props["CodeUri"] = "s3://placeholder-bucket/placeholder.zip"
        # A local state machine definition is inlined, as `sam package` would upload it.
        uri = props.get("DefinitionUri")
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(uri, str) and "://" not in uri:
            with open(os.path.join(os.path.dirname(os.path.abspath(path)), uri)) as definition:
                props["Definition"] = json.load(definition)
            del props["DefinitionUri"]
    return transform(template, {}, OfflinePolicyLoader())


def main(path):
    try:
        translated = translate(path)
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"SAM: {cause.message}")
        return 1
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(translated, out, indent=1, default=str)
    lint = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), out.name], capture_output=True, text=True)
    sys.stdout.write(lint.stdout)
    sys.stderr.write(lint.stderr)
    if lint.returncode != 0:
        return 1
    resources = translated.get("Resources", {})
    print(f"template ok: {len(resources)} CloudFormation resources after SAM translation")
    return 0


if __name__ == "__main__":
    # --translated: print the translated template as JSON and stop (the least-privilege test reads it); --decoded:
    # print a plain CloudFormation template (the member role templates) as JSON, its short-form tags expanded.
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else "template.yaml"
    if "--translated" in flags:
        json.dump(translate(path), sys.stdout, indent=1, default=str)
        sys.exit(0)
    if "--decoded" in flags:
        json.dump(cfn_yaml.load(path), sys.stdout, indent=1, default=str)
        sys.exit(0)
    sys.exit(main(path))

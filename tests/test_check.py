"""`make check`: the offline render + policy gate, end to end, per stack and on broken variants."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
import yaml

from tests.conftest import REPO_ROOT, STACKS, stack_config, stack_file
from tools import check
from tools.render import PROGRAM, render

FLOW_LOG = "aws:ec2/flowLog:FlowLog"


def run_check(*stack_files: Path, output_format: str = "text") -> subprocess.CompletedProcess:
    """The tool as `make check` runs it, in its own process."""
    return subprocess.run([sys.executable, "-m", "tools.check", "--format", output_format, *map(str, stack_files)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def broken_prod(tmp_path: Path, **changes) -> Path:
    document = yaml.safe_load(stack_file("prod").read_text())
    for key, value in changes.items():
        document["config"][f"vpc-flow-logs:{key}"] = value
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def mandatory(violations) -> set[str]:
    return {v.policy for v in violations if v.enforcement == "mandatory"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_its_mandatory_rules(rendered, stack):
    violations = check.analyze(rendered(stack))
    assert not mandatory(violations), [(v.policy, v.urn, v.message) for v in violations]


def test_lab_reports_what_the_article_breaks_on_purpose_as_advisory(rendered):
    advisory = {v.policy for v in check.analyze(rendered("lab")) if v.enforcement == "advisory"}
    assert {"ssh-not-open-to-world", "log-group-encrypted", "log-group-protected"} <= advisory


def test_make_check_prints_a_tree_and_the_summary_line():
    result = subprocess.run(["make", "--no-print-directory", "check", "STACK=lab"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.rstrip().splitlines()
    assert lines[-1].startswith("lab: ") and lines[-1].endswith("advisory violations"), lines[-1]
    resources = int(lines[-1].split()[1])
    assert resources >= 20
    nested = [line for line in lines if line.startswith("        + aws:ec2/flowLog:FlowLog")]
    assert nested and "[delete-before-replace]" in nested[0], "flow log not shown under its component"


@pytest.mark.parametrize("changes, rule", [
    ({"sshAllowedCidrs": ["0.0.0.0/0"]}, "ssh-not-open-to-world"),
    ({"trafficType": "ACCEPT"}, "flow-log-captures-rejects"),
    ({"createLogKmsKey": False}, "log-group-encrypted"),
    ({"protectLogs": False}, "log-group-protected"),
])
def test_broken_prod_copies_fail_naming_the_rule(tmp_path, changes, rule):
    result = run_check(broken_prod(tmp_path, **changes))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"[mandatory] {rule}" in result.stdout
    assert "prod: " in result.stdout.splitlines()[-1]


def variant(transformation) -> list:
    """Violations for the real program with one thing changed by a stack transformation."""
    def program():
        pulumi.runtime.register_stack_transformation(transformation)
        runpy.run_path(str(PROGRAM), run_name="__main__")
    return check.analyze(render("prod", stack_config("prod"), program=program))


def test_variant_without_a_flow_log_on_the_vpc_fails():
    def retarget(args: pulumi.ResourceTransformationArgs):
        if args.type_ == FLOW_LOG:
            # Same name-looking ID, but no reference to the VPC: the rule follows references.
            return pulumi.ResourceTransformationResult({**args.props, "vpc_id": "vpc-not-this-one"}, args.opts)
        return None
    assert "vpc-flow-logs-enabled" in mandatory(variant(retarget))


def test_variant_with_a_wildcard_role_policy_fails():
    wildcard = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})

    def widen(args: pulumi.ResourceTransformationArgs):
        if args.type_ == "aws:iam/rolePolicy:RolePolicy":
            return pulumi.ResourceTransformationResult({**args.props, "policy": wildcard}, args.opts)
        return None
    assert "flow-log-role-least-privilege" in mandatory(variant(widen))


def test_variant_without_delete_before_replace_fails():
    def update_in_place(args: pulumi.ResourceTransformationArgs):
        if args.type_ == FLOW_LOG:
            return pulumi.ResourceTransformationResult(
                args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(delete_before_replace=False)))
        return None
    assert "flow-log-replaced-not-updated" in mandatory(variant(update_in_place))


def test_invalid_stack_file_exits_2_naming_the_key(tmp_path):
    result = run_check(broken_prod(tmp_path, aggregationInterval=120))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "vpc-flow-logs:aggregationInterval" in result.stderr and "60, 600" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_stack_file_exits_2(tmp_path):
    result = run_check(tmp_path / "Pulumi.nowhere.yaml")
    assert result.returncode == 2 and "cannot read the stack file" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_format_is_one_document_with_resources_and_violations():
    result = run_check(stack_file("lab"), output_format="json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"stack", "resources", "violations", "undecided"} and document["stack"] == "lab"
    flow_log = next(r for r in document["resources"] if r["type"] == FLOW_LOG)
    assert set(flow_log) == {"urn", "type", "name", "parent", "inputs", "options", "dependencies"}
    assert flow_log["options"]["deleteBeforeReplace"] is True and "tags" not in flow_log["options"]["replaceOnChanges"]
    assert set(flow_log["options"]) == {"deleteBeforeReplace", "replaceOnChanges", "protect", "retainOnDelete",
                                        "dependsOn"}
    assert all(set(v) == {"policy", "enforcement", "urn", "message"} for v in document["violations"])


def test_secure_values_are_shown_as_secret_and_never_decrypted(tmp_path):
    document = yaml.safe_load(stack_file("lab").read_text())
    ciphertext = "AAABAKhV2MVu0ilSoHDwIZ5vDLp1"
    document["config"]["vpc-flow-logs:sshPublicKey"] = {"secure": ciphertext}
    path = tmp_path / "Pulumi.lab.yaml"
    path.write_text(yaml.safe_dump(document))
    result = run_check(path, output_format="json")
    assert ciphertext not in result.stdout + result.stderr
    key_pair = next(r for r in json.loads(result.stdout)["resources"] if r["type"] == "aws:ec2/keyPair:KeyPair")
    assert key_pair["inputs"]["publicKey"] == "[secret]", key_pair["urn"]


def test_unreadable_policy_config_exits_3_without_traceback(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "lab.json").write_text("{not json")
    monkeypatch.setattr(check, "POLICY_PACK", tmp_path)
    code, rendering, violations = check.check(stack_file("lab"))
    assert (code, rendering, violations) == (check.EXIT_GATE_BROKEN, None, [])


def test_a_four_subnet_us_east_1_stack_is_accepted_with_the_regions_real_zones(tmp_path):
    path = broken_prod(tmp_path, subnetCidrs=[f"10.20.{i}.0/24" for i in range(4)])
    document = yaml.safe_load(path.read_text())
    document["config"]["aws:region"] = "us-east-1"
    path.write_text(yaml.safe_dump(document))
    code, rendering, violations = check.check(path)
    assert code == check.EXIT_OK, [(v.policy, v.message) for v in violations]
    zones = {s.name: s.inputs["availabilityZone"] for s in rendering.by_type("aws:ec2/subnet:Subnet")}
    assert zones == {f"prod-public-{i}": f"us-east-1{letter}" for i, letter in enumerate("abcd")}, zones


def test_more_subnets_than_the_regions_real_zones_exits_2(tmp_path):
    path = broken_prod(tmp_path, subnetCidrs=[f"10.20.{i}.0/24" for i in range(4)])
    code, rendering, _ = check.check(path)
    assert (code, rendering) == (check.EXIT_CONFIG, None), "ap-northeast-1 has three zones in AWS"


def test_a_region_aws_does_not_have_exits_2_naming_it(tmp_path, capsys):
    path = broken_prod(tmp_path)
    path.write_text(path.read_text().replace("ap-northeast-1", "xx-nowhere-1"))
    code, _, _ = check.check(path)
    assert code == check.EXIT_CONFIG and "config aws:region = 'xx-nowhere-1' is not an AWS region" in \
        capsys.readouterr().err


def test_s3_destination_with_a_non_bucket_arn_exits_2_naming_key_value_and_rule(tmp_path):
    arn = "arn:aws:logs:ap-northeast-1:123456789012:log-group:x"
    result = run_check(broken_prod(tmp_path, destinations=[{"type": "cloud-watch-logs"},
                                                           {"type": "s3", "bucketArn": arn}]))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "vpc-flow-logs:destinations.bucketArn" in result.stderr and arn in result.stderr
    assert "an S3 bucket ARN" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_transit_gateway_stack_passes_the_gate(tmp_path):
    document = yaml.safe_load(stack_file("audit").read_text())
    document["config"].update({
        "vpc-flow-logs:flowLogTargets": [{"transitGatewayId": "tgw-0123456789abcdef0"}],
        "vpc-flow-logs:aggregationInterval": 60,
        "vpc-flow-logs:logFormat": "${version} ${resource-type} ${account-id} ${tgw-id} ${tgw-attachment-id} "
                                   "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} "
                                   "${start} ${end} ${log-status} ${packets-lost-no-route}",
        "vpc-flow-logs:monitoring": False,
    })
    path = tmp_path / "Pulumi.audit.yaml"
    path.write_text(yaml.safe_dump(document))
    result = run_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 mandatory violations" in result.stdout

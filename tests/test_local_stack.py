"""The `local` stack and `tools/local_stack.sh`: the emulator config covers every AWS service the
program calls, the script refuses to run without the Pulumi CLI, and the moto server it starts
listens on 127.0.0.1 only and answers the program's first call."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi_aws
import pytest

from config.settings import config_from_stack_file, settings_from_stack_file
from tests.conftest import REPO_ROOT, stack_file
from tests.moto_server import free_port
from tools.emulator import LOOPBACK, NOT_IN_MOTO, MotoMocks, moto_client
from tools.moto_local import LOCAL_STACK_FILE, _live_pid, first_call, stack_emulator, with_port
from tools.render import render, render_stack_file

SCRIPT = REPO_ROOT / "tools" / "local_stack.sh"
INSTALL_HINTS = ("curl -fsSL https://get.pulumi.com | sh", "https://www.pulumi.com/docs/install/")
# Which `aws:endpoints` key serves each Pulumi module (or module/member, where a module spans
# two services): a resource or lookup the program gains that is not here fails the test.
ENDPOINT_KEY = {
    "ec2": "ec2",
    "vpc": "ec2",
    "iam": "iam",
    "kms": "kms",
    "sns": "sns",
    "ssm": "ssm",
    "cloudwatch/logGroup": "logs",
    "cloudwatch/logMetricFilter": "logs",
    "cloudwatch/queryDefinition": "logs",
    "cloudwatch/metricAlarm": "cloudwatch",
    "cloudwatch/dashboard": "cloudwatch",
    "index/getAvailabilityZones": "ec2",
    "index/getCallerIdentity": "sts",
    "s3": "s3",
    "glue": "glue",
    "athena": "athena",
}
# Lookups the provider answers from its own tables, without calling any endpoint.
ANSWERED_BY_THE_PROVIDER = {"aws:index/getPartition:getPartition"}
FIRST_CALL = "aws:index/getAvailabilityZones:getAvailabilityZones"


def endpoint_key(token: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `ec2`, by module/member first, then module."""
    member = token.split(":")[1]
    key = ENDPOINT_KEY.get(member) or ENDPOINT_KEY.get(member.split("/")[0])
    assert key, f"{token}: no aws:endpoints key is known for it; add it to ENDPOINT_KEY"
    return key


def test_local_stack_is_the_lab_in_us_east_1_without_monitoring():
    local = settings_from_stack_file(LOCAL_STACK_FILE)
    lab = settings_from_stack_file(stack_file("lab"))
    shape = ("vpc_cidr", "subnet_cidrs", "ssh_allowed_cidrs", "http_allowed_cidrs", "instance_type",
             "traffic_type", "aggregation_interval", "log_retention_days", "log_format", "create_log_kms_key",
             "protect_logs")
    assert {field: getattr(local, field) for field in shape} == {field: getattr(lab, field) for field in shape}
    assert local.region == "us-east-1" and not local.monitoring.enabled


def test_local_stack_registers_nothing_moto_cannot_hold(rendered):
    """Why monitoring is off in `local`: its saved queries are resources moto lacks."""
    assert not {r.type for r in rendered("local").registrations} & set(NOT_IN_MOTO)
    assert {r.type for r in rendered("lab").registrations} & set(NOT_IN_MOTO)


def test_credentials_stay_out_of_config_and_the_provider_asks_aws_nothing_itself():
    config = config_from_stack_file(LOCAL_STACK_FILE)
    assert not {"aws:accessKey", "aws:secretKey", "aws:token", "aws:profile"} & set(config)
    for flag in ("skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck",
                 "skipRegionValidation"):
        assert config[f"aws:{flag}"] == "true", flag


def test_endpoint_keys_are_fields_of_the_providers_endpoint_settings():
    fields = set(inspect.signature(pulumi_aws.ProviderEndpointArgs.__init__).parameters) - {"__self__", "self"}
    endpoints = stack_emulator().endpoints
    assert set(endpoints) <= fields, sorted(set(endpoints) - fields)


@pytest.mark.parametrize("switched_on", [
    {}, {"vpc-flow-logs:createLogKmsKey": "true", "vpc-flow-logs:monitoring": "true"},
    {"vpc-flow-logs:destinations": '[{"type": "cloud-watch-logs"}, {"type": "s3", "fileFormat": "parquet"}]'},
], ids=["as is", "kms+monitoring", "s3"])
def test_endpoints_cover_every_service_the_program_calls(switched_on):
    rendering = render("local", {**config_from_stack_file(LOCAL_STACK_FILE), **switched_on})
    tokens = {r.type for r in rendering.registrations if r.type.startswith("aws:")} | set(rendering.invokes)
    assert all(r.type.startswith(("aws:", "vpcflowlogs:", "pulumi:pulumi:Stack")) for r in rendering.registrations)
    needed = {endpoint_key(token) for token in tokens - ANSWERED_BY_THE_PROVIDER}
    endpoints = stack_emulator().endpoints
    assert needed <= set(endpoints), sorted(needed - set(endpoints))


def test_endpoints_name_one_loopback_server_that_the_script_starts():
    emulator = stack_emulator()
    assert emulator.url == f"http://{LOOPBACK}:{emulator.port}"
    assert "tools.moto_local start" in SCRIPT.read_text()


def test_script_without_pulumi_prints_one_line_and_exits_1(tmp_path):
    # A checkout without .tools/bin/ (make pulumi-cli), so there is no rehearsal CLI to fall back on.
    script = tmp_path / "tools" / SCRIPT.name
    script.parent.mkdir()
    shutil.copy(SCRIPT, script)
    result = subprocess.run([shutil.which("bash"), str(script), "up"], cwd=tmp_path, env={"PATH": str(tmp_path)},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1, result
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert all(hint in line for hint in INSTALL_HINTS), line


def _listening_addresses(port: int) -> set[str]:
    """Addresses with a TCP socket listening on `port`, read from the kernel's tables."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                addresses.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
                              if len(address) == 8 else f"ipv6:{address}")
    return addresses


def test_moto_server_listens_on_loopback_only_answers_the_first_call_and_holds_the_stack(rendered, tmp_path):
    """Started as the script starts it; on a free port rather than the stack file's, so that a
    test run never collides with a `make up-local` or another run on the same machine.

    The stack is then applied through the server's HTTP API, as the provider would apply it.
    """
    assert rendered("local").invokes[0] == FIRST_CALL and endpoint_key(FIRST_CALL) == "ec2"
    port = free_port()
    moto_local = [sys.executable, "-m", "tools.moto_local"]
    started = subprocess.run([*moto_local, "start", "--port", str(port), "--state-dir", str(tmp_path)],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert _listening_addresses(port) == {LOOPBACK}
        emulator = stack_emulator()
        url = with_port(emulator.endpoints["ec2"], port)
        zones = first_call(url, emulator.region)
        assert len(zones) >= 2 and all(zone.startswith(emulator.region) for zone in zones), zones
        deployed = render_stack_file(LOCAL_STACK_FILE, MotoMocks(emulator.region, url))
        (flow_log,) = moto_client("ec2", emulator.region, url).describe_flow_logs()["FlowLogs"]
        assert flow_log["ResourceId"] == deployed.outputs["vpcId"], flow_log
    finally:
        stopped = subprocess.run([*moto_local, "stop", "--state-dir", str(tmp_path)], cwd=REPO_ROOT,
                                 capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped
    assert _listening_addresses(port) == set()


def test_moto_local_refuses_an_emulator_off_this_machine(tmp_path):
    document = LOCAL_STACK_FILE.read_text().replace("http://127.0.0.1:5000", "http://198.51.100.7:5000")
    path = tmp_path / LOCAL_STACK_FILE.name
    path.write_text(document)
    with pytest.raises(ValueError, match="is not on 127.0.0.1"):
        stack_emulator(path)


def test_a_running_moto_server_is_found_by_its_pid_whatever_columns_says(tmp_path, monkeypatch):
    """ps cuts a command line to COLUMNS when told one; a long path must not hide `moto.server`."""
    monkeypatch.setenv("COLUMNS", "80")
    long_argument = "x" * 120
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", long_argument, "moto.server"])
    try:
        pid_file = tmp_path / "moto-server.pid"
        pid_file.write_text(str(process.pid))
        assert _live_pid(pid_file) == process.pid, f"pid {process.pid} not recognised as a moto server"
    finally:
        process.kill()
        process.wait()

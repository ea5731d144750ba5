"""The rehearsal Python language host under the real CLI and engine, on a provider-free project.

These prove the substitute in .tools/bin/ does what the scenarios rely on: it runs the program
in the project's venv/ with the stack's config (secrets included), reports program errors as
Pulumi's own host does, and starts a Python policy pack with its configuration.
"""

from __future__ import annotations

import json

from tests.e2e.engine import VENV, Engine

BOX_URN = "urn:pulumi:e2e::component-check::check:index:Box::box"


def configure(engine: Engine, size: int = 3, token: str = "s3cr3t-token") -> None:
    engine.run("config", "set", "size", str(size))
    engine.run("config", "set", "--secret", "token", token)


def test_up_registers_the_component(component_engine: Engine) -> None:
    configure(component_engine)
    component_engine.run("up", "--yes")
    resources = component_engine.document("stack", "export")["deployment"]["resources"]
    urns = [resource["urn"] for resource in resources]
    assert BOX_URN in urns, f"{BOX_URN} not in the exported state: {urns}"


def test_program_runs_in_the_project_venv(component_engine: Engine) -> None:
    configure(component_engine)
    component_engine.run("up", "--yes")
    python = component_engine.document("stack", "output", "--json")["python"]
    assert python.startswith(str(component_engine.project_dir / "venv")), \
        f"output python = {python}, not the project's venv/ ({VENV} through the copy's symlink)"


def test_config_and_secrets_reach_the_program(component_engine: Engine) -> None:
    configure(component_engine, size=7, token="twelve-chars")
    component_engine.run("up", "--yes")
    plain = component_engine.document("stack", "output", "--json")
    revealed = component_engine.document("stack", "output", "--json", "--show-secrets")
    assert (plain["size"], plain["tokenLength"], revealed["tokenLength"]) == (7, "[secret]", 12), \
        f"stack outputs: {plain}, with secrets shown: {revealed}"


def error_diagnostics(events: list[dict]) -> list[str]:
    return [event["diagnosticEvent"]["message"] for event in events
            if event.get("diagnosticEvent", {}).get("severity") == "error"]


def test_run_error_is_reported_without_traceback(component_engine: Engine) -> None:
    configure(component_engine)
    component_engine.run("config", "set", "fail", "run-error")
    result, events = component_engine.events("preview", check=False)
    # The exec script exits 1 after a RunError, and the host reports that exit code, as Pulumi's own host does.
    expected = ["component-check:fail = run-error, so the program stops here\n",
                "an unhandled error occurred: program exited with non-zero exit code: 1\n"]
    assert (result.returncode, error_diagnostics(events)) == (1, expected), result.stdout
    assert "Traceback" not in result.stdout + result.stderr, f"a traceback was printed:\n{result.stdout}"


def test_unhandled_exception_is_reported_once(component_engine: Engine) -> None:
    configure(component_engine)
    component_engine.run("config", "set", "fail", "exception")
    _, events = component_engine.events("preview", check=False)
    # Exit code 32: the exec script has shown the error, so the host adds none of its own.
    errors = error_diagnostics(events)
    assert len(errors) == 1 and "component-check:fail = exception" in errors[0], f"error diagnostics: {errors}"


def test_destroy_empties_the_stack(component_engine: Engine) -> None:
    configure(component_engine)
    component_engine.run("up", "--yes")
    component_engine.run("destroy", "--yes")
    resources = component_engine.document("stack", "export")["deployment"].get("resources", [])
    assert resources == [], f"resources left after destroy: {[resource['urn'] for resource in resources]}"


def test_policy_pack_runs_with_its_config(component_engine: Engine) -> None:
    configure(component_engine, size=9)
    pack = component_engine.project_dir.parent / "box-policy.json"
    pack.write_text(json.dumps({"box-size-limit": {"maximum": 5}}))
    policies = str(component_engine.project_dir / "policies" / "box")
    result = component_engine.run("preview", "--policy-pack", policies, "--policy-pack-config", str(pack),
                                  check=False)
    assert result.returncode != 0 and "box box has size 9, above 5" in result.stdout, \
        f"preview with the box-check pack (maximum 5) exited {result.returncode}:\n{result.stdout}\n{result.stderr}"

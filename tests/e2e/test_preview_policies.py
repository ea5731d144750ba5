"""`pulumi preview` of a fresh stack under the policy pack: every rule decides before anything exists.

The engine runs a rule that reads a value unknown at preview as advisory and prints "can't run
policy" for it, so a mandatory rule would not be enforced; here no stack may leave one undecided.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import fresh_moto_server, local_stack_engine
from tests.e2e.observe import PREVIEW_NOTICE

# Stacks whose config resolves under the CLI as it is in config/.
PREVIEWED_STACKS = ("lab", "dev", "prod", "local")


@pytest.mark.parametrize("stack", PREVIEWED_STACKS)
def test_preview_of_a_fresh_stack_runs_every_policy(tmp_path: Path, stack: str) -> None:
    with fresh_moto_server() as moto_url:
        engine = local_stack_engine(tmp_path, moto_url, stack)
        result, events = engine.events("preview", "--policy-pack", "policies", "--policy-pack-config",
                                       f"policies/config/{stack}.json", check=False)
    notices = [line for line in (result.stdout + result.stderr).splitlines() if PREVIEW_NOTICE in line]
    undecided = sorted({(event["policyEvent"]["policyName"], event["policyEvent"].get("resourceUrn", ""))
                        for event in events if event.get("policyEvent", {}).get("message", "").startswith(PREVIEW_NOTICE)})
    assert result.returncode == 0 and not notices and not undecided, (
        f"`pulumi preview -s {stack}` exited {result.returncode}; policies it could not run: {undecided}\n"
        + "\n".join(notices) + f"\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")

"""Config probe: records the config and secret keys the engine hands a Python program.

It registers nothing; it writes what it received to received-config.json in the project folder,
for tests/e2e/test_config_parity.py to compare with the offline resolution.
"""

import json
from pathlib import Path

import pulumi
from pulumi.runtime import config

values = {**config.get_config_env(), **config.CONFIG.get()}
Path("received-config.json").write_text(json.dumps({
    "stack": pulumi.get_stack(),
    "values": values,
    "secret_keys": sorted(key for key in values if config.is_config_secret(key)),
}))

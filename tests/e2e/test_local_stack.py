"""The `local` stack as the real CLI reads it from a project copy: the ground the scenarios stand on."""

from __future__ import annotations

import json

from tests.e2e.engine import Engine


def test_every_endpoint_names_the_test_moto(local_engine: Engine, moto_endpoint: str) -> None:
    config = local_engine.document("config", "--json", "--stack", "local")
    endpoints = json.loads(config["aws:endpoints"]["value"])
    urls = {service: url for entry in endpoints for service, url in entry.items()}
    assert urls and set(urls.values()) == {moto_endpoint}, \
        f"aws:endpoints of the copied local stack, as `pulumi config` reads them: {urls}"

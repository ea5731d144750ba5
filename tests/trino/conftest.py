"""One local Trino node for the whole session (it takes half a minute or more to start)."""

from __future__ import annotations

from typing import Iterator

import pytest

from flowlogs.trino import TrinoEngine, local_trino


@pytest.fixture(scope="session")
def trino_engine() -> Iterator[TrinoEngine]:
    with local_trino() as engine:
        yield engine

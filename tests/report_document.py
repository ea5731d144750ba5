"""An analysis document of synthetic records, as `--format json` prints it, for the report's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from flowlogs.analyze import analyze
from tools.synth import write_synthetic


def synthetic_text(out: Path, records: int = 4000, seed: int = 7) -> Path:
    """The folder of synthetic plain-text records written under `out`."""
    write_synthetic(out, records, seed, kinds=("text",))
    return out / "text"


def analysis_document(out: Path, records: int = 4000, seed: int = 7,
                      vpc_cidr: Optional[str] = "10.0.0.0/16") -> dict[str, Any]:
    """Write synthetic records under `out` and return their analysis document, every question included."""
    return analyze(str(synthetic_text(out, records, seed)), vpc_cidr=vpc_cidr).document()

"""`make trino`: the Trino server the local engine runs, from Maven Central, checked against its pinned SHA-256.

    python -m tools.install_trino

Downloads io.trino:trino-server:476:tar.gz (783 MiB) into the git-ignored .tools/trino/, refuses
it unless its SHA-256 is the one committed in flowlogs/trino.py, unpacks it and keeps only the
plugins the local node loads (the Hive connector): about 440 MB on disk. Does nothing when that
version is already installed.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from tqdm import tqdm

from flowlogs.trino import (INSTALL_DIR, INSTALLED_STAMP, PLUGINS, SERVER_HOME, TRINO_SHA256, TRINO_TARBALL_URL,
                            TRINO_VERSION, TrinoError, installed_server)

CHUNK = 1 << 20


def download(url: str, target: Path) -> str:
    """`url` into `target` with a progress bar; the SHA-256 of what arrived."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as out, tqdm(
            total=int(response.headers.get("Content-Length") or 0) or None, unit="B", unit_scale=True,
            desc=f"downloading trino-server-{TRINO_VERSION}.tar.gz", file=sys.stderr) as bar:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def unpack(tarball: Path, into: Path) -> Path:
    """The server's folder, unpacked under `into`, with only PLUGINS left in plugin/."""
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(into, filter="data")
    home = into / f"trino-server-{TRINO_VERSION}"
    for plugin in (home / "plugin").iterdir():
        if plugin.name not in PLUGINS:
            shutil.rmtree(plugin)
    return home


def install() -> Path:
    try:
        return installed_server()
    except TrinoError:
        pass
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="download-", dir=INSTALL_DIR) as scratch:
        tarball = Path(scratch) / "trino-server.tar.gz"
        sha256 = download(TRINO_TARBALL_URL, tarball)
        if sha256 != TRINO_SHA256:
            raise TrinoError(f"{TRINO_TARBALL_URL} has SHA-256 {sha256}, not the pinned {TRINO_SHA256}; "
                             "nothing was installed")
        print(f"SHA-256 {sha256} matches the pinned one; unpacking", file=sys.stderr)
        home = unpack(tarball, Path(scratch))
        (home / INSTALLED_STAMP.name).write_text(TRINO_SHA256 + "\n")
        shutil.rmtree(SERVER_HOME, ignore_errors=True)
        home.rename(SERVER_HOME)
    return installed_server()


def main() -> int:
    try:
        home = install()
    except (TrinoError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{home}: Trino {TRINO_VERSION} (SHA-256 {TRINO_SHA256}), plugins: {', '.join(PLUGINS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

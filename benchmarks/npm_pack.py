"""Unpacked npm packages for the benchmarks (``npm pack``, once; reused by later runs)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path


def fetch_package(spec: str, work: Path) -> Path:
    """The ``package/`` folder of the npm package ``spec``, unpacked under ``work``."""
    folder = work / spec.replace("/", "__").replace("@", "-")
    package = folder / "package"
    if (package / "package.json").is_file():
        return package
    work.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = work / done.stdout.strip().splitlines()[-1]
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(folder, filter="data")
    tarball.unlink()
    return package

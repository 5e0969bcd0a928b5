"""Build the test-suite's agent image: busybox plus a scripted fake Claude Code.

No registry is needed: the image is ``FROM scratch`` with a static busybox copied
from the host (``/bin/busybox``, from the busybox-static package).  The image is
labelled with a digest of its inputs and rebuilt only when they change.

Usage from a test::

    from docker_image.build import build_test_image
    image = build_test_image()          # tag "gittask-test-agent:latest"
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEST_IMAGE_TAG = "gittask-test-agent:latest"
#: Label holding the digest of the image's inputs (Dockerfile, script, busybox).
CONTENT_LABEL = "org.gittask.test-image.content"
_INPUTS = ("Dockerfile", "fake-claude")
_BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def find_busybox() -> Path:
    """The host's static busybox; RuntimeError with how to get one otherwise."""
    candidates = [os.environ.get("GITTASK_TEST_BUSYBOX", ""), *_BUSYBOX_CANDIDATES]
    which = shutil.which("busybox")
    if which:
        candidates.append(which)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            path = Path(candidate)
            if not _is_static_elf(path):
                raise RuntimeError(
                    f"{path} is dynamically linked; the test image needs a static busybox "
                    "(apt-get install busybox-static, or set GITTASK_TEST_BUSYBOX)"
                )
            return path
    raise RuntimeError(
        "no busybox found for the test image: apt-get install busybox-static "
        "(or set GITTASK_TEST_BUSYBOX to a static busybox binary)"
    )


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a PT_INTERP (dynamic loader) header."""
    with path.open("rb") as f:
        header = f.read(64)
        if len(header) < 52 or header[:4] != b"\x7fELF":
            return False
        is64 = header[4] == 2
        endian = "<" if header[5] == 1 else ">"
        if is64:
            phoff, phentsize, phnum = (
                struct.unpack_from(endian + "Q", header, 32)[0],
                *struct.unpack_from(endian + "HH", header, 54),
            )
        else:
            phoff, phentsize, phnum = (
                struct.unpack_from(endian + "I", header, 28)[0],
                *struct.unpack_from(endian + "HH", header, 42),
            )
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        (p_type,) = struct.unpack_from(endian + "I", table, i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def content_digest(busybox: Path) -> str:
    digest = hashlib.sha256()
    for name in _INPUTS:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    digest.update(busybox.read_bytes())
    return digest.hexdigest()


def build_test_image(tag: str = TEST_IMAGE_TAG, client: Any = None) -> str:
    """Build (or reuse) the test image; return its id.

    *client* is a ``docker.DockerClient`` (default: ``docker.from_env()``).
    """
    import docker
    from docker.errors import ImageNotFound

    docker_client = client if client is not None else docker.from_env()
    busybox = find_busybox()
    digest = content_digest(busybox)
    try:
        existing = docker_client.images.get(tag)
    except ImageNotFound:
        existing = None
    if existing is not None and (existing.labels or {}).get(CONTENT_LABEL) == digest:
        return str(existing.id)

    with tempfile.TemporaryDirectory(prefix="gittask-test-image-") as context:
        ctx = Path(context)
        shutil.copyfile(busybox, ctx / "busybox")
        (ctx / "busybox").chmod(0o755)
        for name in _INPUTS:
            shutil.copyfile(HERE / name, ctx / name)
        (ctx / "fake-claude").chmod(0o755)
        image, _logs = docker_client.images.build(
            path=context,
            tag=tag,
            labels={CONTENT_LABEL: digest},
            rm=True,
            forcerm=True,
            pull=False,
        )
    return str(image.id)


if __name__ == "__main__":
    print(build_test_image())

"""A Debian base image made from Debian's packages, for engines without a registry.

``base_image = debootstrap`` (or ``build --base-from-debian``): :func:`ensure_base`
runs ``debootstrap --variant=minbase --include=git,ca-certificates <suite>``
against the machine's apt mirror into a temporary folder, drops apt's caches and
imports the tree with ``docker import`` as ``claude-container-base:<suite>``. The
image carries a label with the recipe's key, so a second build reuses it at
once. Needs root (debootstrap does) and the ``debootstrap`` package.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gittask.errors import GittaskError

if TYPE_CHECKING:
    from docker import DockerClient

SUITE = "bookworm"
PACKAGES = ("git", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
TAG_REPOSITORY = "claude-container-base"
KEY_LABEL = "gittask.base-key"
_RECIPE_VERSION = "1"

Progress = Callable[[str], None]


def base_tag(suite: str = SUITE) -> str:
    return f"{TAG_REPOSITORY}:{suite}"


def recipe_key(suite: str = SUITE, packages: tuple[str, ...] = PACKAGES) -> str:
    text = "\n".join([_RECIPE_VERSION, suite, "minbase", *sorted(packages)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def apt_mirror(etc: Path = Path("/etc/apt")) -> str:
    """The first Debian mirror this machine's apt uses (deb822 or one-line format)."""
    sources = sorted((etc / "sources.list.d").glob("*.sources")) if etc.is_dir() else []
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            if re.search(r"^Suites:.*\b(bookworm|trixie|bullseye|stable)\b", stanza, re.M | re.I):
                match = re.search(r"^URIs:\s*(\S+)", stanza, re.M | re.I)
                if match and "security" not in match.group(1):
                    return match.group(1).rstrip("/")
    lists = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for path in lists:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            match = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if match and "security" not in match.group(1):
                return match.group(1).rstrip("/")
    return DEFAULT_MIRROR


def existing_base(client: DockerClient, suite: str = SUITE) -> str | None:
    """The id of a base image made by this recipe, if the engine has it."""
    from docker.errors import DockerException

    try:
        image = client.images.get(base_tag(suite))
    except DockerException:
        return None
    labels = (image.attrs.get("Config") or {}).get("Labels") or {}
    return str(image.id) if labels.get(KEY_LABEL) == recipe_key(suite) else None


def ensure_base(
    client: DockerClient,
    suite: str = SUITE,
    progress: Progress | None = None,
    rebuild: bool = False,
) -> str:
    """The tag of the Debian base image, made now if the engine lacks it."""
    say = progress or (lambda line: None)
    tag = base_tag(suite)
    if not rebuild and existing_base(client, suite):
        say(f"base image {tag}: already made from Debian's packages")
        return tag
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").is_file() else None
    )
    if debootstrap is None:
        raise GittaskError(
            "making the base image from Debian's packages needs debootstrap",
            "install it: apt-get install debootstrap",
        )
    if os.geteuid() != 0:
        raise GittaskError(
            "debootstrap needs root to make the base image",
            "run this build once as root, or set base_image to an image your engine has",
        )
    mirror = apt_mirror()
    say(f"making {tag} from Debian's packages ({suite}, {mirror}): about a minute")
    with tempfile.TemporaryDirectory(prefix="gittask-debootstrap-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        _debootstrap(debootstrap, suite, rootfs, mirror, say)
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            folder = rootfs / leftover
            for item in folder.glob("*"):
                if item.is_file():
                    item.unlink()
        say(f"importing the root file system as {tag}")
        archive = Path(tmp) / "rootfs.tar"
        _tar(rootfs, archive)
        _import(client, archive, tag, recipe_key(suite))
    return tag


def _debootstrap(command: str, suite: str, rootfs: Path, mirror: str, say: Progress) -> None:
    argv = [
        command,
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        suite,
        str(rootfs),
        mirror,
    ]
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except OSError as exc:
        raise GittaskError(f"cannot run debootstrap: {exc}") from None
    last: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        if line:
            last = [*last, line][-3:]
            say(f"debootstrap: {line}")
    if proc.wait() != 0:
        raise GittaskError(
            f"debootstrap {suite} failed: {last[-1] if last else f'exit {proc.returncode}'}",
            f"check that the mirror {mirror} is reachable",
        )


def _tar(rootfs: Path, archive: Path) -> None:
    # GNU tar keeps device files, owners and hard links exactly as debootstrap made them
    proc = subprocess.run(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise GittaskError(f"cannot pack the Debian root file system: {proc.stderr.strip()}")


def _import(client: DockerClient, archive: Path, tag: str, key: str) -> None:
    from docker.errors import DockerException

    repository, _, name = tag.partition(":")
    changes = [
        f"LABEL {KEY_LABEL}={key}",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["/bin/bash"]',
    ]
    try:
        client.api.import_image_from_file(
            str(archive), repository=repository, tag=name, changes=changes
        )
    except DockerException as exc:
        raise GittaskError(f"docker import of {tag} failed: {exc}") from None
    if existing_base(client, tag.partition(":")[2]) is None:
        raise GittaskError(f"docker import of {tag} did not leave the image behind")

"""The contract checks' image: busybox, imported from the host's static binary.

No registry is needed: ``/bin/busybox`` (Debian's ``busybox-static``) goes into a rootfs tar
with one link per applet the checks run, and the engine imports it as :data:`BUSYBOX_TAG`.
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from agent.testing.workspace import EngineAccess, run_cli

BUSYBOX_TAG = "localhost/ca-test/busybox:latest"
BUSYBOX_BINARY = Path("/bin/busybox")
BUSYBOX_APPLETS = (
    "sh", "sleep", "echo", "cat", "httpd", "nc", "env", "pwd", "hostname", "ls", "touch",
    "mkdir", "id", "true", "false", "wget", "kill", "ps", "printf",
)  # fmt: skip


def image_exists(engine: EngineAccess, image: str) -> bool:
    return run_cli(engine, "image", "inspect", image, check=False).returncode == 0


def _tarinfo(name: str, kind: bytes, mode: int, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.mtime = kind, mode, target, 0
    info.uname = info.gname = "root"
    return info


def write_busybox_rootfs(tar_path: Path, busybox: Path = BUSYBOX_BINARY) -> Path:
    """A rootfs tar: /bin/busybox, /bin/APPLET -> busybox, /tmp (1777)."""
    if not busybox.is_file():
        raise FileNotFoundError(f"{busybox} missing: apt-get install busybox-static")
    with tarfile.open(tar_path, "w") as tar:
        tar.addfile(_tarinfo("bin", tarfile.DIRTYPE, 0o755))
        tar.addfile(_tarinfo("tmp", tarfile.DIRTYPE, 0o1777))
        info = _tarinfo("bin/busybox", tarfile.REGTYPE, 0o755)
        info.size = busybox.stat().st_size
        with busybox.open("rb") as src:
            tar.addfile(info, src)
        for applet in BUSYBOX_APPLETS:
            tar.addfile(_tarinfo(f"bin/{applet}", tarfile.SYMTYPE, 0o777, "busybox"))
    return tar_path


def build_busybox_image(engine: EngineAccess, tag: str = BUSYBOX_TAG) -> str:
    """Import a busybox image as ``tag`` unless it exists already; returns ``tag``."""
    if image_exists(engine, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="ca-busybox-") as tmp:
        tar = write_busybox_rootfs(Path(tmp) / "rootfs.tar")
        changes = ["--change", 'CMD ["sh"]', "--change", "ENV PATH=/bin"]
        run_cli(engine, "import", *changes, str(tar), tag)
    return tag

"""Signed manifests: a fetched body replaces the content in force only when a detached
OpenSSH signature (``ssh-keygen -Y sign -n container-agent``) verifies it against one of the
configured public keys, and when it is not older than the body in force.

Verification runs ``ssh-keygen -Y verify`` (OpenSSH's sshsig), the tool that made the
signature, rather than a re-implementation of the format: operators already have it, and
it knows every key type they may sign with. Keys are OpenSSH public keys (``.pub`` lines);
several may be configured at once, so that a rotated key overlaps the old one.

Replays: the signed body must hold a line ``# serial: N`` (a YAML comment, so that it is
part of what is signed and no part of the manifest). A body whose serial is lower than that
of the last body accepted from the same source is refused, and so is another body with the
same serial: an old, validly signed body served again cannot roll a host back. The daemon
keeps the serials in its state dir, so a restart does not forget them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence

from agent.errors import FieldError, ManifestError, SettingsError
from agent.sources.url_poller import Fetcher
from agent.sources.urls import UrlFetchError

__all__ = [
    "SIGNATURE_NAMESPACE",
    "SignatureError",
    "SignedFetcher",
    "read_signature_keys",
    "serial_of",
    "verify",
]

SIGNATURE_NAMESPACE = "container-agent"
"""The namespace of ``ssh-keygen -Y sign -n``: a signature made for another use is refused."""
_SERIAL = re.compile(rb"^#\s*serial:\s*([0-9]{1,18})\s*$", re.MULTILINE)
_KEY = re.compile(r"(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+={0,3}")
_MAX_SIGNATURE = 16 * 1024


class SignatureError(ManifestError):
    """A body refused for its signature: missing, bad, by no configured key, or a replay."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(source, [FieldError("signature", problem)])


def read_signature_keys(paths: Sequence[str]) -> tuple[str, ...]:
    """The public keys (``TYPE BASE64``) in OpenSSH ``.pub`` files; SettingsError when a file
    cannot be read or holds no key, or when ``ssh-keygen`` is not installed."""
    keys: list[str] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.read(64 * 1024).splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError("signature_key", f"cannot read {path}: {exc}") from None
        found = [" ".join(line.split()[:2]) for line in lines if line.strip()[:1] not in ("", "#")]
        if not found or not all(_KEY.fullmatch(key) for key in found):
            raise SettingsError(
                "signature_key", f"{path} must hold OpenSSH public keys ('ssh-ed25519 AAAA...')"
            )
        keys.extend(found)
    if keys and shutil.which("ssh-keygen") is None:
        raise SettingsError(
            "signature_key", "ssh-keygen is needed to verify signatures: install openssh-client"
        )
    return tuple(keys)


def serial_of(body: bytes) -> int | None:
    """The serial of a body (its line ``# serial: N``), or None."""
    found = _SERIAL.findall(body)
    return int(found[0]) if len(found) == 1 else None


def verify(body: bytes, signature: bytes, keys: Sequence[str], source: str) -> None:
    """Check that ``signature`` (armored sshsig) is of ``body``, in the agent's namespace, by
    one of ``keys``; SignatureError naming ``source`` when it is not."""
    if b"-----BEGIN SSH SIGNATURE-----" not in signature or len(signature) > _MAX_SIGNATURE:
        raise SignatureError(source, "not an SSH signature (ssh-keygen -Y sign)")
    with tempfile.TemporaryDirectory(prefix="agent-sig-") as directory:
        signers = os.path.join(directory, "allowed_signers")
        with open(signers, "w", encoding="utf-8") as handle:
            for key in keys:
                handle.write(f'agent namespaces="{SIGNATURE_NAMESPACE}" {key}\n')
        signature_file = os.path.join(directory, "body.sig")
        with open(signature_file, "wb") as handle:
            handle.write(signature)
        command = ["ssh-keygen", "-Y", "verify", "-f", signers, "-I", "agent"]
        command += ["-n", SIGNATURE_NAMESPACE, "-s", signature_file]
        try:
            done = subprocess.run(
                command,
                input=body,
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SignatureError(source, f"ssh-keygen could not verify: {exc}") from None
    if done.returncode != 0:
        raise SignatureError(source, "does not verify against any configured key (--signature-key)")


class SignedFetcher:
    """A :class:`~agent.sources.url_poller.Fetcher` whose bodies must be signed: each new body is
    returned only once its signature (fetched by ``signature``, unconditionally) verifies
    and its serial is higher than ``serial``, the last accepted (kept over restarts by
    ``on_accept``). A refused body raises SignatureError, and the next fetch asks for the
    body afresh, so the refusal lasts as long as its cause."""

    def __init__(
        self,
        body: Fetcher,
        signature: Fetcher,
        keys: Sequence[str],
        serial: int | None = None,
        on_accept: Callable[[int], None] | None = None,
    ) -> None:
        self.body = body
        self.signature = signature
        self.keys = tuple(keys)
        self.serial = serial
        self.on_accept = on_accept
        self._accepted: bytes | None = None
        self._refused = False

    @property
    def name(self) -> str:
        return self.body.name

    def fetch(self, conditional: bool = True) -> bytes | None:
        body = self.body.fetch(conditional=conditional and not self._refused)
        if body is None or body == self._accepted:
            self._refused = False
            return None if body is None or conditional else body
        self._refused = True
        try:
            signature = self.signature.fetch(conditional=False)
        except UrlFetchError as exc:
            raise SignatureError(self.name, f"signature missing: {exc}") from None
        if not signature:
            raise SignatureError(self.name, "signature missing: empty")
        verify(body, signature, self.keys, self.name)
        serial = serial_of(body)
        if serial is None:
            raise SignatureError(self.name, "a signed body must hold one line '# serial: N'")
        if self.serial is not None and serial <= self.serial:
            raise SignatureError(
                self.name,
                f"serial {serial} is not above {self.serial}, that of the body in force "
                "(a replayed older body is refused)",
            )
        self.serial, self._accepted, self._refused = serial, body, False
        if self.on_accept is not None:
            self.on_accept(serial)
        return body

"""How long agent.manifest.parse.parse_document takes, and how much memory, to read or refuse
hostile and large inputs.

Each case runs in a fresh child process: the input is built there, the peak
resident size is reset (Linux ``/proc/self/clear_refs``), the document is parsed
once, and the wall time and the growth of the peak resident size are reported.

    python benchmarks/parse_limits.py                  # every case, as a table
    python benchmarks/parse_limits.py --case laughs    # one case
    python benchmarks/parse_limits.py --module mod     # another parse_document (to compare)
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable

MB = 1024 * 1024


def _status(field: str) -> int:
    """A ``/proc/self/status`` size in bytes (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _containers(count: int) -> bytes:
    """A valid manifest of ``count`` containers, each with a port, an env var and a mount."""
    lines = ["version: v1beta1", "volumes:", "  - name: data", "containers:"]
    for i in range(count):
        lines += [
            f"  - name: app-{i}",
            f"    image: registry.example.com/team/app-{i}:1.{i}",
            "    command: [serve, --port, '8080']",
            f"    ports: [{{containerPort: 8080, hostPort: {10000 + i}}}]",
            "    env:",
            "      - {key: MODE, value: prod}",
            "    volumeMounts:",
            "      - {name: data, path: /data, readOnly: true}",
        ]
    return "\n".join(lines).encode() + b"\n"


def _laughs() -> bytes:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in itertools.pairwise("abcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines).encode() + b"\n"


def _block_keys(count: int) -> bytes:
    return b"".join(b"k%d: 1\n" % i for i in range(count))


def _flow(items: int, depth: int = 1) -> bytes:
    return b"[" * depth + b"1," * (items - 1) + b"1" + b"]" * depth


# name -> (what it is, how to build it, read as JSON only)
CASES: dict[str, tuple[str, Callable[[], bytes], bool]] = {
    "over-10mb": ("a file of 10 MB + 1 byte", lambda: b"#" * (10 * MB + 1), False),
    "block-list": ("2,000,000 block items '- 1' (8 MB)", lambda: b"- 1\n" * 2_000_000, False),
    "flow-list": ("2,000,000 flow items '[1,1,...]' (4 MB)", lambda: _flow(2_000_000), False),
    "flow-list-9mb": ("4,700,000 flow items (9 MB)", lambda: _flow(4_700_000), False),
    "flow-list-deep": (
        "2,000,000 flow items inside 100 open lists",
        lambda: _flow(2_000_000, 100),
        False,
    ),
    "many-keys": ("500,000 keys in one mapping", lambda: _block_keys(500_000), False),
    "laughs": ("billion laughs (9**9 values once expanded)", _laughs, False),
    "deep-flow": ("flow lists nested 100,000 deep", lambda: b"[" * 100_000, False),
    "deep-flow-9mb": ("flow lists nested 9,000,000 deep", lambda: b"[" * 9_000_000, False),
    "deep-block": (
        "block mappings nested 150 deep",
        lambda: b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 150)),
        False,
    ),
    "long-string": ("one 9 MB string", lambda: b"a: '" + b"x" * (9 * MB) + b"'\n", False),
    "list-200k": ("200,000 block items (under the limit)", lambda: b"- 1\n" * 200_000, False),
    "json-list": ("2,000,000 items of a JSON list", lambda: _flow(2_000_000), True),
    "json-list-9mb": ("4,700,000 items of a JSON list (9 MB)", lambda: _flow(4_700_000), True),
    "json-strings": (
        "3,000,000 empty strings in a JSON list (9 MB)",
        lambda: b"[" + b'"",' * 2_999_999 + b'""]',
        True,
    ),
    "json-lists": (
        "3,000,000 empty lists in a JSON list (9 MB)",
        lambda: b"[" + b"[]," * 2_999_999 + b"[]]",
        True,
    ),
    "deep-json": ("JSON lists nested 100,000 deep", lambda: b"[" * 100_000, True),
    "json-list-200k": (
        "200,000 items of a JSON list (under the limit)",
        lambda: _flow(200_000),
        True,
    ),
    "containers-2000": ("a valid manifest of 2,000 containers", lambda: _containers(2000), False),
    "containers-5000": ("a valid manifest of 5,000 containers", lambda: _containers(5000), False),
}


def measure(name: str, module: str) -> dict[str, object]:
    """Parse one case in this process and report the outcome, time and peak memory."""
    parse = importlib.import_module(module).parse_document
    _, build, json_only = CASES[name]
    raw = build()
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset the peak resident size to the current one
    except OSError:
        pass
    base = _status("VmRSS")
    start = time.perf_counter()
    try:
        parse(raw, "bench", json_only=json_only)
        outcome = "accepted"
    except Exception as exc:  # the outcome of any kind is what is measured
        outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
    seconds = time.perf_counter() - start
    peak = _status("VmHWM") - base
    return {
        "case": name,
        "bytes": len(raw),
        "seconds": seconds,
        "peak_mb": peak / MB,
        "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="run this case only, in-process")
    parser.add_argument("--module", default="agent.manifest.parse", help="module of parse_document")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(args.case, args.module)))
        return
    print(f"{'case':<18} {'input':>10} {'seconds':>8} {'peak MB':>8}  outcome")
    for name in CASES:
        done = subprocess.run(
            [sys.executable, __file__, "--case", name, "--module", args.module],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        row = json.loads(done.stdout)
        print(
            f"{name:<18} {row['bytes']:>10} {row['seconds']:>8.3f} {row['peak_mb']:>8.1f}  "
            f"{row['outcome']}"
        )


if __name__ == "__main__":
    main()

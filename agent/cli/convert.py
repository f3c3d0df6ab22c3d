"""``agent convert``: manifests to Kubernetes Pods, to v1beta1 manifests or to a
declaration, or a Compose file to a manifest; the converters load only for it."""

from __future__ import annotations

import argparse
import os
import sys

from agent.cli.exits import EXIT_INVALID, EXIT_OK, EXIT_PARTIAL
from agent.daemon.settings import Settings
from agent.sources.load import load_sources

__all__ = ["cmd_convert"]


def cmd_convert(args: argparse.Namespace) -> int:
    """Manifests to Kubernetes Pods, or a compose file to a manifest, on stdout; notes
    (warnings, exit 0) on stderr."""
    if args.convert_from == "compose":
        return _from_compose(args)
    if args.to in ("v1beta1", "declaration"):
        return _to_manifest(args)
    from agent.convert.kube import documents, to_kubernetes  # the converters load only for convert

    desired = load_sources(args.manifests, args.urls)
    settings: Settings = args.settings
    conversion = to_kubernetes(desired.manifests, settings.namespace, settings.volumes_root)
    sys.stdout.write(documents(conversion.documents))
    for note in conversion.notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def _to_manifest(args: argparse.Namespace) -> int:
    """Manifests (v1beta1 or declarations) as v1beta1 manifests or as declarations, one YAML
    document each."""
    from agent.convert.declaration_convert import ConversionError, dump, to_declaration, to_v1beta1

    desired = load_sources(args.manifests, args.urls)
    documents: list[dict[str, object]] = []
    notes: list[object] = []
    try:
        for manifest in desired.manifests:
            if args.to == "v1beta1":
                document, found = to_v1beta1(manifest)
            else:
                document, found = to_declaration(manifest, args.settings.volumes_root)
            documents.append(document)
            notes.extend(found)
    except ConversionError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(dump(documents))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def _from_compose(args: argparse.Namespace) -> int:
    if len(args.manifests) != 1:
        print("agent convert --from compose: give exactly one compose file", file=sys.stderr)
        return EXIT_INVALID
    from agent.convert.compose import ComposeError, from_compose, render

    path = args.manifests[0]
    try:
        converted = from_compose(path, os.environ, args.settings.allow_host_path)
    except ComposeError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(render(converted))
    for note in converted.notes:
        print(f"note: {note}", file=sys.stderr)
    if not converted.partial:
        return EXIT_OK
    left_out = ", ".join(converted.left_out)
    if args.allow_partial:
        print(f"agent: {path}: left out (--allow-partial): {left_out}", file=sys.stderr)
        return EXIT_OK
    print(
        f"agent: {path}: a partial conversion, left out: {left_out} (see the notes); exit "
        f"{EXIT_PARTIAL}, or 0 with --allow-partial",
        file=sys.stderr,
    )
    return EXIT_PARTIAL

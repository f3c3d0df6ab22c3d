"""The manifest as written: its models, and the rules that read and validate it.

The bottom layer: it imports nothing of the agent but :mod:`agent.errors`. A file's
bytes become a validated :class:`~agent.manifest.models.Manifest` here (``parse``,
``schema`` with ``container_schema``, ``volume_schema``, ``fields``, ``probe_schema``,
``resources``, ``quantity``, ``ports``, ``reference``, ``hostpaths``; konlet's container
declaration in ``declaration``). ``gotime`` reads Go's durations and timestamps.
"""

"""Importing Compose files (agent/convert/compose.py): offline tables, and on dockerd the same
containers as docker-compose 1.29 runs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.convert.compose import ComposeError, Converted, convert_file, from_compose, render
from agent.manifest.models import Manifest
from agent.manifest.parse import parse_document
from tests import engines
from tests.engines import BUSYBOX_TAG, Engine

IMAGE = "localhost/busybox:1"


def convert(
    tmp_path: Path,
    text: str,
    environ: dict[str, str] | None = None,
    allow: tuple[str, ...] = (),
) -> Converted:
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    converted = from_compose(str(path), environ or {}, allow)
    Manifest.from_dict(converted.manifest, "converted")
    Manifest.from_dict(parse_document(render(converted).encode(), "rendered"), "rendered")
    return converted


def service(tmp_path: Path, body: str, **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
    """The container of a one-service file ``web`` with ``body`` (indented fields), and the
    notes of service web."""
    text = f"services:\n  web:\n    image: {IMAGE}\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").splitlines()
    )
    converted = convert(tmp_path, text, **kwargs)
    notes = [str(n) for n in converted.notes if n.where == "web"]
    return converted.manifest["containers"][0], notes


def test_minimal(tmp_path: Path) -> None:
    converted = convert(tmp_path, f"services:\n  web:\n    image: {IMAGE}\n")
    assert converted.manifest == {
        "version": "v1beta1",
        "containers": [{"name": "web", "image": IMAGE, "restartPolicy": "Never"}],
    }
    assert converted.notes == ()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("command: httpd -f -p 8080", ["httpd", "-f", "-p", "8080"]),
        ("command: sh -c 'echo \"a b\"; sleep 1'", ["sh", "-c", 'echo "a b"; sleep 1']),
        ("command: [sleep, '3600']", ["sleep", "3600"]),
        ("command: [sleep, 3600]", ["sleep", "3600"]),
        ("command: ['a b']", ["a b"]),
    ],
)
def test_command(tmp_path: Path, command: str, expected: list[str]) -> None:
    container, notes = service(tmp_path, command)
    assert container["command"] == expected
    assert notes == []


def test_command_that_cannot_be_split_refuses_the_service(tmp_path: Path) -> None:
    text = (
        f"services:\n  a:\n    image: {IMAGE}\n    command: sh -c 'open\n"
        f"  web:\n    image: {IMAGE}\n"
    )
    converted = convert(tmp_path, text)
    assert [c["name"] for c in converted.manifest["containers"]] == ["web"]
    assert [str(n) for n in converted.notes] == [
        "a: command: cannot be split as a shell would: No closing quotation; service not converted"
    ]


@pytest.mark.parametrize(
    ("given", "entrypoint", "command"),
    [
        ("entrypoint: /bin/sh", ["/bin/sh"], None),
        ("entrypoint: /bin/sh -c 'echo hi'", ["/bin/sh", "-c", "echo hi"], None),
        ("entrypoint: [sh, -c]\n    command: [echo hi]", ["sh", "-c"], ["echo hi"]),
        ("entrypoint: []\n    command: httpd -f", ["httpd", "-f"], None),
    ],
)
def test_entrypoint_is_the_manifests_entrypoint(
    tmp_path: Path, given: str, entrypoint: list[str], command: list[str] | None
) -> None:
    text = f"services:\n  a:\n    image: {IMAGE}\n    {given}\n"
    converted = convert(tmp_path, text)
    (container,) = converted.manifest["containers"]
    assert container["entrypoint"] == entrypoint
    assert container.get("command") == command
    assert [str(n) for n in converted.notes] == (
        ["a: entrypoint: empty: the command is the entrypoint"] if "[]" in given else []
    )


def test_an_empty_entrypoint_without_a_command_refuses_the_service(tmp_path: Path) -> None:
    text = f"services:\n  a:\n    image: {IMAGE}\n    entrypoint: ''\n  web:\n    image: {IMAGE}\n"
    converted = convert(tmp_path, text)
    assert [c["name"] for c in converted.manifest["containers"]] == ["web"]
    assert [str(n) for n in converted.notes] == [
        "a: entrypoint: is empty, and there is no command to run; service not converted"
    ]


def test_build_only_is_refused_and_build_with_image_noted(tmp_path: Path) -> None:
    text = f"services:\n  a:\n    build: .\n  web:\n    build: .\n    image: {IMAGE}\n"
    converted = convert(tmp_path, text)
    assert [c["name"] for c in converted.manifest["containers"]] == ["web"]
    assert [str(n) for n in converted.notes] == [
        "a: build: the agent builds no images, and there is no image; service not converted",
        "web: build: not mapped (the agent builds no images): image is used",
    ]


@pytest.mark.parametrize(
    ("text", "left_out"),
    [
        ("services:\n  web: {image: IMG}\n  db: {image: IMG, build: .}\n", ()),
        ("services:\n  web: {image: IMG}\n  db: {build: .}\n", ("db",)),
        ("services:\n  web: {image: IMG}\n  db: {extends: {service: web}}\n", ("db",)),
        ("services:\n  web: {image: IMG}\n  db: {image: IMG, profiles: [x]}\n", ("db",)),
        ("services:\n  web: {image: IMG}\n  db: {image: IMG, entrypoint: ''}\n", ("db",)),
        ("services:\n  web: {image: IMG}\n  db: {image: 'No Image'}\n", ("db",)),
        ("services:\n  web: {image: IMG}\n  1db: {image: IMG}\n", ("1db",)),
        ("services:\n  web: {image: IMG}\n  Web: {image: IMG}\n", ("Web",)),
        ("services:\n  web: {image: IMG}\n  db: [x]\n", ("db",)),
        ("include: [db.yml]\nservices:\n  web: {image: IMG}\n  db: {build: .}\n",
         ("include", "db")),
        ("services:\n  web: {image: IMG, ports: ['80'], links: [db], networks: [x]}\n", ()),
    ],
)  # fmt: skip
def test_what_is_left_out_makes_a_partial_conversion(
    tmp_path: Path, text: str, left_out: tuple[str, ...]
) -> None:
    """A service not converted, for whatever reason, or an include not read is left out;
    a field not mapped (a note) is not."""
    converted = convert(tmp_path, text.replace("IMG", IMAGE))
    assert converted.left_out == left_out
    assert converted.partial == bool(left_out)
    header = render(converted).splitlines()[1]
    if left_out:
        assert header == f"# Left out: {', '.join(left_out)}."
    else:
        assert not header.startswith("# Left out")


def test_a_file_with_only_include_is_an_error_that_names_include(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("include:\n  - path: [a.yml, b.yml]\n    project_directory: ..\n")
    with pytest.raises(ComposeError) as caught:
        from_compose(str(path), {})
    assert str(caught.value) == (
        f"{path}: include: the included files (a.yml, b.yml) not read (the agent reads no "
        "included file): convert each file on its own; this one has no services of its own"
    )


def test_nothing_converted_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text("services:\n  a:\n    build: .\n")
    with pytest.raises(ComposeError, match="no service could be converted"):
        from_compose(str(tmp_path / "c.yml"), {})


@pytest.mark.parametrize(
    ("name", "label", "notes"),
    [
        ("web", "web", []),
        ("web_app", "web-app", ["web_app: container named web-app (an RFC 1035 name)"]),
        ("Web.App", "web-app", ["Web.App: container named web-app (an RFC 1035 name)"]),
    ],
)
def test_service_names(tmp_path: Path, name: str, label: str, notes: list[str]) -> None:
    converted = convert(tmp_path, f"services:\n  {name}:\n    image: {IMAGE}\n")
    assert converted.manifest["containers"][0]["name"] == label
    assert [str(n) for n in converted.notes] == notes


def test_a_name_that_cannot_be_a_label(tmp_path: Path) -> None:
    text = f"services:\n  1web:\n    image: {IMAGE}\n  web:\n    image: {IMAGE}\n"
    converted = convert(tmp_path, text)
    assert [str(n) for n in converted.notes] == [
        "1web: the name cannot be an RFC 1035 name (a-z, 0-9, '-'); service not converted"
    ]


@pytest.mark.parametrize(
    ("environment", "environ", "expected", "notes"),
    [
        ("environment: [A=1, B=x=y, C=]", {}, [("A", "1"), ("B", "x=y"), ("C", "")], []),
        ("environment: {A: 1, B: two, C: ''}", {}, [("A", "1"), ("B", "two"), ("C", "")], []),
        ("environment: [FROM_ENV]", {"FROM_ENV": "e"}, [("FROM_ENV", "e")], []),
        ("environment: {FROM_ENV: null}", {"FROM_ENV": "e"}, [("FROM_ENV", "e")], []),
        (
            "environment: [NOPE]",
            {},
            [],
            ["web: environment.NOPE: no value, and not in the environment: not set"],
        ),
        (
            "environment: {A: true}",
            {},
            [],
            ["web: environment.A: not mapped: a boolean (quote it to say which string)"],
        ),
        (
            "environment: [my.key=1]",
            {},
            [],
            ["web: environment.my.key: not mapped: the key is not a C identifier"],
        ),
    ],
)
def test_environment(
    tmp_path: Path,
    environment: str,
    environ: dict[str, str],
    expected: list[tuple[str, str]],
    notes: list[str],
) -> None:
    container, found = service(tmp_path, environment, environ=environ)
    assert [(e["key"], e["value"]) for e in container.get("env", [])] == expected
    assert found == notes


def test_env_file_and_environment_over_it(tmp_path: Path) -> None:
    (tmp_path / "web.env").write_text("A=from-file\nB=kept\n")
    container, notes = service(tmp_path, "env_file: web.env\nenvironment: [A=given]")
    assert container["env"] == [{"key": "A", "value": "given"}, {"key": "B", "value": "kept"}]
    assert notes == []


@pytest.mark.parametrize(
    ("ports", "expected", "notes"),
    [
        ('["8080:80"]', [{"containerPort": 80, "hostPort": 8080}], []),
        (
            '["127.0.0.1:8080:80"]',
            [{"containerPort": 80, "hostPort": 8080, "hostIp": "127.0.0.1"}],
            [],
        ),
        ('["53:53/udp"]', [{"containerPort": 53, "hostPort": 53, "protocol": "UDP"}], []),
        ('["53:53/tcp"]', [{"containerPort": 53, "hostPort": 53}], []),
        ('["[::1]:8080:80"]', [{"containerPort": 80, "hostPort": 8080, "hostIp": "::1"}], []),
        (
            '["8000-8001:9000-9001"]',
            [{"containerPort": 9000, "hostPort": 8000}, {"containerPort": 9001, "hostPort": 8001}],
            [],
        ),
        (
            "[{target: 80, published: 8080, host_ip: 127.0.0.1, protocol: udp, mode: host}]",
            [{"containerPort": 80, "hostPort": 8080, "hostIp": "127.0.0.1", "protocol": "UDP"}],
            [],
        ),
        ('[{target: 80, published: "8080"}]', [{"containerPort": 80, "hostPort": 8080}], []),
        (
            '["80"]',
            [],
            [
                "web: ports[0]: not mapped: no host port (Compose picks a free one; the agent "
                "publishes only on a given host port)"
            ],
        ),
        (
            '["127.0.0.1::80"]',
            [],
            [
                "web: ports[0]: not mapped: no host port (Compose picks a free one; the agent "
                "publishes only on a given host port)"
            ],
        ),
        (
            "[{target: 80}]",
            [],
            [
                "web: ports[0]: not mapped: no host port (Compose picks a free one; the agent "
                "publishes only on a given host port)"
            ],
        ),
        (
            '["8000-8010:80"]',
            [],
            [
                "web: ports[0]: not mapped: a host port range for one container port (Compose "
                "picks a free one; the agent publishes only on a given host port)"
            ],
        ),
        (
            '["1-200:1-200"]',
            [],
            ["web: ports[0]: not mapped: a range of more than 100 ports"],
        ),
        (
            '["80:80/sctp"]',
            [],
            ["web: ports[0]: not mapped: protocol sctp (TCP and UDP only)"],
        ),
        (
            "[22:22]",
            [],
            [
                "web: ports[0]: not mapped: 1342 is no HOST:CONTAINER (an unquoted 22:22 is "
                "read by YAML as a base-60 number: quote it); a container port alone has no "
                "host port, and the agent publishes only on a given host port"
            ],
        ),
    ],
)
def test_ports(
    tmp_path: Path, ports: str, expected: list[dict[str, Any]], notes: list[str]
) -> None:
    container, found = service(tmp_path, f"ports: {ports}")
    assert container.get("ports", []) == expected
    assert found == notes


def test_named_volume(tmp_path: Path) -> None:
    text = (
        f"services:\n  web:\n    image: {IMAGE}\n    volumes: [data:/data, 'data:/ro:ro']\n"
        "volumes:\n  data:\n"
    )
    converted = convert(tmp_path, text)
    assert converted.manifest["volumes"] == [{"name": "data"}]
    assert converted.manifest["containers"][0]["volumeMounts"] == [
        {"name": "data", "path": "/data"},
        {"name": "data", "path": "/ro", "readOnly": True},
    ]
    assert [str(n) for n in converted.notes] == [
        "volumes: data: an engine volume in Compose; here the host directory "
        "<volumes-root>/data, shared by every container that mounts it, and not filled "
        "from the image"
    ]


def test_named_volume_long_syntax_and_undeclared(tmp_path: Path) -> None:
    text = (
        f"services:\n  web:\n    image: {IMAGE}\n"
        "    volumes: [{type: volume, source: my_data, target: /d, read_only: true}]\n"
        "volumes:\n  my_data: {driver: local}\n"
    )
    converted = convert(tmp_path, text)
    assert converted.manifest["volumes"] == [{"name": "my-data"}]
    assert converted.manifest["containers"][0]["volumeMounts"] == [
        {"name": "my-data", "path": "/d", "readOnly": True}
    ]
    assert [str(n) for n in converted.notes][::2] == [
        "volumes: my_data: renamed my-data (an RFC 1035 name)",
        "volumes: my_data.driver: not mapped (no volume drivers)",
    ]
    (tmp_path / "bad.yml").write_text(
        f"services:\n  web:\n    image: {IMAGE}\n    volumes: [x:/x]\n"
    )
    with pytest.raises(ComposeError, match="named volume x is not declared"):
        from_compose(str(tmp_path / "bad.yml"), {})


def test_bind_mounts_allowed_and_refused(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    body = "volumes: ['./site:/www:ro', '/etc:/host-etc', {type: bind, source: ./site, target: /b}]"
    container, notes = service(tmp_path, body, allow=(str(tmp_path),))
    assert container["volumeMounts"] == [
        {"name": "host-site", "path": "/www", "readOnly": True},
        {"name": "host-site", "path": "/b"},
    ]
    resolved = f"./site is {tmp_path / 'site'} (relative to the compose file's folder)"
    assert notes == [
        f"web: volumes[0]: {resolved}",
        "web: volumes[1]: bind mount of /etc not mapped: not under an allowed host path "
        "(allow_host_path, --allow-host-path)",
        f"web: volumes[2]: {resolved}",
    ]
    converted = convert(tmp_path, (tmp_path / "docker-compose.yml").read_text())
    assert "volumes" not in converted.manifest


RELATIVE = "(relative to the compose file's folder)"
MADE = (
    "does not exist: the agent makes it a directory when the container starts, as Docker "
    "does for -v"
)


@pytest.mark.parametrize(
    ("volume", "home", "path", "notes"),
    [
        ("'./nginx.conf:/etc/nginx/nginx.conf:ro'", None, "{d}/nginx.conf",
         [f"./nginx.conf is {{d}}/nginx.conf {RELATIVE}"]),
        ("{{type: bind, source: ./nginx.conf, target: /etc/nginx/nginx.conf, read_only: true}}",
         None, "{d}/nginx.conf", [f"./nginx.conf is {{d}}/nginx.conf {RELATIVE}"]),
        ("'nginx.conf:/etc/nginx/nginx.conf:ro'", None, None, None),  # a named volume: an error
        ("'{d}/nginx.conf:/etc/nginx/nginx.conf:ro'", None, "{d}/nginx.conf", []),
        ("'./conf/../nginx.conf:/etc/nginx/nginx.conf:ro'", None, "{d}/nginx.conf",
         [f"./conf/../nginx.conf is {{d}}/nginx.conf {RELATIVE}"]),
        ("'~/site:/etc/nginx/nginx.conf:ro'", "{d}/home", "{d}/home/site",
         ["~/site is {d}/home/site (~ is HOME)"]),
        ("'~:/etc/nginx/nginx.conf:ro'", "{d}/home", "{d}/home", ["~ is {d}/home (~ is HOME)"]),
        ("'~/site:/etc/nginx/nginx.conf:ro'", None, "",
         ["bind mount of ~/site not mapped: ~ is HOME, which is not set"]),
        ("'~alice/site:/etc/nginx/nginx.conf:ro'", "{d}/home", "",
         ["bind mount of ~alice/site not mapped: only ~ and ~/ are expanded (to HOME), not "
          "another user's home"]),
        ("'~/site:/etc/nginx/nginx.conf:ro'", "/root", "",
         ["bind mount of /root/site not mapped: not under an allowed host path "
          "(allow_host_path, --allow-host-path)"]),
        ("'../elsewhere:/etc/nginx/nginx.conf:ro'", None, "",
         ["bind mount of {p}/elsewhere not mapped: not under an allowed host path "
          "(allow_host_path, --allow-host-path)"]),
        ("'./data/db:/etc/nginx/nginx.conf'", None, "{d}/data/db",
         [f"./data/db is {{d}}/data/db {RELATIVE}", f"{{d}}/data/db {MADE}"]),
        ("{{type: bind, source: ./data, target: /etc/nginx/nginx.conf, "
         "bind: {{create_host_path: true}}}}", None, "{d}/data",
         [f"./data is {{d}}/data {RELATIVE}", f"{{d}}/data {MADE}"]),
        ("{{type: bind, source: ./nginx.conf, target: /etc/nginx/nginx.conf, "
         "bind: {{propagation: rshared, create_host_path: false}}}}", None, "{d}/nginx.conf",
         ["volumes[0].bind.propagation: not mapped",
          "volumes[0].bind.create_host_path: not mapped: the agent makes a missing host "
          "directory anyway",
          f"./nginx.conf is {{d}}/nginx.conf {RELATIVE}"]),
    ],
)  # fmt: skip
def test_bind_mount_sources(
    tmp_path: Path, volume: str, home: str | None, path: str | None, notes: list[str] | None
) -> None:
    """A bind's source on the host: a file or a directory, relative to the compose file's
    folder, ~ as HOME, made when missing; each resolution said in a note."""
    d = tmp_path / "app"
    (d / "home" / "site").mkdir(parents=True)
    (d / "nginx.conf").write_text("worker_processes 1;\n")
    environ = {"HOME": home.format(d=d)} if home else {}
    text = f"services:\n  web:\n    image: {IMAGE}\n    volumes: [{volume.format(d=d)}]\n"
    if path is None:
        with pytest.raises(ComposeError, match=r"named volume nginx\.conf is not declared"):
            convert(d, text, environ=environ, allow=(str(d),))
        return
    converted = convert(d, text, environ=environ, allow=(str(d),))
    found = [
        str(n).removeprefix("web: volumes[0]: ").removeprefix("web: ")
        for n in converted.notes
        if n.where == "web"
    ]
    assert found == [n.format(d=d, p=tmp_path) for n in notes or []]
    if not path:
        assert "volumes" not in converted.manifest
        return
    ((volume_name, host),) = [
        (v["name"], v["source"]["hostDir"]["path"]) for v in converted.manifest["volumes"]
    ]
    assert host == path.format(d=d)
    (mount,) = converted.manifest["containers"][0]["volumeMounts"]
    assert mount["name"] == volume_name and mount["path"] == "/etc/nginx/nginx.conf"
    assert not (d / "data").exists()  # the conversion makes nothing


def test_bind_mount_volume_source(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    text = f"services:\n  web:\n    image: {IMAGE}\n    volumes: ['./site:/www']\n"
    converted = convert(tmp_path, text, allow=(str(tmp_path),))
    assert converted.manifest["volumes"] == [
        {"name": "host-site", "source": {"hostDir": {"path": str(tmp_path / "site")}}}
    ]


def test_anonymous_volume_and_tmpfs(tmp_path: Path) -> None:
    container, notes = service(tmp_path, "volumes: [/cache]\ntmpfs: /run")
    assert container["volumeMounts"] == [
        {"name": "web-scratch", "path": "/cache"},
        {"name": "web-scratch-2", "path": "/run"},
    ]
    assert notes == [
        "web: volumes[0]: an anonymous volume: an emptyDir here, removed with the container "
        "(Compose keeps it when it recreates the container)",
        "web: tmpfs: an emptyDir volume: on the engine's disk, not in memory",
    ]


@pytest.mark.parametrize(
    ("restart", "policy", "notes"),
    [
        ("restart: 'no'", "Never", []),
        ("restart: no", "Never", []),
        ("restart: always", "Always", []),
        ("restart: on-failure", "OnFailure", []),
        (
            "restart: on-failure:3",
            "OnFailure",
            ["web: restart: the retry limit is not mapped: restarted with back-off"],
        ),
        (
            "restart: unless-stopped",
            "Always",
            [
                "web: restart: unless-stopped is Always: the agent restarts a container "
                "stopped by hand"
            ],
        ),
    ],
)
def test_restart(tmp_path: Path, restart: str, policy: str, notes: list[str]) -> None:
    container, found = service(tmp_path, restart)
    assert container["restartPolicy"] == policy
    assert found == notes


def test_working_dir_and_pull_policy(tmp_path: Path) -> None:
    container, notes = service(tmp_path, "working_dir: /srv\npull_policy: always")
    assert container["workingDir"] == "/srv"
    assert container["imagePullPolicy"] == "Always"
    container, notes = service(tmp_path, "pull_policy: daily")
    assert "imagePullPolicy" not in container
    assert notes == ["web: pull_policy: not mapped (always, never, missing only): IfNotPresent"]


PROBE_NOTE = (
    "web: healthcheck: a liveness probe run by `agent run`: a container that fails it is "
    "restarted, which Compose never does"
)


@pytest.mark.parametrize(
    ("healthcheck", "probe"),
    [
        (
            "{test: [CMD, cat, /tmp/ok]}",
            {
                "exec": {"command": ["cat", "/tmp/ok"]},
                "periodSeconds": 30,
                "timeoutSeconds": 30,
                "failureThreshold": 3,
            },
        ),
        (
            "{test: [CMD-SHELL, 'wget -q -O- localhost'], interval: 1m30s, timeout: 500ms, "
            "retries: 5, start_period: 2.5s}",
            {
                "exec": {"command": ["/bin/sh", "-c", "wget -q -O- localhost"]},
                "periodSeconds": 90,
                "timeoutSeconds": 1,
                "failureThreshold": 5,
                "initialDelaySeconds": 3,
            },
        ),
        (
            "{test: 'test -f /ok', interval: 1h, timeout: 10s}",
            {
                "exec": {"command": ["/bin/sh", "-c", "test -f /ok"]},
                "periodSeconds": 3600,
                "timeoutSeconds": 10,
                "failureThreshold": 3,
            },
        ),
    ],
)
def test_healthcheck(tmp_path: Path, healthcheck: str, probe: dict[str, Any]) -> None:
    container, notes = service(tmp_path, f"restart: always\nhealthcheck: {healthcheck}")
    assert container["livenessProbe"] == probe
    assert notes == [PROBE_NOTE]


@pytest.mark.parametrize(
    ("healthcheck", "notes"),
    [
        ("{disable: true}", []),
        ("{test: [NONE]}", []),
        ("{test: [CMD, 'true'], interval: 30}", None),
    ],
)
def test_healthcheck_off(tmp_path: Path, healthcheck: str, notes: list[str] | None) -> None:
    container, found = service(tmp_path, f"restart: always\nhealthcheck: {healthcheck}")
    if notes is None:  # a bad duration: Docker's default is kept, with a note
        assert container["livenessProbe"]["periodSeconds"] == 30
        assert found == [
            "web: healthcheck.interval: not mapped: not a duration such as 30s or 1m30s",
            PROBE_NOTE,
        ]
    else:
        assert "livenessProbe" not in container
        assert found == notes


def test_healthcheck_without_restart(tmp_path: Path) -> None:
    container, notes = service(tmp_path, "healthcheck: {test: [CMD, 'true']}")
    assert "livenessProbe" not in container
    assert notes == [
        "web: healthcheck: not mapped: a liveness probe restarts the container, and restart is no"
    ]


@pytest.mark.parametrize(
    ("deploy", "resources", "notes"),
    [
        (
            "deploy: {resources: {limits: {memory: 512M, cpus: '0.5'}}}",
            {"limits": {"memory": "512Mi", "cpu": "500m"}},
            [],
        ),
        (
            "deploy: {resources: {limits: {memory: 1g, cpus: 2}}}",
            {"limits": {"memory": "1Gi", "cpu": "2"}},
            [],
        ),
        (
            "deploy: {resources: {limits: {memory: 1.5gb, cpus: 0.25}}}",
            {"limits": {"memory": "1536Mi", "cpu": "250m"}},
            [],
        ),
        ("deploy: {resources: {limits: {memory: 268435456}}}", {"limits": {"memory": "256Mi"}}, []),
        ("mem_limit: 64m\ncpus: 1.5", {"limits": {"memory": "64Mi", "cpu": "1500m"}}, []),
        (
            "deploy: {resources: {limits: {memory: 1g},\n"
            "  reservations: {memory: 256m, cpus: '0.1'}}}",
            {"limits": {"memory": "1Gi"}, "requests": {"memory": "256Mi", "cpu": "100m"}},
            [
                "web: deploy.resources.reservations: requests: checked, and not applied (one "
                "host has no scheduler)"
            ],
        ),
        (
            "deploy: {resources: {limits: {memory: 1k, cpus: '0.0001', pids: 5}}}",
            {},
            [
                "web: deploy.resources.limits.memory: not mapped: must be between 6 MiB and 1 PiB",
                "web: deploy.resources.limits.cpus: not mapped: not a number of CPUs in whole "
                "thousandths",
                "web: deploy.resources.limits.pids: not mapped (memory and cpus only)",
            ],
        ),
        (
            "deploy: {replicas: 3, placement: {}}",
            {},
            [
                "web: deploy.replicas: not mapped (one container per service)",
                "web: deploy.placement: not mapped (Swarm only)",
            ],
        ),
    ],
)
def test_resources(
    tmp_path: Path, deploy: str, resources: dict[str, Any], notes: list[str]
) -> None:
    container, found = service(tmp_path, deploy)
    assert container.get("resources", {}) == resources
    assert found == notes


def test_stop_grace_period(tmp_path: Path) -> None:
    container, notes = service(tmp_path, "stop_grace_period: 1m30s")
    assert container["terminationGracePeriodSeconds"] == 90
    assert notes == []


def test_durations_and_retries_past_the_manifests_limits_are_capped_with_a_note(
    tmp_path: Path,
) -> None:
    container, notes = service(
        tmp_path,
        "restart: always\nstop_grace_period: 48h\n"
        "healthcheck: {test: [CMD, 'true'], interval: 25h, retries: 5000}",
    )
    assert container["terminationGracePeriodSeconds"] == 86400
    assert container["livenessProbe"]["periodSeconds"] == 86400
    assert container["livenessProbe"]["failureThreshold"] == 1000
    assert notes == [
        "web: stop_grace_period: 172800s is more than the manifest takes: 86400s instead",
        "web: healthcheck.interval: 90000s is more than the manifest takes: 86400s instead",
        "web: healthcheck.retries: 5000 is more than the manifest takes: 1000 instead",
        PROBE_NOTE,
    ]


def test_unmapped_fields_listed(tmp_path: Path) -> None:
    body = "\n".join(
        [
            "networks: [front]",
            "depends_on: [db]",
            "container_name: my-web",
            "user: '1000'",
            "privileged: true",
            "labels: {a: b}",
            "x-mine: 1",
            "frobnicate: 1",
        ]
    )
    _, notes = service(tmp_path, body)
    assert notes == [
        "web: depends_on: not mapped (the agent starts every container at once, in no order)",
        "web: container_name: not mapped (the agent names containers itself "
        "(container-agent-<name>-<hash>))",
        "web: user: not mapped (containers run as the image's user)",
        "web: privileged: not mapped (privileged mode is not offered: it gives the container "
        "the whole host)",
        "web: labels: not mapped (the agent sets its own labels)",
        "web: x-mine: ignored: an extension field",
        "web: frobnicate: not mapped (not a field this converter knows)",
    ]


NETWORK_NAMES = [
    pytest.param(
        "  web:\n    image: I\n    links: [db, 'db:database', 'cache:store']\n"
        "  db:\n    image: I\n  cache:\n    image: I\n",
        {"web": [], "db": ["database"], "cache": ["store"]},
        [],
        id="a link's alias is a further name of the linked service; a plain link adds none",
    ),
    pytest.param(
        "  web:\n    image: I\n    networks:\n      front: {aliases: [www, Front_End]}\n"
        "      back:\n  db:\n    image: I\n    networks: [back]\n",
        {"web": ["www", "front-end"], "db": []},
        [],
        id="networks.<n>.aliases are the service's further names, made RFC 1035 names",
    ),
    pytest.param(
        "  web:\n    image: I\n    links: ['cache:db', 'gone:x']\n    networks:\n"
        "      back: {aliases: [web, cache], ipv4_address: 10.0.0.5}\n"
        "  db:\n    image: I\n    networks: {back: {aliases: [www]}}\n"
        "  cache:\n    image: I\n    networks: {back: {aliases: [www]}}\n",
        {"web": [], "db": ["www"], "cache": []},
        [
            "web: networks.back.ipv4_address: not mapped (the agent's containers share the "
            "namespace's one network)",
            "web: networks.back.aliases: alias cache not mapped: cache names container cache "
            "already",
            "web: links: alias db not mapped: db names container db already",
            "web: links: alias x not mapped: gone is not converted",
            "cache: networks.back.aliases: alias www not mapped: www names container db already",
        ],
        id="a name that means another container already is a note, never a second meaning",
    ),
]


@pytest.mark.parametrize(("services", "aliases", "expected"), NETWORK_NAMES)
def test_network_names(
    tmp_path: Path, services: str, aliases: dict[str, list[str]], expected: list[str]
) -> None:
    converted = convert(tmp_path, "services:\n" + services.replace(": I\n", f": {IMAGE}\n"))
    found = {c["name"]: c.get("aliases", []) for c in converted.manifest["containers"]}
    assert found == aliases
    assert [str(n) for n in converted.notes if "restart" not in str(n)] == expected
    Manifest.from_dict(converted.manifest, "c")


def test_profiles_and_extends_refuse_the_service(tmp_path: Path) -> None:
    text = (
        f"services:\n  a:\n    image: {IMAGE}\n    profiles: [debug]\n"
        f"  b:\n    image: {IMAGE}\n    extends: {{service: a}}\n  web:\n    image: {IMAGE}\n"
    )
    converted = convert(tmp_path, text)
    assert [str(n) for n in converted.notes] == [
        "a: profiles: not started by a plain `docker-compose up`; service not converted",
        "b: extends: not resolved: write the service out in full; service not converted",
    ]


def test_top_level(tmp_path: Path) -> None:
    text = (
        "version: '3.8'\nname: my_project\nx-base: &b {image: " + IMAGE + "}\n"
        "services:\n  web: *b\nnetworks:\n  front: {}\nsecrets: {}\n"
    )
    converted = convert(tmp_path, text)
    assert converted.manifest["id"] == "my-project"
    assert [str(n) for n in converted.notes] == [
        "version: ignored: obsolete in the Compose specification",
        "x-base: ignored: an extension field",
        "networks: not mapped (the agent's containers share the namespace's one network, on "
        "which each service answers to its name: no other is made)",
        "secrets: not mapped (there is no secret store: use a hostDir volume for files the "
        "operator places)",
    ]


def test_interpolation_and_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=1\nGREETING=from-dotenv\nSECRET=s3cret\n")
    text = (
        "services:\n  web:\n    image: localhost/busybox:${TAG}\n"
        "    environment: [GREETING=$GREETING, 'PORT=${PORT:-80}', TOKEN=$SECRET, X=$UNSET]\n"
        "    command: echo $$HOME\n"
    )
    converted = convert(tmp_path, text, environ={"GREETING": "from-env"})
    container = converted.manifest["containers"][0]
    assert container["image"] == "localhost/busybox:1"
    assert container["command"] == ["echo", "$HOME"]
    assert container["env"] == [
        {"key": "GREETING", "value": "from-env"},
        {"key": "PORT", "value": "80"},
        {"key": "TOKEN", "value": "s3cret"},
        {"key": "X", "value": ""},
    ]
    notes = [str(n) for n in converted.notes]
    assert notes == [
        "web: environment[3]: variable UNSET is not set: an empty string is used, as Compose does"
    ]
    header = render(converted).split("version: v1beta1")[0]
    assert "s3cret" not in header and "from-env" not in header
    assert header.startswith(
        "# Converted from docker-compose.yml by `agent convert --from compose`."
    )


def test_required_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text(
        f"services:\n  web:\n    image: {IMAGE}\n    environment: ['A=${{TOKEN:?give a token}}']\n"
    )
    with pytest.raises(ComposeError) as caught:
        from_compose(str(path), {})
    assert str(caught.value) == (
        f"{path}: services.web.environment[0]: required variable TOKEN is not set: give a token"
    )


def test_port_twice_across_services_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text(
        f"services:\n  a:\n    image: {IMAGE}\n    ports: ['80:80']\n"
        f"  b:\n    image: {IMAGE}\n    ports: ['80:80']\n"
    )
    with pytest.raises(ComposeError, match="the converted manifest is not valid"):
        from_compose(str(path), {})


def test_invalid_service_refused_by_validation(tmp_path: Path) -> None:
    text = f"services:\n  a:\n    image: 'Not An Image'\n  web:\n    image: {IMAGE}\n"
    converted = convert(tmp_path, text)
    assert [c["name"] for c in converted.manifest["containers"]] == ["web"]
    notes = [str(n) for n in converted.notes]
    assert notes[-1] == "a: service not converted"
    assert notes[0].startswith("a: refused by validation: containers[a].image: must be an image")


def test_hostile_file_refused_like_a_manifest(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("services: !!python/object:os.system {}\n")
    with pytest.raises(Exception, match="tag"):
        from_compose(str(path), {})


# --------------------------------------------------------------------------- on dockerd

COMPOSE_FILE = """\
services:
  web:
    image: {image}
    command: httpd -f -p 8080 -h /www
    environment:
      GREETING: ${{CA_TEST_GREETING:-hello}}
    ports:
      - "127.0.0.1:${{CA_TEST_PORT}}:8080"
    volumes:
      - www:/www
  worker:
    image: {image}
    command: sh -c "while true; do sleep 1; done"
volumes:
  www:
"""


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is missing: run contrib/setup-engines.sh", pytrace=False)
    return found


def _inspect(engine: Engine, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each container by its service (Compose's label) or manifest name (the agent's)."""
    out = engines.run_cli(engine, "inspect", *ids).stdout
    found: dict[str, dict[str, Any]] = {}
    for info in json.loads(out):
        labels = info["Config"]["Labels"] or {}
        name = labels.get("com.docker.compose.service") or labels["io.container-agent.name"]
        found[name] = {
            "cmd": info["Config"]["Cmd"],
            "env": sorted(e for e in info["Config"]["Env"] if e != "PATH=/bin"),  # the image's
            "ports": sorted(
                (port, binding["HostIp"], binding["HostPort"])
                for port, bindings in (info["HostConfig"]["PortBindings"] or {}).items()
                for binding in bindings
            ),
            "mounts": sorted(m["Destination"] for m in info["Mounts"]),
        }
    return found


def _agent(
    engine: Engine,
    namespace: str,
    tmp_path: Path,
    env: dict[str, str],
    *args: str,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``agent ARGS`` in a process of its own on the docker CLI backend, with volumes and
    state under ``tmp_path``."""
    argv = [
        sys.executable,
        "-m",
        "agent",
        "--backend",
        "docker-cli",
        "--docker-cmd",
        engine.cli,
        "--host",
        engine.host,
        "--namespace",
        namespace,
        "--volumes-root",
        str(tmp_path / "volumes"),
        "--state-dir",
        str(tmp_path / "state"),
    ]
    return subprocess.run(
        [*argv, *args],
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_same_containers_as_docker_compose(
    docker_engine: Engine, namespace: str, tmp_path: Path
) -> None:
    compose = _docker_compose()
    image = engines.build_busybox_image(docker_engine, BUSYBOX_TAG)
    port = engines.free_port()
    path = tmp_path / "docker-compose.yml"
    path.write_text(COMPOSE_FILE.format(image=image))
    env = {**docker_engine.environ(), "CA_TEST_PORT": str(port)}
    env.pop("CA_TEST_GREETING", None)
    project = f"ca{secrets.token_hex(4)}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [compose, "-p", project, "-f", str(path), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    try:
        up = run("up", "-d")
        assert up.returncode == 0, up.stderr
        ids = engines.run_cli(
            docker_engine, "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"
        ).stdout.split()
        assert len(ids) == 2
        status, _ = engines.http_get(port)
        assert status in (200, 404)
        composed = _inspect(docker_engine, ids)
    finally:
        down = run("down", "-v", "--remove-orphans")
    assert down.returncode == 0, down.stderr

    converted = from_compose(str(path), env)
    manifest = tmp_path / "containers.yaml"
    manifest.write_text(render(converted))
    volumes = tmp_path / "volumes"
    validate = _agent(docker_engine, namespace, tmp_path, env, "validate", str(manifest))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    try:
        applied = _agent(docker_engine, namespace, tmp_path, env, "apply", str(manifest))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        status, _ = engines.http_get(port)
        assert status in (200, 404)
        agent = _inspect(docker_engine, engines.list_namespace(docker_engine, namespace))
    finally:
        engines.remove_namespace(docker_engine, namespace)
    assert agent == composed
    assert composed["web"]["env"] == ["GREETING=hello"]
    assert composed["web"]["ports"] == [("8080/tcp", "127.0.0.1", str(port))]
    assert composed["web"]["mounts"] == ["/www"]
    assert composed["worker"]["env"] == []
    assert composed["worker"]["cmd"] == ["sh", "-c", "while true; do sleep 1; done"]
    assert (volumes / "www").is_dir()
    left = engines.run_cli(
        docker_engine,
        "volume",
        "ls",
        "-q",
        "--filter",
        f"label=com.docker.compose.project={project}",
    ).stdout.split()
    assert left == []
    assert os.path.isdir(volumes)
    yaml.safe_load(manifest.read_text())


BIND_FILE = """\
services:
  web:
    image: {image}
    command: sh -c 'cat /etc/motd > /logs/seen; exec httpd -f -p 8080 -h /www'
    ports: ["127.0.0.1:{port}:8080"]
    volumes:
      - ./site/index.html:/www/index.html:ro
      - type: bind
        source: ./motd
        target: /etc/motd
        read_only: true
      - ~/logs/web:/logs
"""
PAGE = "<h1>from a file on the host</h1>\n"


def test_a_converted_file_bind_and_relative_paths_run_on_dockerd(
    docker_engine: Engine, namespace: str, tmp_path: Path
) -> None:
    """``agent convert --from compose`` run from another folder, then ``agent apply``: the
    files bound by relative paths are the container's, and the missing directory under
    ~ is made and written through."""
    image = engines.build_busybox_image(docker_engine, BUSYBOX_TAG)
    port = engines.free_port()
    app, home = tmp_path / "app", tmp_path / "home"
    (app / "site").mkdir(parents=True)
    home.mkdir()
    (app / "site" / "index.html").write_text(PAGE)
    (app / "motd").write_text("welcome\n")
    (app / "docker-compose.yml").write_text(BIND_FILE.format(image=image, port=port))
    env = {**docker_engine.environ(), "HOME": str(home)}
    allow = [f"--allow-host-path={app}", f"--allow-host-path={home}"]

    converted = _agent(
        docker_engine,
        namespace,
        tmp_path,
        env,
        "convert",
        "--from",
        "compose",
        *allow,
        "app/docker-compose.yml",
        cwd=tmp_path,
    )
    assert converted.returncode == 0, converted.stderr
    assert f"note: web: volumes[0]: ./site/index.html is {app}/site/index.html" in (
        converted.stderr
    )
    assert f"note: web: volumes[2]: {home}/logs/web does not exist" in converted.stderr
    manifest = tmp_path / "containers.yaml"
    manifest.write_text(converted.stdout)
    assert not (home / "logs").exists()
    try:
        applied = _agent(docker_engine, namespace, tmp_path, env, "apply", *allow, str(manifest))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert engines.http_get(port, "/index.html") == (200, PAGE.encode())
        (cid,) = engines.list_namespace(docker_engine, namespace)
        seen = engines.run_cli(docker_engine, "exec", cid, "cat", "/www/index.html").stdout
        assert seen == PAGE
        mounts = json.loads(engines.run_cli(docker_engine, "inspect", cid).stdout)[0]["Mounts"]
        assert sorted((m["Source"], m["Destination"], m["RW"]) for m in mounts) == [
            (f"{app}/motd", "/etc/motd", False),
            (f"{app}/site/index.html", "/www/index.html", False),
            (f"{home}/logs/web", "/logs", True),
        ]
    finally:
        engines.remove_namespace(docker_engine, namespace)
    assert (home / "logs" / "web" / "seen").read_text() == "welcome\n"


def test_convert_file_lists_notes_service_by_service(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text(
        f"services:\n  a:\n    image: {IMAGE}\n    environment: [X=$NOPE]\n    links: [b]\n"
        f"  b:\n    image: {IMAGE}\n    expose: ['80']\nnetworks: {{}}\n"
    )
    text, notes = convert_file(str(path), {})
    assert notes == (
        "networks: not mapped (the agent's containers share the namespace's one network, on "
        "which each service answers to its name: no other is made)",
        "a: environment[0]: variable NOPE is not set: an empty string is used, as Compose does",
        "b: expose: not mapped (only published ports are in a manifest; the rest is reachable "
        "as it is)",
    )
    assert text.startswith("# Converted from c.yml")
    Manifest.from_dict(parse_document(text.encode(), "c"), "c")


ODD_VALUES: list[Any] = [
    None,
    0,
    1,
    True,
    "x",
    "",
    [],
    {},
    [1],
    [None],
    ["a:b:c:d"],
    {"a": 1},
    [{}],
    {1: "x"},
    {"a": [1]},
    [[1]],
    1.5,
    "${NOPE:-}",
]
FIELDS = [
    "image",
    "command",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "tmpfs",
    "restart",
    "working_dir",
    "healthcheck",
    "deploy",
    "mem_limit",
    "cpus",
    "pull_policy",
    "stop_grace_period",
    "build",
]


@pytest.mark.parametrize("field", FIELDS)
def test_odd_values_are_notes_or_errors(tmp_path: Path, field: str) -> None:
    """Whatever a field holds, the conversion gives a valid manifest or a ComposeError."""
    nested = (
        [{"ports": [{"target": v, "published": v, "host_ip": v}]} for v in ODD_VALUES]
        + [{"deploy": {"resources": v}} for v in ODD_VALUES]
        + [{"deploy": {"resources": {"limits": v, "reservations": v}}} for v in ODD_VALUES]
        + [{"healthcheck": {"test": v, "interval": v, "retries": v}} for v in ODD_VALUES]
        + [{"volumes": [{"type": v, "source": v, "target": v}]} for v in ODD_VALUES]
    )
    cases = [{field: value} for value in ODD_VALUES] + nested
    for i, extra in enumerate(cases):
        services = {"web": {"image": IMAGE, "restart": "always", **extra}, "ok": {"image": IMAGE}}
        volumes = {"v": ODD_VALUES[i]} if field == "build" and i < len(ODD_VALUES) else {"v": None}
        document = {"services": services, "volumes": volumes}
        path = tmp_path / f"c{i}.yml"
        path.write_text(yaml.safe_dump(document))
        try:
            converted = from_compose(str(path), {})
        except ComposeError:
            continue
        Manifest.from_dict(converted.manifest, "converted")


TWO_TIER = """\
services:
  web:
    image: {image}
    command: sh -c 'echo web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'
    ports: ["127.0.0.1:{port}:8080"]
    environment:
      DB_URL: http://db:8080/
    depends_on: [db]
    links: ["db:database"]
  db:
    image: {image}
    command: sh -c 'echo db-says-hi > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'
"""


def test_a_converted_two_tier_app_reaches_its_db_by_service_name(
    docker_engine: Engine, namespace: str, tmp_path: Path
) -> None:
    """A Compose app whose web names its db by service name, converted and applied by the
    agent on dockerd: web reaches db by ``db`` and by the link's alias, on the namespace's
    network, as under ``docker-compose up``; from the host only web's 127.0.0.1 port."""
    image = engines.build_busybox_image(docker_engine, BUSYBOX_TAG)
    port = engines.free_port()
    (tmp_path / "docker-compose.yml").write_text(TWO_TIER.format(image=image, port=port))
    env = docker_engine.environ()
    converted = _agent(
        docker_engine, namespace, tmp_path, env, "convert", "--from", "compose",
        "docker-compose.yml", cwd=tmp_path,
    )  # fmt: skip
    assert converted.returncode == 0, converted.stderr
    manifest = tmp_path / "containers.yaml"
    manifest.write_text(converted.stdout)
    try:
        applied = _agent(docker_engine, namespace, tmp_path, env, "apply", str(manifest))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert f"+ network {namespace}-net: made" in applied.stdout
        status, body = engines.http_get(port)
        assert (status, body) == (200, b"web\n")
        (web,) = [
            c
            for c in json.loads(
                engines.run_cli(
                    docker_engine, "inspect", *engines.list_namespace(docker_engine, namespace)
                ).stdout
            )
            if c["Config"]["Labels"]["io.container-agent.name"] == "web"
        ]
        for url in ("http://db:8080/", "http://database:8080/", "$DB_URL"):
            done = engines.run_cli(
                docker_engine, "exec", web["Id"], "sh", "-c", f'wget -qO- "{url}"'
            )
            assert done.stdout == "db-says-hi\n", url
    finally:
        engines.remove_namespace(docker_engine, namespace)

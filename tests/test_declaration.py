"""Container declarations of konlet's form through ``agent validate`` and ``agent convert``:
written afresh in the style of konlet's documentation and tests, each row a sentence."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest
import yaml

from agent import cli
from agent.manifest.models import DECLARATION, KONLET_LOGS, EmptyDir, HostDir
from agent.planning.spec import build_specs
from agent.sources.load import load_file

SIMPLE = """
    spec:
      containers:
        - name: hello
          image: gcr.io/example/hello:1.0
    # This container declaration format is not public API and may change without notice.
    """

WITH_ARGS = """
    spec:
      containers:
        - name: echo
          image: busybox
          command: [/bin/echo]
          args: [hello, world]
      restartPolicy: Never
    """

WITH_ENV = """
    spec:
      containers:
        - name: app
          image: busybox
          env:
            - {name: MODE, value: prod}
            - {name: EMPTY}
    """

WITH_VOLUMES = """
    spec:
      containers:
        - name: app
          image: busybox
          volumeMounts:
            - {name: logs, mountPath: /var/log/app}
            - {name: conf, mountPath: /etc/app, readOnly: true}
            - {name: scratch, mountPath: /scratch}
      volumes:
        - {name: logs, hostPath: {path: ALLOWED/logs}}
        - {name: conf, hostPath: {path: ALLOWED/conf}}
        - {name: scratch, emptyDir: {medium: Memory}}
    """

PRIVILEGED = """
    spec:
      containers:
        - name: admin
          image: busybox
          securityContext: {privileged: true}
    """

INTERACTIVE = """
    spec:
      containers:
        - {name: shell, image: busybox, stdin: true, tty: true}
      restartPolicy: OnFailure
    """


def write(tmp_path: Path, text: str, name: str = "declaration.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).replace("ALLOWED", str(tmp_path / "allowed")))
    return path


def validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *options: str
) -> tuple[int, str, str]:
    path = write(tmp_path, text)
    code = cli.main(["validate", *options, str(path)])
    out, err = capsys.readouterr()
    return code, out, err.replace(str(path), "FILE").replace(str(tmp_path), "TMP")


@pytest.mark.parametrize(
    ("text", "options"),
    [
        pytest.param(SIMPLE, [], id="a simple declaration"),
        pytest.param(WITH_ARGS, [], id="command and args"),
        pytest.param(WITH_ENV, [], id="env by name, a value left out"),
        pytest.param(WITH_VOLUMES, ["--allow-host-path", "ALLOWED"], id="hostPath and tmpfs"),
        pytest.param(PRIVILEGED, ["--allow-privileged"], id="privileged when allowed"),
        pytest.param(INTERACTIVE, [], id="stdin, tty and OnFailure"),
    ],
)
def test_a_valid_declaration_is_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, options: list[str]
) -> None:
    (tmp_path / "allowed" / "logs").mkdir(parents=True)
    (tmp_path / "allowed" / "conf").mkdir()
    given = [o.replace("ALLOWED", str(tmp_path / "allowed")) for o in options]
    code, out, err = validate(tmp_path, capsys, text, *given)
    assert (code, out, err) == (0, "OK: 1 container(s) in 1 manifest(s).\n", "")


INVALID = [
    pytest.param(
        """
        spec:
          containers:
            - {name: one, image: busybox}
            - {name: two, image: busybox}
        """,
        [],
        ["spec.containers: must hold exactly one container (konlet runs one), got 2"],
        id="two containers",
    ),
    pytest.param(
        "spec:\n  containers: []\n",
        [],
        ["spec.containers: must hold exactly one container (konlet runs one), got 0"],
        id="no container",
    ),
    pytest.param(
        """
        spec:
          containers:
            - {name: web, imag: busybox}
        """,
        [],
        [
            'spec.containers[web].imag: unknown field, did you mean "image"?',
            "spec.containers[web].image: is required",
        ],
        id="an unknown field, with a did-you-mean",
    ),
    pytest.param(
        """
        spec:
          containers:
            - name: web
              image: busybox
              volumeMounts: [{name: data, mountPath: /data}]
        """,
        [],
        ["spec.containers[web].volumeMounts[0].name: names no volume of spec.volumes: 'data'"],
        id="a mount without a volume",
    ),
    pytest.param(
        """
        spec:
          containers:
            - {name: web, image: busybox}
          volumes:
            - {name: data, hostPath: {path: /srv/data}}
        """,
        [],
        [
            "spec.volumes[0]: volume 'data' is mounted by no container (every volume of a "
            "declaration must be mounted, as konlet requires)"
        ],
        id="a volume without a mount",
    ),
    pytest.param(
        """
        spec:
          containers:
            - name: web
              image: busybox
              volumeMounts: [{name: scratch, mountPath: /scratch}]
          volumes:
            - {name: scratch, emptyDir: {}}
        """,
        [],
        [
            "spec.volumes[0].emptyDir.medium: must be Memory, got '': an emptyDir is a tmpfs, "
            "as konlet makes it (for files kept on disk, use hostPath)"
        ],
        id="an emptyDir without medium Memory",
    ),
    pytest.param(
        """
        spec:
          containers:
            - name: db
              image: postgres
              volumeMounts: [{name: pd, mountPath: /var/lib/postgresql}]
          volumes:
            - name: pd
              gcePersistentDisk: {pdName: db-disk, fsType: ext4}
        """,
        [],
        [
            "spec.volumes[0].gcePersistentDisk: the GCE persistent disk 'db-disk' cannot be "
            "attached by container-agent: there is no GCE disk to attach on this host; mount "
            "the disk on the host and use hostPath"
        ],
        id="a gcePersistentDisk, naming the disk",
    ),
    pytest.param(
        PRIVILEGED,
        [],
        [
            "spec.containers[admin].securityContext.privileged: a privileged container is not "
            "allowed: it gets every device and capability of the host; allow it with "
            "--allow-privileged"
        ],
        id="privileged without --allow-privileged",
    ),
    pytest.param(
        """
        spec:
          containers:
            - name: web
              image: busybox
              volumeMounts: [{name: etc, mountPath: /host-etc}]
          volumes:
            - {name: etc, hostPath: {path: /etc}}
        """,
        [],
        [
            "spec.volumes[0].hostPath.path: host path '/etc' is not allowed: host directories "
            "must be under a prefix given with --allow-host-path PREFIX (allowed now: none; "
            "symbolic links are followed first)"
        ],
        id="a host path outside every allowed prefix",
    ),
    pytest.param(
        """
        spec:
          containers:
            - name: web
              image: busybox
              ports: [{containerPort: 80}]
              env: [{name: 1BAD, value: x}]
              command: ["", -c]
              args: [ok, 3]
              stdin: yes please
          restartPolicy: Sometimes
        """,
        [],
        [
            "spec.restartPolicy: must be one of Always, OnFailure, Never, got 'Sometimes'",
            "spec.containers[web].ports: is not supported by container-agent: a declaration's "
            "container is on the host's network and publishes no ports (write a v1beta1 "
            "manifest for published ports)",
            "spec.containers[web].command[0]: must name the program to run, got an empty string",
            "spec.containers[web].args[1]: must be a string, got 3 (an integer)",
            "spec.containers[web].env[0].name: must be a C identifier (letters, digits, '_'), "
            "got '1BAD'",
            "spec.containers[web].stdin: must be true or false, got 'yes please' (a string)",
        ],
        id="every error at once, each at its field",
    ),
]


@pytest.mark.parametrize(("text", "options", "errors"), INVALID)
def test_an_invalid_declaration_is_refused_with_every_error_at_its_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    options: list[str],
    errors: list[str],
) -> None:
    code, out, err = validate(tmp_path, capsys, text, *options)
    assert code == cli.EXIT_INVALID
    assert out == ""
    assert err.splitlines() == [f"FILE: {line}" for line in errors]


def test_fields_keep_konlets_meaning(tmp_path: Path) -> None:
    manifest = load_file(str(write(tmp_path, WITH_ARGS)))
    assert manifest.version == DECLARATION
    (container,) = manifest.containers
    assert container.entrypoint == ("/bin/echo",)  # command: the ENTRYPOINT
    assert container.command == ("hello", "world")  # args: its arguments
    assert container.restart_policy == "Never"
    assert container.host_network  # always, as konlet ran it
    assert container.log_limits == KONLET_LOGS
    assert (KONLET_LOGS.max_size, KONLET_LOGS.max_files) == ("500m", 3)
    simple = load_file(str(write(tmp_path, SIMPLE))).containers[0]
    assert (simple.entrypoint, simple.command, simple.restart_policy) == (None, (), "Always")
    volumes = load_file(str(write(tmp_path, WITH_VOLUMES))).containers[0].volume_mounts
    assert [(m.path, m.read_only, m.source) for m in volumes] == [
        ("/var/log/app", False, HostDir(str(tmp_path / "allowed" / "logs"))),
        ("/etc/app", True, HostDir(str(tmp_path / "allowed" / "conf"))),
        ("/scratch", False, EmptyDir("Memory")),
    ]
    env = load_file(str(write(tmp_path, WITH_ENV))).containers[0].env
    assert [(e.key, e.value) for e in env] == [("MODE", "prod"), ("EMPTY", "")]


def test_a_v1beta1_manifest_with_a_spec_field_is_no_declaration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = validate(tmp_path, capsys, "version: v1beta1\nspec: {}\ncontainers: []\n")
    assert code == cli.EXIT_INVALID
    assert err == "FILE: spec: unknown field\n"


def test_an_upgrade_replaces_no_v1beta1_container_and_a_declaration_hashes_its_fields(
    tmp_path: Path,
) -> None:
    plain = write(tmp_path, "version: v1beta1\ncontainers: [{name: a, image: busybox}]\n", "a.yaml")
    (spec,) = build_specs(load_file(str(plain)).containers, "ns", "/export")
    # The hash this container had before entrypoints, host networks and log limits existed.
    effective_before = (
        '{"command":[],"env":[],"image":"busybox","mounts":[],"name":"a",'
        '"namespace":"ns","ports":[],"workingDir":null}'
    )
    assert spec.hash == hashlib.sha256(effective_before.encode()).hexdigest()
    declared = write(tmp_path, WITH_ARGS, "d.yaml")
    (decl,) = build_specs(load_file(str(declared)).containers, "ns", "/export")
    assert decl.entrypoint == ("/bin/echo",) and decl.host_network and decl.hostname is None


def convert(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    code = cli.main(["convert", *argv])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def test_a_declaration_converts_to_v1beta1_and_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_args = WITH_VOLUMES.replace(
        "          volumeMounts:", "          args: [run]\n          volumeMounts:"
    )
    source = write(tmp_path, with_args)
    code, text, notes = convert("--to", "v1beta1", str(source), capsys=capsys)
    assert code == 0
    manifest = yaml.safe_load(text)
    assert manifest["version"] == "v1beta1"
    (container,) = manifest["containers"]
    assert container["command"] == ["run"] and "entrypoint" not in container
    assert container["hostNetwork"] is True
    scratch = {"name": "scratch", "source": {"emptyDir": {"medium": "Memory"}}}
    assert manifest["volumes"][2] == scratch
    assert [n.replace(str(source), "FILE") for n in notes] == [
        "note: FILE: spec.containers[app]: hostNetwork: true, as the declaration ran it; a "
        "v1beta1 manifest's host network needs --allow-host-network (or give ports instead)",
        "note: FILE: spec.containers[app]: logs bounded at 500m x 3 (json-file): not converted, "
        "a v1beta1 container has the engine's default logging",
    ]
    converted = tmp_path / "v1beta1.yaml"
    converted.write_text(text)
    code, back, notes = convert("--to", "declaration", str(converted), capsys=capsys)
    assert code == 0
    expected = yaml.safe_load(source.read_text())
    expected["spec"]["restartPolicy"] = "Always"  # the default, written out
    assert yaml.safe_load(back) == expected
    assert [n.replace(str(converted), "FILE") for n in notes] == [
        "note: FILE: containers[app]: its logs are json-file bounded at 500m x 3, as konlet's were"
    ]


def test_a_manifest_of_two_containers_is_no_declaration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two = write(
        tmp_path,
        "version: v1beta1\ncontainers: [{name: a, image: busybox}, {name: b, image: busybox}]\n",
        "two.yaml",
    )
    code, out, err = convert("--to", "declaration", str(two), capsys=capsys)
    assert (code, out) == (cli.EXIT_INVALID, "")
    assert err == [
        f"agent: {two}: a container declaration holds exactly one container, this manifest has 2"
    ]


def test_what_a_declaration_cannot_say_is_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = write(
        tmp_path,
        """
        version: v1beta1
        containers:
          - name: web
            image: busybox
            command: [httpd, -f]
            workingDir: /srv
            ports: [{containerPort: 8080, hostPort: 8080}]
            volumeMounts: [{name: site, path: /srv}]
        volumes:
          - name: site
        """,
        "web.yaml",
    )
    code, text, notes = convert(
        "--to", "declaration", "--volumes-root", "/export", str(web), capsys=capsys
    )
    assert code == 0
    assert yaml.safe_load(text) == {
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "busybox",
                    "args": ["httpd", "-f"],
                    "volumeMounts": [{"name": "site", "mountPath": "/srv"}],
                }
            ],
            "volumes": [{"name": "site", "hostPath": {"path": "/export/site"}}],
            "restartPolicy": "Always",
        }
    }
    assert [n.replace(str(web), "FILE") for n in notes] == [
        "note: FILE: containers[web].workingDir: not converted: a container declaration has "
        "no such field",
        "note: FILE: containers[web].ports: not converted: a declaration's container runs on "
        "the host's network, where its processes listen on the host's ports themselves",
        "note: FILE: containers[web]: its logs are json-file bounded at 500m x 3, as konlet's were",
        "note: FILE: volumes[0]: hostPath /export/site (the directory the agent made under "
        "--volumes-root); it must exist and be under an --allow-host-path prefix",
    ]


def test_a_declaration_as_a_kubernetes_pod(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, WITH_ARGS)
    code, text, notes = convert(
        "--to", "kubernetes", "--namespace", "ns", str(source), capsys=capsys
    )
    assert code == 0
    pod = yaml.safe_load(text)
    assert pod["spec"]["hostNetwork"] is True and "hostname" not in pod["spec"]
    (container,) = pod["spec"]["containers"]
    assert (container["command"], container["args"]) == (["/bin/echo"], ["hello", "world"])
    assert [n.replace(str(source), "FILE") for n in notes if str(source) in n] == [
        "note: FILE: spec.containers[echo]: logs bounded at 500m x 3 (json-file): not "
        "converted, a Pod's logs are rotated by the kubelet's settings"
    ]
    interactive = write(tmp_path, INTERACTIVE, "interactive.yaml")
    code, text, _ = convert("--to", "kubernetes", str(interactive), capsys=capsys)
    (container,) = yaml.safe_load(text)["spec"]["containers"]
    assert (container["stdin"], container["tty"]) == (True, True)


V1BETA1 = [
    pytest.param(
        "    entrypoint: []\n",
        [],
        ["containers[app].entrypoint: must have at least one item (or be left out)"],
        id="an empty entrypoint",
    ),
    pytest.param(
        "    entrypoint: ['', x]\n",
        [],
        ["containers[app].entrypoint[0]: must name the program to run, got an empty string"],
        id="an entrypoint without a program",
    ),
    pytest.param(
        "    hostNetwork: true\n",
        [],
        [
            "containers[app].hostNetwork: the host's network is not allowed: the container "
            "would share the host's addresses and ports; allow it with --allow-host-network"
        ],
        id="host network without --allow-host-network",
    ),
    pytest.param(
        "    hostNetwork: true\n", ["--allow-host-network"], [], id="host network allowed"
    ),
    pytest.param(
        "    privileged: true\n    hostNetwork: true\n",
        ["--allow-host-network"],
        [
            "containers[app].privileged: a privileged container is not allowed: it gets every "
            "device and capability of the host; allow it with --allow-privileged"
        ],
        id="privileged without --allow-privileged, one option is not the other",
    ),
    pytest.param(
        "    entrypoint: [sh, -c]\n    command: [echo hi]\n    stdin: true\n    tty: true\n",
        [],
        [],
        id="entrypoint, command, stdin and tty",
    ),
]


@pytest.mark.parametrize(("fields", "options", "errors"), V1BETA1)
def test_the_new_v1beta1_fields_through_validate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fields: str,
    options: list[str],
    errors: list[str],
) -> None:
    text = f"version: v1beta1\ncontainers:\n  - name: app\n    image: busybox\n{fields}"
    code, out, err = validate(tmp_path, capsys, text, *options)
    if errors:
        assert (code, out) == (cli.EXIT_INVALID, "")
        assert err.splitlines() == [f"FILE: {line}" for line in errors]
    else:
        assert (code, out, err) == (0, "OK: 1 container(s) in 1 manifest(s).\n", "")

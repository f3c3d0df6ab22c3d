"""``agent run`` over a directory in which one file is edited to claim a container name of
another, unchanged file, on every target: the edited file is refused and keeps its own
content in force, and the unchanged file keeps everything, its containers still managed.

Run with the edited file named first (``b.yaml``) and named last (``d.yaml``), beside the
unchanged ``c.yaml``, so that the order of the files cannot decide.
"""

from __future__ import annotations

import pytest

from agent.testing import Workspace, wait_for
from agent.testing.contract.manifests import manifest


def sleepers(*containers: tuple[str, int]) -> str:
    items = "".join(
        f"""
          - name: {name}
            image: IMAGE
            command: [sleep, '{seconds}']"""
        for name, seconds in containers
    )
    return manifest(f"\ncontainers:{items}\n")


def _command(ws: Workspace, name: str) -> list[str]:
    found: list[str] = ws.container(name)["Config"]["Cmd"]
    return found


def _started(ws: Workspace, name: str) -> str:
    """When the container last started; empty while it is not running."""
    state = ws.container(name)["State"]
    return str(state["StartedAt"]) if state["Running"] else ""


def _kill_and_wait_for_restart(ws: Workspace, name: str) -> None:
    started = _started(ws, name)
    ws.cli("kill", ws.container(name)["Id"])
    wait_for(lambda: _started(ws, name) not in ("", started), 60, f"{name} restarted")


@pytest.mark.parametrize("edited", ["b.yaml", "d.yaml"], ids=["edited named first", "last"])
def test_an_edit_claiming_another_files_name_is_refused(ws: Workspace, edited: str) -> None:
    conf = ws.root / "conf"
    conf.mkdir()
    edited_file, unchanged_file = conf / edited, conf / "c.yaml"
    edited_file.write_text(sleepers(("db", 3600)))
    unchanged_file.write_text(sleepers(("auth", 3601), ("log", 3602)))
    with ws.running("--reload=1", sources=[str(conf)]) as (_, log):
        wait_for(lambda: ws.running_names() == ["auth", "db", "log"], 90, "all three running")
        ids = {c["Config"]["Labels"]["io.container-agent.name"]: c["Id"] for c in ws.containers()}

        edited_file.write_text(sleepers(("db", 3600), ("auth", 9999)))
        expected = (
            f"{edited_file}: containers[auth].name: 'auth' is also defined in {unchanged_file}"
        )
        wait_for(lambda: expected in log.read_text(), 30, "the conflict in the log")
        assert "its last valid content stays in force" in log.read_text()

        # The unchanged file's containers stay managed while the conflict lasts.
        _kill_and_wait_for_restart(ws, "log")
        _kill_and_wait_for_restart(ws, "db")  # under the edited file's old content
        assert _command(ws, "auth") == ["sleep", "3601"]
        current = {
            c["Config"]["Labels"]["io.container-agent.name"]: c["Id"] for c in ws.containers()
        }
        assert current == ids, "no container replaced, none added"

        edited_file.write_text(sleepers(("db", 3600)))
        wait_for(lambda: "no longer in conflict" in log.read_text(), 30, "the conflict over")
        assert ws.running_names() == ["auth", "db", "log"]
        assert _command(ws, "auth") == ["sleep", "3601"]
    assert "Traceback" not in log.read_text()
    assert log.read_text().count(expected) == 1, "logged once while it lasts"

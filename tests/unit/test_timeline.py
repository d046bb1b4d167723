# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rewind.rollback.timeline callback: phase grouping, metrics, and where it writes.

The full rollback through the CLI is checked in test_cli.py; here the metrics are computed on
hand-made timelines, and the callback runs under plain ansible-playbook (no CLI, no runner).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ansible.module_utils import _internal

from ansible_collections.rewind.rollback.plugins.module_utils._messages import redact

# Importing a controller plugin flips ansible-core's process-wide "this is the controller" flag, after
# which modules unit-tested in this same pytest process send their warnings to the controller's display
# instead of their result. The functions tested here need no controller: put the flag back.
_WAS_CONTROLLER = _internal.is_controller
from ansible_collections.rewind.rollback.plugins.callback.timeline import compute_metrics, iso, phase_of  # noqa: E402
_internal.is_controller = _WAS_CONTROLLER

FIXTURE = Path(__file__).parent / "fixtures" / "cli"
ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0


@pytest.mark.parametrize("path, play, phase", [
    ("/srv/rewind/roles/laravel/tasks/restore.yml:12", "Roll back", "restore"),
    ("/srv/rewind/roles/common/tasks/maintenance_on.yaml:3", "Roll back", "maintenance_on"),
    ("/srv/rewind/roles/laravel/tasks/main.yml:5", "Roll back", "Roll back"),
    ("/srv/rewind/roles/laravel/handlers/main.yml:1", "Roll back", "Roll back"),
    ("/srv/rewind/playbooks/rollback.yml:40", "Roll back", "Roll back"),
    (None, "", "play"),
])
def test_phase_is_the_task_file_stem(path, play, phase):
    assert phase_of(path, play) == phase


def seg(phase, start, end, status="ok"):
    return {"phase": phase, "start": iso(T0 + start), "start_s": T0 + start, "end": iso(T0 + end),
            "end_s": T0 + end, "duration_s": end - start, "status": status, "tasks": 1}


def doc(hosts, incident=None, level=None, status="ok", end=100.0):
    return {"hosts": {name: {"phases": phases} for name, phases in hosts.items()}, "incident": incident,
            "level": level, "status": status, "started_s": T0, "ended_s": T0 + end}


FULL = {"number": 5, "name": "full", "budget_min": 120}
ROLLBACK = ["maintenance_on", "snapshot", "stop", "restore", "restart", "verify", "maintenance_off"]


def fleet(offset=0.0):
    return [seg(p, offset + 10 * i, offset + 10 * i + 8) for i, p in enumerate(ROLLBACK)]


def test_downtime_runs_from_maintenance_on_to_off_over_the_fleet():
    m = compute_metrics(doc({"web1": fleet(), "web2": fleet(offset=3)}, level=FULL))
    # maintenance_on ends at 8 (web1), maintenance_off ends at 68 + 3 (web2)
    assert m["downtime_s"] == pytest.approx(71 - 8)
    assert m["downtime_open"] is False


def test_without_maintenance_downtime_runs_from_stop_to_restart():
    phases = [seg("stop", 5, 7), seg("restore", 7, 20), seg("restart", 20, 24), seg("verify", 24, 25)]
    m = compute_metrics(doc({"app": phases}))
    assert m["downtime_s"] == pytest.approx(24 - 5)


def test_skipped_phases_do_not_count():
    phases = [seg("maintenance_on", 0, 1, "skipped"), seg("stop", 5, 7), seg("restart", 20, 24),
              seg("maintenance_off", 24, 25, "skipped")]
    assert compute_metrics(doc({"app": phases}))["downtime_s"] == pytest.approx(19)


def test_a_run_that_stops_in_maintenance_leaves_the_downtime_open():
    phases = fleet()[:-2] + [seg("verify", 50, 58, "failed")]
    m = compute_metrics(doc({"web1": phases}, level=FULL, status="failed", end=60))
    assert m["downtime_open"] is True and m["downtime_s"] == pytest.approx(60 - 8)
    assert m["rto_met"] is False


def test_detect_decide_and_rollback_add_up_to_the_whole_incident():
    incident = {"started_at": iso(T0 - 600), "triggers": [
        {"name": "p95", "fired": False, "at": iso(T0 - 500)},
        {"name": "errors", "fired": True, "at": iso(T0 - 300)},
        {"name": "health", "fired": True, "at": iso(T0 - 200)}]}
    phases = [seg("decide", 0, 4)] + fleet(offset=5)
    m = compute_metrics(doc({"web1": phases}, incident=incident, level=FULL))
    assert m["detected_by"] == "trigger" and m["time_to_detect_s"] == pytest.approx(300)
    assert m["decided_by"] == "decide phase" and m["time_to_decide_s"] == pytest.approx(304)
    assert m["time_to_rollback_s"] == pytest.approx(5 + 58 - 4)   # to the end of verify
    assert m["time_to_detect_s"] + m["time_to_decide_s"] + m["time_to_rollback_s"] == pytest.approx(600 + 63)


def test_the_incident_can_say_when_it_was_detected_and_decided():
    incident = {"started_at": "2023-11-14T22:00:00Z", "detected_at": iso(T0 - 120), "decided_at": iso(T0 - 60)}
    m = compute_metrics(doc({"web1": fleet()}, incident=incident, level=FULL))
    assert (m["detected_by"], m["decided_by"]) == ("incident", "incident")
    assert m["time_to_decide_s"] == pytest.approx(60)
    assert m["time_to_rollback_s"] == pytest.approx(60 + 58)


def test_without_an_incident_only_the_rollback_is_timed():
    m = compute_metrics(doc({"web1": fleet()}))
    assert m["time_to_detect_s"] is None and m["time_to_decide_s"] is None
    assert m["decided_by"] == "run start" and m["time_to_rollback_s"] == pytest.approx(58)
    assert m["rto_s"] is None and m["rto_met"] is None


@pytest.mark.parametrize("budget_min, met", [(1, True), (0.5, False)])
def test_rto_is_the_level_budget_against_the_time_to_roll_back(budget_min, met):
    level = {"number": 1, "name": "flag", "budget_min": budget_min}
    assert compute_metrics(doc({"web1": fleet()}, level=level))["rto_met"] is met


def test_redaction_reaches_nested_secrets():
    data = {"db": {"user": "app", "password": "p"}, "hooks": [{"slack_webhook_token": "t"}], "ApiKey": "k",
            "client_secret": "s", "when": 3, "restored": ["code r41"]}
    assert redact(data) == {"db": {"user": "app", "password": "********"}, "hooks": [{"slack_webhook_token": "********"}],
                            "ApiKey": "********", "client_secret": "********", "when": 3, "restored": ["code r41"]}


@pytest.fixture(scope="module")
def plain_runs():
    """fixtures/cli/playbooks/plain.yml under plain ansible-playbook: once writing into the current
    directory, once with ansible-runner's AWX_ISOLATED_DATA_DIR set."""
    with tempfile.TemporaryDirectory(prefix="rewind-timeline-") as tmp:
        yield _plain_runs(Path(tmp))


def _plain_runs(tmp):
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="rewind.rollback.timeline",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".ansible" / "collections"),
               ANSIBLE_ROLES_PATH=str(FIXTURE / "roles"), ANSIBLE_NOCOLOR="1")
    env.pop("REWIND_RUN_DIR", None)
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(FIXTURE / "inventories" / "demo"),
               str(FIXTURE / "playbooks" / "plain.yml")]
    (tmp / "cwd").mkdir()
    (tmp / "artifacts").mkdir()
    procs = [subprocess.Popen(command, cwd=tmp / "cwd", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
             subprocess.Popen(command, cwd=tmp, env=dict(env, AWX_ISOLATED_DATA_DIR=str(tmp / "artifacts")),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out.decode()
    return tmp


def test_without_rewind_run_dir_it_writes_into_the_current_directory(plain_runs):
    assert (plain_runs / "cwd" / "rewind-timeline.json").is_file()


def test_under_ansible_runner_it_writes_into_the_artifact_folder(plain_runs):
    assert (plain_runs / "artifacts" / "timeline.json").is_file()
    assert not (plain_runs / "rewind-timeline.json").exists()


def test_tasks_outside_phase_files_count_under_the_play(plain_runs):
    timeline = json.loads((plain_runs / "cwd" / "rewind-timeline.json").read_text())
    assert timeline["playbook"] == "plain.yml" and timeline["status"] == "ok"
    phases = [(s["phase"], s["tasks"]) for s in timeline["hosts"]["web1"]["phases"]]
    # playbook task, then restart.yml, then the rest of the playbook and the handler
    assert phases == [("Plain play", 1), ("restart", 1), ("Plain play", 3)]
    assert [p["phase"] for p in timeline["phases"]] == ["Plain play", "restart", "Plain play"]


def test_no_plan_no_result_no_level_is_fine(plain_runs):
    timeline = json.loads((plain_runs / "cwd" / "rewind-timeline.json").read_text())
    web1 = timeline["hosts"]["web1"]
    assert web1["facts"] == {"rewind_note": "in the playbook"}  # the no_log fact is never read
    assert web1["failure"] is None and web1["stats"]["ignored"] == 1
    assert timeline["level"] is None and timeline["metrics"]["rto_met"] is None
    assert timeline["metrics"]["downtime_s"] is None
    assert "never-in-the-timeline" not in json.dumps(timeline)


@pytest.fixture(scope="module")
def boundary_timeline(tmp_path_factory):
    """fixtures/cli/playbooks/boundary.yml under plain ansible-playbook."""
    tmp = tmp_path_factory.mktemp("boundary")
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="rewind.rollback.timeline", REWIND_RUN_DIR=str(tmp),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".ansible" / "collections"),
               ANSIBLE_ROLES_PATH=str(FIXTURE / "roles"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(FIXTURE / "inventories" / "demo"),
                           str(FIXTURE / "playbooks" / "boundary.yml")], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((tmp / "timeline.json").read_text())


def test_a_phase_boundary_counts_in_the_phase_it_opens_and_done_in_the_one_it_closes(boundary_timeline):
    phases = [(s["phase"], s["tasks"]) for s in boundary_timeline["hosts"]["web1"]["phases"]]
    # stop: its boundary, its wait (skipped); the `done` boundary; then the notify task under the play
    assert phases == [("maintenance_on", 1), ("stop", 4), ("Boundary play", 1)], phases


def test_a_notify_task_that_fails_is_a_message_no_channel_received(boundary_timeline):
    (note,) = boundary_timeline["notifications"]
    assert note["template"] == "completed" and note["delivered"] == []
    assert [f["channel"] for f in note["undelivered"]] == ["all"] and "smtp_port" in note["undelivered"][0]["error"]

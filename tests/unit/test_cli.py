# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rewind CLI end to end: real ansible-runner runs of the fixture playbooks (tests/unit/fixtures/cli,
two local hosts, the rollback phases as role task files), with a real webhook receiver and SMTP server.

Each scenario is one `rewind` process, run one at a time (the CI machine has two cores, shared), each
with its own run folder and a per-run timeout that stops it rather than hang the suite; each test then
checks one of them: the run folder and its content, the exit status of each documented case. No test
depends on another's order: the scenarios all run in the module fixture, before any test looks. The
interrupted scenario waits in its stop phase until the test sees that phase running on both hosts in
timeline.json, and only then gets its Ctrl-C: there is no time window to miss.
"""

import datetime
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from rewind import cli
from rewind.exitcodes import Exit

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "cli"))
from servers import SMTPServer, WebhookReceiver, closed_port  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "cli"
SRC = Path(__file__).resolve().parents[2] / "src"
ROLLBACK_PHASES = ["validate", "plan", "maintenance_on", "snapshot", "stop", "restore", "permissions",
                   "restart", "verify", "maintenance_off"]
SECRET = "s3cr3t-token-value"
# A safety net against a hung run, never a pass/fail criterion: a scenario takes 1-3 s alone on a quiet
# machine, ~10 s with both cores busy.
RUN_TIMEOUT = 180


def _rewind():
    script = Path(sys.executable).parent / "rewind"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rewind"]


def _ago(minutes):
    return (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)).isoformat()


def _env():
    # This checkout's rewind, whichever checkout the venv's editable install points at. ANSIBLE_CONFIG
    # stays as the caller exported it (scripts/test exports the collection's): the CLI must use the
    # project's own ansible.cfg regardless.
    return dict(os.environ, NO_COLOR="1", PYTHONPATH=os.pathsep.join(
        [str(SRC)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))


def _descendants(pid):
    """The ids of every process under ``pid`` (children first found through /proc)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Run:
    """One `rewind` process with its own runs folder; ``wait`` never blocks longer than RUN_TIMEOUT."""

    def __init__(self, name, args, runs_dir):
        self.name, self.args, self.runs_dir = name, args, runs_dir
        self.code = self.out = self.err = None
        self.problem = None  # why the run did not end by itself (timeout), for the failing test to say
        self.proc = subprocess.Popen(
            _rewind() + args + ["--project-dir", str(FIXTURE), "--runs-dir", str(runs_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True)
        self.deadline = time.monotonic() + RUN_TIMEOUT

    def wait(self):
        if self.code is None:
            try:
                self.out, self.err = self.proc.communicate(timeout=max(1, self.deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.problem = "no exit within %d s: interrupted, then killed" % RUN_TIMEOUT
                self._stop()
            self.code = self.proc.returncode
        return self

    def _stop(self):
        """Ctrl-C first (rewind cancels ansible-playbook, which runs in its own pty session), then kill
        rewind and every process under it, that session's included."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.out, self.err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            for pid in [self.proc.pid] + _descendants(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.out, self.err = self.proc.communicate()

    def __repr__(self):
        return "<rewind %s: exit %s%s>\nstderr (end):\n%s" % (
            " ".join(self.args), self.code, ", %s" % self.problem if self.problem else "", (self.err or "")[-3000:])

    @property
    def run_dir(self):
        folders = [p for p in self.runs_dir.iterdir() if p.is_dir()] if self.runs_dir.exists() else []
        assert len(folders) == 1, "expected one run folder in %s, found %s" % (self.runs_dir, folders)
        return folders[0]

    def json(self, name):
        return json.loads((self.run_dir / name).read_text())


@pytest.fixture(scope="module")
def servers():
    with WebhookReceiver() as slack, WebhookReceiver() as page, SMTPServer() as smtp, \
            SMTPServer(refuse=True) as refusing:
        yield {"slack": slack, "page": page, "smtp": smtp, "refusing": refusing}


@pytest.fixture(scope="module")
def runs(servers):
    # Our own folder, not tmp_path_factory's: pytest prunes old basetemps of concurrent sessions.
    with tempfile.TemporaryDirectory(prefix="rewind-cli-") as tmp:
        yield from _runs(Path(tmp), servers)


def _runs(tmp, servers):
    incident = tmp / "incident.yml"
    incident.write_text(yaml.safe_dump({
        "id": "INC-2042", "title": "Checkout errors after release r42", "started_at": _ago(10),
        "detected_at": _ago(6), "impact": "Checkout failing for about 30% of users", "lead": "alice",
        "contact": "#ops-oncall", "company": "Example Shop", "support": "support@example.com",
        "triggers": [{"name": "error_rate_over_5pct", "fired": True, "at": _ago(7)}]}))
    backups = tmp / "backups"
    backups.mkdir()
    dump = gzip.compress(b"-- MySQL dump\nCREATE TABLE t (id int);\n-- Dump completed on 2025-11-23\n")
    (backups / "db_backup_20251123.sql.gz").write_bytes(dump)
    (backups / "db_backup_20251122.sql.gz").write_bytes(dump[:30])  # cut off mid-copy
    quiet = tmp / "quiet.yml"
    quiet.write_text(yaml.safe_dump({"id": "INC-2043", "triggers": [{"name": "error_rate_over_5pct", "fired": False}]}))
    channels = ["-e", "demo_slack_url=%s" % servers["slack"].url("/services/T0/B0/XXXX"),
                "-e", "demo_webhook_url=%s" % servers["page"].url(),
                "-e", "demo_smtp_host=127.0.0.1", "-e", "demo_smtp_port=%d" % servers["smtp"].port]
    down = ["-e", "demo_slack_url=%s" % servers["slack"].url("/services/T0/B0/YYYY"),
            "-e", "demo_webhook_url=http://127.0.0.1:%d/hook" % closed_port(),
            "-e", "demo_smtp_host=127.0.0.1", "-e", "demo_smtp_port=%d" % servers["refusing"].port]
    scenarios = {
        "ok": ["run", "--level", "full", "--reason", "checkout errors", "--incident", str(incident)] + channels,
        "notify_down": ["run", "--level", "code", "--reason", "checkout errors"] + down,
        "plan": ["plan", "--level", "database", "--json", "--tier", "demo"],
        "input": ["run", "--level", "full", "-e", "demo_fail=input"],
        "verify": ["run", "--level", "full", "-e", "demo_fail=verify"],
        "locked": ["run", "--level", "full", "-e", "demo_fail=locked"],
        "backup": ["run", "--level", "full", "-e", "demo_fail=backup"],
        "crash": ["run", "--level", "full", "-e", "demo_fail=crash"],
        "decide": ["decide", "--incident", str(incident), "--json"],
        "no_rollback": ["decide", "--incident", str(quiet)],
        # waits in its stop phase until interrupted (an hour: only the interrupt can end it in time)
        "interrupted": ["run", "--level", "full", "-e", "demo_sleep=3600", "--no-progress"],
        "backups_list": ["backups", "list", "--root", str(backups), "--limit", "web1", "--json"],
        "backups_verify": ["backups", "verify", "--root", str(backups), "--limit", "web1"],
    }

    done = {}
    for name, args in scenarios.items():  # one at a time: no run competes with another for the CPU
        run = Run(name, args, tmp / name)
        if name == "interrupted":
            _interrupt_during_stop(run)
        done[name] = run.wait()
    yield done | {"tmp": tmp}


def _interrupt_during_stop(run):
    """Ctrl-C once the stop phase's wait is running on both hosts, as the timeline callback records it.

    No time window: the wait lasts an hour. If the run exits before, or the deadline of the run passes,
    the scenario's test fails with the run's own output.
    """
    while run.proc.poll() is None and time.monotonic() < run.deadline:
        try:
            hosts = run.json("timeline.json")["hosts"]
            if len(hosts) == 2 and all(h["phases"] and h["phases"][-1]["phase"] == "stop" for h in hosts.values()):
                run.proc.send_signal(signal.SIGINT)
                return
        except (AssertionError, OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    run.problem = "never reached the stop phase on both hosts"


def _segments(timeline, host):
    return timeline["hosts"][host]["phases"]


def _epoch(value):
    return datetime.datetime.fromisoformat(value).timestamp()


# -- the successful run: the run folder and what it says --------------------------------------------
def test_run_writes_the_run_folder(runs):
    run = runs["ok"]
    assert run.code == 0, run
    folder = run.run_dir
    for name in ("timeline.json", "result.json", "report.md", "report.html", "timeline.svg",
                 "messages/initiated.txt", "messages/completed.txt", "messages/customer.txt",
                 "runner/env/extravars", "runner/env/cmdline"):
        assert (folder / name).is_file(), name
    artifacts = folder / "runner" / "artifacts" / folder.name
    for name in ("stdout", "rc", "status", "command"):
        assert (artifacts / name).is_file(), name
    assert list((artifacts / "job_events").glob("*.json"))
    assert (folder / "runner" / "inventory").resolve() == (FIXTURE / "inventories" / "demo").resolve()
    assert "rollback completed: level 5 (full) on db1, web1" in run.out and str(folder) in run.out


def test_run_shows_live_progress_per_phase_and_host(runs):
    err = runs["ok"].err
    for phase in ROLLBACK_PHASES:
        for host in ("web1", "db1"):
            assert any(host in line and " %s " % phase in line and "started" in line for line in err.splitlines()), \
                (host, phase)
    assert any("db1" in line and " restore " in line and "ok" in line and "(1 task)" in line for line in err.splitlines())


def test_timeline_phases_and_durations_add_up(runs):
    run = runs["ok"]
    timeline = run.json("timeline.json")
    assert timeline["status"] == "ok" and timeline["run_id"] == run.run_dir.name
    assert timeline["playbook"] == "rollback.yml" and timeline["inputs"]["level"] == "full"
    total = timeline["duration_s"]
    for host in ("web1", "db1"):
        segs = _segments(timeline, host)
        names = [s["phase"] for s in segs]
        assert [n for n in names if n in ROLLBACK_PHASES] == ROLLBACK_PHASES, names
        for seg in segs:
            assert seg["duration_s"] == pytest.approx(seg["end_s"] - seg["start_s"], abs=0.002)
            assert _epoch(seg["start"]) == pytest.approx(seg["start_s"], abs=0.002)
        for before, after in zip(segs, segs[1:]):
            assert before["end_s"] <= after["start_s"] + 0.001, (before["phase"], after["phase"])
        assert sum(s["duration_s"] for s in segs) <= total
        assert segs[0]["start_s"] >= timeline["started_s"] and segs[-1]["end_s"] <= timeline["ended_s"]
    assert [s["phase"] for s in _segments(timeline, "web1")].count("notify") == 2
    stop = {h: next(s for s in _segments(timeline, h) if s["phase"] == "stop") for h in ("web1", "db1")}
    assert all(s["status"] == "skipped" for s in stop.values())

    m = timeline["metrics"]
    start = min(next(s for s in _segments(timeline, h) if s["phase"] == "maintenance_on")["end_s"] for h in ("web1", "db1"))
    end = max(next(s for s in _segments(timeline, h) if s["phase"] == "maintenance_off")["end_s"] for h in ("web1", "db1"))
    assert m["downtime_s"] == pytest.approx(end - start, abs=0.002) and m["downtime_open"] is False
    assert m["detected_by"] == "incident" and m["time_to_detect_s"] == pytest.approx(240, abs=1)
    assert m["decided_by"] == "run start"
    whole = _epoch(m["rolled_back_at"]) - _epoch(m["incident_started_at"])
    assert m["time_to_detect_s"] + m["time_to_decide_s"] + m["time_to_rollback_s"] == pytest.approx(whole, abs=0.01)
    assert m["rto_s"] == 120 * 60 and m["rto_met"] is True
    assert timeline["level"] == {"number": 5, "name": "full", "budget_min": 120}


def test_timeline_keeps_the_facts_and_never_a_secret(runs):
    run = runs["ok"]
    timeline = run.json("timeline.json")
    for host in ("web1", "db1"):
        facts = timeline["hosts"][host]["facts"]
        assert facts["rewind_plan"]["run_id"] == run.run_dir.name
        assert "code r41" in facts["rewind_result"]["restored"]
        assert facts["rewind_demo_settings"]["api_token"] == "********"
        assert timeline["hosts"][host]["restored"][0]["phase"] == "restore"
    leaks = [str(p) for p in run.run_dir.rglob("*") if p.is_file() and SECRET in p.read_text(errors="replace")]
    assert leaks == []
    command = json.loads((run.run_dir / "runner" / "artifacts" / run.run_dir.name / "command").read_text())
    assert command["env"]["REWIND_RUN_DIR"] == str(run.run_dir)


def test_report_lists_what_the_run_did(runs):
    run = runs["ok"]
    md = (run.run_dir / "report.md").read_text()
    timeline = run.json("timeline.json")
    for heading in ("Summary", "Timeline", "Metrics", "Impact", "Actions taken", "Services restarted",
                    "Data restored", "Validation results", "Notifications", "Next steps"):
        assert "\n## %s\n" % heading in md
    assert "# Incident report - Checkout errors after release r42" in md
    assert "- **Incident ID**: INC-2042" in md and "- **Status**: ROLLBACK COMPLETED" in md
    for host in ("web1", "db1"):
        for item in timeline["hosts"][host]["facts"]["rewind_result"]["restored"]:
            assert "- %s: %s" % (host, item) in md
    assert "- db1: mariadb" in md and "- web1: php-fpm, nginx" in md
    assert "| web1 | migrations at r41 | ok | 3 applied |" in md
    for phase in ROLLBACK_PHASES:
        assert "| web1 | %s |" % phase in md
    assert "| completed | email, slack, webhook | - |" in md
    assert "| Issue detected (incident) | alice |" in md
    assert "![Timeline chart](timeline.svg)" in md
    html = (run.run_dir / "report.html").read_text()
    assert "<svg" in html and "Checkout failing for about 30% of users" in html
    svg = (run.run_dir / "timeline.svg").read_text()
    assert svg.startswith("<svg") and all(">%s<" % p in svg for p in ROLLBACK_PHASES)


def test_messages_rendered_and_sent(runs, servers):
    folder = runs["ok"].run_dir
    initiated = (folder / "messages" / "initiated.txt").read_text()
    completed = (folder / "messages" / "completed.txt").read_text()
    customer = (folder / "messages" / "customer.txt").read_text()
    assert initiated.startswith("Subject: ROLLBACK INITIATED - Checkout errors after release r42")
    assert "Level: 5 (full)" in initiated and "Lead: alice" in initiated and "ETA: 120 minutes" in initiated
    assert "Status: ROLLBACK COMPLETED" in completed and "- db1: database db_backup_20251123.sql.gz" in completed
    assert "Subject: Temporary System Issue - Resolved" in customer and customer.rstrip().endswith("Example Shop")
    sent = [r for r in servers["slack"].requests if r["path"].endswith("XXXX")]
    assert [r["json"]["text"].splitlines()[0] for r in sent] == [
        "*ROLLBACK INITIATED - Checkout errors after release r42*",
        "*ROLLBACK COMPLETED - Checkout errors after release r42*"]
    assert [r["json"]["status"] for r in servers["page"].requests] == ["identified", "resolved"]
    assert [m["data"].split("Subject: ")[1].splitlines()[0] for m in servers["smtp"].messages] == [
        "ROLLBACK INITIATED - Checkout errors after release r42",
        "ROLLBACK COMPLETED - Checkout errors after release r42"]


def test_failed_notifications_never_fail_the_rollback_and_are_reported(runs):
    run = runs["notify_down"]
    assert run.code == 0, run
    timeline = run.json("timeline.json")
    assert timeline["status"] == "ok"
    assert all(_segments(timeline, h)[-1]["phase"] in ("maintenance_off", "notify") for h in ("web1", "db1"))
    notes = timeline["notifications"]
    assert [n["template"] for n in notes] == ["initiated", "completed"]
    for note in notes:
        assert note["delivered"] == ["slack"]
        failed = {f["channel"]: f for f in note["undelivered"]}
        assert failed["webhook"]["attempts"] == 2 and "refused" in failed["webhook"]["error"].lower()
        assert failed["email"]["attempts"] == 1 and failed["email"]["error"].startswith("SMTP 554")
    md = (run.run_dir / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| completed |"))
    assert "| slack |" in row and "email: SMTP 554" in row and "webhook:" in row
    assert run.json("result.json")["notifications"] == notes


def test_plan_is_a_dry_run_that_prints_the_plan(runs):
    run = runs["plan"]
    assert run.code == 0, run
    result = json.loads(run.out)
    assert result["check_mode"] is True and result["exit_code"] == 0 and result["command"] == "plan"
    assert set(result["facts"]["rewind_plan"]) == {"web1", "db1"}
    assert result["facts"]["rewind_plan"]["db1"]["level"] == "database"
    timeline = run.json("timeline.json")
    assert timeline["check_mode"] is True
    assert {s["phase"] for h in ("web1", "db1") for s in _segments(timeline, h)} == {"lock", "validate", "plan"}
    assert "--check" in (run.run_dir / "runner" / "env" / "cmdline").read_text()


def test_decide_prints_the_decision(runs):
    run = runs["decide"]
    assert run.code == 0, run
    decision = json.loads(run.out)["facts"]["rewind_decision"]["web1"]
    assert decision["rollback"] is True and decision["fired"] == ["error_rate_over_5pct"]


# -- exit statuses: one per documented case ---------------------------------------------------------
EXIT_CASES = [
    ("ok", Exit.OK, None),
    ("crash", Exit.FAILURE, None),
    ("input", Exit.BAD_INPUT, "REWIND-E-INPUT"),
    ("verify", Exit.VERIFY_FAILED, "REWIND-E-VERIFY"),
    ("no_rollback", Exit.NO_ROLLBACK, "REWIND-NOROLLBACK"),
    ("locked", Exit.LOCKED, "REWIND-E-LOCKED"),
    ("backup", Exit.BACKUP, "REWIND-E-BACKUP"),
    ("backups_verify", Exit.BACKUP, None),
    ("interrupted", Exit.INTERRUPTED, None),
]


def test_every_documented_exit_status_has_a_scenario():
    assert {code for _, code, _ in EXIT_CASES} == set(Exit)


@pytest.mark.parametrize("scenario, code, tag", EXIT_CASES)
def test_exit_status(runs, scenario, code, tag):
    run = runs[scenario]
    assert run.problem is None and run.code == code, run
    result = run.json("result.json")
    assert result["exit_code"] == code and result["exit_name"] == code.name
    if tag:
        assert result["failure"]["tag"] == tag and result["failure"]["msg"].startswith(tag + ":")
        assert result["failure"]["msg"] in run.err
    if code not in (Exit.OK, Exit.NO_ROLLBACK) and result["command"] != "backups":
        report = (run.run_dir / "report.md").read_text()
        assert "FAILED: %s (exit %d)" % (code.name.lower().replace("_", " "), code) in report
        assert (run.run_dir / "messages" / "failed.txt").read_text().startswith("Subject: ROLLBACK FAILED")


def test_backups_are_listed_and_verified_with_the_catalog_module(runs):
    listing = json.loads(runs["backups_list"].out)
    assert runs["backups_list"].code == 0
    names = [b["id"] for b in listing["module_results"]["web1"]["backups"]]
    assert names == ["db_backup_20251123.sql.gz", "db_backup_20251122.sql.gz"]  # newest first
    verify = runs["backups_verify"]
    assert "db_backup_20251123.sql.gz" in verify.out and "verified" in verify.out
    assert "CORRUPT" in verify.out and "1 backup(s) failed verification: web1:db_backup_20251122.sql.gz" in verify.err


def test_verify_failure_leaves_maintenance_on_and_says_where(runs):
    run = runs["verify"]
    timeline = run.json("timeline.json")
    assert timeline["metrics"]["downtime_open"] is True and timeline["metrics"]["rto_met"] is False
    assert timeline["hosts"]["web1"]["failure"]["phase"] == "verify"
    failed = (run.run_dir / "messages" / "failed.txt").read_text()
    assert "Status: ROLLBACK FAILED in phase verify on" in failed


def test_failures_before_the_switch_change_nothing(runs):
    for scenario in ("input", "locked", "backup"):
        timeline = runs[scenario].json("timeline.json")
        phases = {s["phase"] for h in timeline["hosts"] for s in _segments(timeline, h)}
        assert phases <= {"lock", "validate", "plan"}, (scenario, phases)


def test_interrupt_stops_the_run_and_keeps_the_folder(runs):
    run = runs["interrupted"]
    assert run.problem is None, run
    result = run.json("result.json")
    assert result["status"] == "canceled", run
    timeline = run.json("timeline.json")
    for host in ("web1", "db1"):
        # stopped inside the hour-long wait: the stop phase never ended and nothing after it ran
        last = _segments(timeline, host)[-1]
        assert last["phase"] == "stop" and last["status"] != "ok", (host, last)
    assert (run.run_dir / "report.md").is_file()
    # Nothing of the run carries on: not ansible-playbook, not its workers (each in a session of its
    # own, which ansible-runner's cancel alone leaves running), not the task they ran.
    assert _processes_of(run.run_dir) == []


def _processes_of(run_dir):
    """The command lines of the processes running with ``REWIND_RUN_DIR=run_dir`` (the run's processes)."""
    marker = b"\0REWIND_RUN_DIR=%s\0" % str(run_dir).encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in b"\0" + environ.read_bytes():
                found.append((environ.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    return found


def test_bad_level_is_refused_before_anything_runs(tmp_path, capsys):
    code = cli.main(["run", "--level", "sideways", "--project-dir", str(FIXTURE), "--runs-dir", str(tmp_path)])
    assert code == Exit.BAD_INPUT
    err = capsys.readouterr().err
    assert "unknown rollback level 'sideways'" in err and "full" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["run", "--level", "full", "--inventory", "/nonexistent/hosts"], "no inventory at /nonexistent/hosts"),
    (["run", "--level", "full", "--incident", "/nonexistent.yml"], "cannot read the incident file"),
    (["run", "--level", "full", "-e", "@/nonexistent.yml"], "extra vars file /nonexistent.yml does not exist"),
    (["run", "--level", "full", "--vault-password-file", "/nonexistent"], "vault password file /nonexistent does not"),
    (["report", "no-such-run"], "no run folder"),
    (["undo", "no-such-run"], "no run folder no-such-run to undo"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, argv, message):
    assert cli.main(argv + ["--project-dir", str(FIXTURE), "--runs-dir", str(tmp_path)]) == Exit.BAD_INPUT
    assert message in capsys.readouterr().err


def test_undo_passes_the_snapshots_of_the_run_it_undoes(runs):
    undone = runs["ok"].run_dir
    runs_dir = runs["tmp"] / "undo"
    proc = subprocess.run(_rewind() + ["undo", str(undone), "--project-dir", str(FIXTURE), "--runs-dir", str(runs_dir),
                                       "--json", "--no-progress"], capture_output=True, text=True,
                          env=_env(), timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["inputs"]["rewind_undo_run_id"] == undone.name
    snapshots = result["inputs"]["rewind_undo_snapshots"]
    assert snapshots["web1"].endswith(undone.name)
    assert result["facts"]["rewind_result"]["web1"]["restored"] == ["snapshot %s" % snapshots["web1"]]
    assert [p.name for p in runs_dir.iterdir()] == [result["run_id"]]


def test_report_command_rebuilds_the_report(runs, capsys):
    folder = runs["ok"].run_dir
    (folder / "report.md").unlink()
    assert cli.main(["report", str(folder), "--json"]) == Exit.OK
    written = json.loads(capsys.readouterr().out)["written"]
    assert str(folder / "report.md") in written and (folder / "report.md").is_file()


def test_help_documents_every_exit_status(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for code in Exit:
        assert "%3d  " % code in out
    for command in ("plan", "run", "decide", "backups", "undo", "report"):
        assert command in out

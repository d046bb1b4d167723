"""`rewind run` on the demo inventory's real WordPress host, through the CLI and ansible-runner.

One container as the demo sets it up (scripts/demo: site, good release r1 backed up by prepare.yml,
broken r2 deployed), the demo inventory's group_vars, and real notification endpoints on the
controller: a Slack-compatible webhook receiver that is up, a status-page webhook that is down
(nothing listens on its port) and an SMTP server that refuses service (554). One `rewind run
--level full`; the tests then check the run folder against the run itself: the live state equals
the pre-deployment capture (CHECKSUM TABLE, sha256 per file, crontab), every phase is in
timeline.json with durations that add up, the report lists what rewind_result says was restored,
the messages were rendered, and the failed notifications are recorded while the rollback passed.
"""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "fixtures" / "cli"))
from servers import SMTPServer, WebhookReceiver, closed_port  # noqa: E402

PASSWORD = "demo-Secr3t-pw"  # inventories/demo/group_vars/wordpress.yml
SITE = "/var/www/demo"
CAPTURE = "python3 /opt/rewind-demo/bin/capture_state.py --site-root %s" % SITE
# roles/wordpress/tasks/main.yml, in order, after the plan
PHASES = ["maintenance_on", "snapshot", "stop", "restore", "permissions", "restart", "maintenance_off", "verify"]


def _ago(minutes):
    return (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)).isoformat()


def _epoch(value):
    return datetime.datetime.fromisoformat(value).timestamp()


@pytest.fixture(scope="module")
def wp(host_factory):
    host = host_factory("rewind-cli-it-wp1", "wp1", "wordpress")
    host.capture = CAPTURE
    for playbook, args in (("playbooks/demo/wordpress_site.yml", ()),
                           ("playbooks/demo/wordpress_deploy.yml", ("-e", "release=good")),
                           ("playbooks/prepare.yml", ("-e", "rewind_release=r1"))):
        assert host.play(playbook, *args).returncode == 0, playbook
    host.sh("systemctl stop cron")  # wp-cron writes the database on its own schedule (see test_wordpress)
    host.good = host.state()
    assert host.play("playbooks/demo/wordpress_deploy.yml", "-e", "release=bad").returncode == 0
    host.bad = host.state()
    assert host.bad["tree"] != host.good["tree"]
    return host


@pytest.fixture(scope="module")
def servers():
    with WebhookReceiver() as slack, SMTPServer(refuse=True) as smtp:
        yield {"slack": slack, "smtp": smtp, "status_port": closed_port()}


@pytest.fixture(scope="module")
def run(wp, servers, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli-demo")
    incident = tmp / "incident.yml"
    incident.write_text(yaml.safe_dump({
        "id": "INC-7", "title": "Fatal errors on every page after r2", "started_at": _ago(12),
        "detected_at": _ago(9), "impact": "The shop answers 500 on every page", "lead": "oncall-bob",
        "contact": "#ops", "company": "Rewind Demo", "support": "help@example.com"}))
    notify = tmp / "notify.yml"  # as a site keeps it (vaulted), here in clear: local test endpoints only
    notify.write_text(yaml.safe_dump({
        "rewind_notify_slack_url": servers["slack"].url("/services/T1/B1/ZZZZ"),
        "rewind_notify_status_url": "http://127.0.0.1:%d/status" % servers["status_port"],
        "rewind_notify_smtp_host": "127.0.0.1", "rewind_notify_smtp_port": servers["smtp"].port,
        "rewind_notify_smtp_to": ["ops@example.com"],
        "rewind_notify_timeout": 3, "rewind_notify_retries": 1, "rewind_notify_retry_delay": 0.2}))
    runs_dir = tmp / "runs"
    script = Path(sys.executable).parent / "rewind"
    argv = ([str(script)] if script.exists() else [sys.executable, "-m", "rewind"]) + [
        "run", "--level", "full", "--reason", "r2 fatals on every page", "--incident", str(incident),
        "-i", wp.inventory, "-e", "@%s" % notify, "--project-dir", str(ROOT), "--runs-dir", str(runs_dir)]
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src")] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
    print("$ rewind run …  exit %d\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr[-6000:]))
    (folder,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    proc.folder = folder
    proc.timeline = json.loads((folder / "timeline.json").read_text())
    proc.after = wp.state()
    return proc


def test_the_rollback_completes_and_restores_the_good_release(run, wp):
    assert run.returncode == 0, run.stderr[-3000:]
    assert "rollback completed: level 5 (full) on wp1" in run.stdout and str(run.folder) in run.stdout
    assert run.after["tables"] == wp.good["tables"] and run.after["schema"] == wp.good["schema"]
    assert run.after["tree"] == wp.good["tree"] and run.after["crontab"] == wp.good["crontab"]
    assert wp.sh("curl -s -o /dev/null -w '%{http_code}' http://localhost/") == "200"


def test_progress_shows_every_phase_starting_and_ending(run):
    lines = run.stderr.splitlines()
    for phase in ["plan"] + PHASES:
        for word in ("started", "ok"):
            assert any("wp1" in line and " %s " % phase in line and word in line for line in lines), (phase, word)


def test_the_timeline_has_every_phase_and_the_durations_add_up(run):
    timeline = run.timeline
    assert timeline["status"] == "ok" and timeline["run_id"] == run.folder.name
    segs = timeline["hosts"]["wp1"]["phases"]
    names = [s["phase"] for s in segs]
    assert [n for n in names if n in PHASES] == PHASES, names
    assert "phase" not in names, "the journal's phase boundaries count in the phase they open"
    assert names.count("notify") == 2, names  # initiated, then the end message
    for seg in segs:
        assert seg["duration_s"] == pytest.approx(seg["end_s"] - seg["start_s"], abs=0.002)
    for before, after in zip(segs, segs[1:]):
        assert before["end_s"] <= after["start_s"] + 0.001, (before["phase"], after["phase"])
    assert timeline["started_s"] <= segs[0]["start_s"] and segs[-1]["end_s"] <= timeline["ended_s"]
    assert sum(s["duration_s"] for s in segs) <= timeline["duration_s"]
    by = {s["phase"]: s for s in segs}
    m = timeline["metrics"]
    assert m["downtime_s"] == pytest.approx(by["maintenance_off"]["end_s"] - by["maintenance_on"]["end_s"], abs=0.002)
    assert m["downtime_open"] is False and m["rto_met"] is True
    assert m["time_to_detect_s"] == pytest.approx(180, abs=2)
    whole = _epoch(m["rolled_back_at"]) - _epoch(m["incident_started_at"])
    assert m["time_to_detect_s"] + m["time_to_decide_s"] + m["time_to_rollback_s"] == pytest.approx(whole, abs=0.01)
    assert timeline["level"]["name"] == "full"


def test_the_report_lists_what_the_run_restored(run):
    md = (run.folder / "report.md").read_text()
    result = run.timeline["hosts"]["wp1"]["facts"]["rewind_result"]
    assert result["restored"], "the run restored something"
    for item in result["restored"]:
        assert "- wp1: %s" % item in md, item
    for phase in PHASES:
        assert "| wp1 | %s |" % phase in md, phase
    for check in result["verify"]:
        assert "| wp1 | %s |" % check["check"] in md, check
    assert "- **Status**: ROLLBACK COMPLETED" in md and "The shop answers 500 on every page" in md
    assert "- **Hosts**: wp1\n" in md and "- wp1: apache2" in md
    actions = [line[2:] for line in md.split("\n## Actions taken\n", 1)[1].split("\n## ", 1)[0].splitlines()
               if line.startswith("- ")]
    # the phases, in order; not the playbook's own tasks between them (counted under the play's name)
    assert actions[0] == "Rolled back to release r1"
    assert [a.split(" on wp1 (")[0] for a in actions[1:]] == (
        ["lock", "validate", "plan", "preflight", "notify"] + PHASES + ["record", "unlock", "fleet_report", "notify"])
    html = (run.folder / "report.html").read_text()
    svg = (run.folder / "timeline.svg").read_text()
    assert "<svg" in html and svg.startswith("<svg") and all(">%s<" % p in svg for p in PHASES)


def test_the_messages_are_rendered_from_the_run(run):
    messages = run.folder / "messages"
    initiated = (messages / "initiated.txt").read_text()
    completed = (messages / "completed.txt").read_text()
    assert initiated.startswith("Subject: ROLLBACK INITIATED - Fatal errors on every page after r2")
    assert "Lead: oncall-bob" in initiated and "Level: 5 (full)" in initiated
    assert "Hosts: wp1\n" in initiated, "the controller the first play runs on is no host of the rollback"
    assert "Status: ROLLBACK COMPLETED" in completed
    result = run.timeline["hosts"]["wp1"]["facts"]["rewind_result"]
    data = completed.split("Data restored:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert data == ["- %s" % item for item in result["restored"]]
    assert "- apache2" in completed.split("Services restarted:\n", 1)[1]
    assert (messages / "customer.txt").read_text().rstrip().endswith("Rewind Demo")


def test_failed_notifications_are_recorded_and_never_failed_the_rollback(run, servers):
    notes = run.timeline["notifications"]
    assert [n["template"] for n in notes] == ["initiated", "completed"]
    for note in notes:
        assert note["delivered"] == ["slack"]
        failed = {f["channel"]: f for f in note["undelivered"]}
        assert failed["webhook"]["attempts"] == 2 and "refused" in failed["webhook"]["error"].lower()
        assert failed["email"]["attempts"] == 1 and failed["email"]["error"].startswith("SMTP 554")
    assert [r["json"]["text"].splitlines()[0] for r in servers["slack"].requests] == [
        "*ROLLBACK INITIATED - Fatal errors on every page after r2*",
        "*ROLLBACK COMPLETED - Fatal errors on every page after r2*"]
    assert servers["smtp"].sessions == 2
    md = (run.folder / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| completed |"))
    assert "| slack |" in row and "email: SMTP 554" in row and "webhook:" in row
    assert json.loads((run.folder / "result.json").read_text())["notifications"] == notes


def test_no_secret_reaches_the_run_folder(run):
    leaks = [str(p) for p in run.folder.rglob("*") if p.is_file() and PASSWORD in p.read_text(errors="replace")]
    assert leaks == [] and PASSWORD not in run.stdout + run.stderr

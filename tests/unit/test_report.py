# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports, chart, messages and the live progress view, from hand-made run folders.

The report of a real run is checked in test_cli.py; here the cases a real run rarely shows:
a failed verification, a playbook that never started, hostile text, a fleet wider than the screen.
"""

import io
import json
import xml.etree.ElementTree as ET

import pytest

from rewind import chart, report
from rewind.progress import Progress

T0 = "2025-11-24T03:00:00.000+00:00"


def at(seconds):
    return "2025-11-24T03:%02d:%06.3f+00:00" % divmod(seconds, 60)


def segment(phase, start, end, status="ok", tasks=1):
    return {"phase": phase, "start": at(start), "start_s": 1763953200 + start, "end": at(end),
            "end_s": 1763953200 + end, "duration_s": end - start, "status": status, "tasks": tasks}


def write_run(folder, timeline=None, result=None):
    folder.mkdir(parents=True, exist_ok=True)
    if timeline is not None:
        (folder / "timeline.json").write_text(json.dumps(timeline))
    base = {"run_id": folder.name, "command": "run", "exit_code": 0, "started_at": T0, "ended_at": at(30),
            "duration_s": 30.0, "failure": None, "incident": {}}
    base.update(result or {})
    (folder / "result.json").write_text(json.dumps(base))
    return folder


def verify_failed_timeline():
    phases = [segment("maintenance_on", 0, 1), segment("stop", 1, 2), segment("restore", 2, 20),
              segment("restart", 20, 22), segment("verify", 22, 25, "failed", tasks=2)]
    return {
        "run_id": "r1", "status": "failed", "started_at": T0, "ended_at": at(26), "duration_s": 26.0,
        "inputs": {"level": "database", "reason": "orders <script>alert(1)</script> lost"},
        "incident": {"title": "Orders & invoices <broken>", "impact": "no new orders"},
        "level": {"number": 4, "name": "database", "budget_min": 30},
        "hosts": {"db1": {"phases": phases, "restored": [{"phase": "restore", "items": ["database orders.sql.gz"]}],
                          "facts": {"rewind_plan": {"tier": "laravel", "target_release": "r41"}},
                          "failure": {"phase": "verify", "task": "Check orders", "msg": "REWIND-E-VERIFY: 0 orders"}}},
        "phases": [dict(s, hosts=["db1"], occurrence=1) for s in phases],
        "metrics": {"downtime_s": 25.0, "downtime_start": at(1), "downtime_end": at(26), "downtime_open": True,
                    "rto_met": False, "time_to_rollback_s": 25.0},
        "notifications": [{"template": "failed", "delivered": [], "undelivered": [
            {"channel": "email", "error": "SMTP 554 go away", "attempts": 1}]}],
    }


@pytest.fixture
def failed_run(tmp_path):
    folder = write_run(tmp_path / "r1", verify_failed_timeline(), {
        "exit_code": 3, "failure": {"host": "db1", "task": "Check orders", "msg": "REWIND-E-VERIFY: 0 orders",
                                    "tag": "REWIND-E-VERIFY"}})
    report.generate(folder)
    return folder


def test_failed_verification_report(failed_run):
    md = (failed_run / "report.md").read_text()
    assert "- **Status**: FAILED: verify failed (exit 3)" in md
    assert "- **Failure**: REWIND-E-VERIFY: 0 orders (host db1, task Check orders)" in md
    assert "| db1 | verify |" in md and "| 2 | failed |" in md
    assert "- **Downtime**: 25.0s (still in maintenance at the end of the run)" in md
    assert "- **RTO**: missed (budget 30 min for level 4 (database))" in md
    # without rewind_result, the restored items come from the restore task's own result
    assert "- db1: database orders.sql.gz" in md
    assert "- **Data loss**: unknown: no snapshot was recorded" in md
    assert "| failed | - | email: SMTP 554 go away (1 attempts) |" in md
    assert "rewind undo r1" in md


def test_failed_run_messages(failed_run):
    failed = (failed_run / "messages" / "failed.txt").read_text()
    assert failed.startswith("Subject: ROLLBACK FAILED - Orders & invoices <broken>")
    assert "Status: ROLLBACK FAILED in phase verify on db1" in failed and "Error: REWIND-E-VERIFY: 0 orders" in failed
    customer = (failed_run / "messages" / "customer.txt").read_text()
    assert "technical difficulties" in customer and "within 30 minutes" in customer
    assert not (failed_run / "messages" / "completed.txt").exists()


def test_html_escapes_what_people_typed(failed_run):
    page = (failed_run / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "Orders &amp; invoices &lt;broken&gt;" in page
    assert '<td class="failed">failed</td>' in page
    ET.fromstring(page.split("<figure>")[1].split("<figcaption>")[0])  # the inlined chart is well-formed


def test_chart_has_one_bar_per_phase_and_host_and_shades_the_downtime(failed_run):
    root = ET.fromstring((failed_run / "timeline.svg").read_text())
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(ns + "rect") if r.find(ns + "title") is not None]
    assert len(bars) == 5
    assert [b.get("fill") for b in bars] == [chart.COLORS["ok"]] * 4 + [chart.COLORS["failed"]]
    widths = [float(b.get("width")) for b in bars]
    assert widths[2] == max(widths)  # restore, 18 of 26 seconds, is the longest bar
    texts = [t.text for t in root.iter(ns + "text")]
    assert "downtime 25.0s" in texts and "verify" in texts


def test_a_run_whose_playbook_never_started_still_gets_a_report(tmp_path):
    folder = write_run(tmp_path / "r2", None, {"exit_code": 1, "failure": {
        "host": None, "task": None, "msg": "[ERROR]: the playbook playbooks/rollback.yml could not be found"}})
    written = [p.name for p in report.generate(folder)]
    assert "timeline.svg" not in written and "report.md" in written and "failed.txt" in written
    md = (folder / "report.md").read_text()
    assert "No timeline was recorded" in md and "could not be found" in md
    assert "- **Status**: FAILED: failure (exit 1)" in md


def test_timeline_rows_come_in_time_order(failed_run):
    data = report.collect(failed_run)
    times = [t for t, _, _ in data["events"] if t]
    assert times == sorted(times)
    assert [e for _, e, _ in data["events"][-2:]] == ["Failed on db1: REWIND-E-VERIFY: 0 orders",
                                                       "Run ended: verify failed"]


# -- live progress -----------------------------------------------------------------------------
class Job:
    command, run_id = "run", "r1"

    def __init__(self, run_dir):
        self.run_dir = run_dir


def test_line_progress_prints_each_phase_start_and_end_once(tmp_path):
    timeline = verify_failed_timeline()
    timeline["ended_at"] = None
    hosts = timeline["hosts"]["db1"]
    all_phases = hosts["phases"]
    out = io.StringIO()
    progress = Progress(out, live=False)
    progress.start(Job(tmp_path))
    for count in range(1, len(all_phases) + 1):
        hosts["phases"] = all_phases[:count]
        (tmp_path / "timeline.json").write_text(json.dumps(timeline))
        progress.on_event({"event": "runner_on_ok", "event_data": {"host": "db1"}})
        progress.on_event({"event": "runner_on_ok", "event_data": {"host": "db1"}})
    progress.finish()
    lines = out.getvalue().splitlines()[1:]
    assert len(lines) == 2 * len(all_phases)
    assert "restore" in lines[4] and lines[4].endswith("started")
    assert "restore" in lines[5] and "ok      18.0s (1 task)" in lines[5]
    assert "verify" in lines[-1] and "failed  3.0s (2 tasks)" in lines[-1]


def test_live_table_shows_phase_by_host_with_a_bar(tmp_path):
    timeline = verify_failed_timeline()
    timeline["hosts"]["web1"] = {"phases": [segment("maintenance_on", 0, 1), segment("stop", 1, 3, "skipped")]}
    progress = Progress(io.StringIO(), expected=["maintenance_on", "stop", "restore", "restart", "verify",
                                                 "maintenance_off"], live=False)
    progress.start(Job(tmp_path))
    lines = progress.render(timeline, width=80, running=False)
    header = next(line for line in lines if line.startswith("phase"))
    assert "db1" in header and "web1" in header
    rows = {line.split()[0]: line for line in lines[3:] if line and not line.startswith(" ")}
    assert set(rows) >= {"maintenance_on", "stop", "restore", "verify", "maintenance_off"}
    assert rows["stop"].count("-") >= 1 and "18.0s" in rows["restore"]
    assert rows["maintenance_off"] == "maintenance_off"  # reached by no host yet
    assert "\u2718" in rows["verify"] or "x " in rows["verify"]
    bar = lines[1]
    assert bar.startswith("[") and bar.rstrip().endswith("%")
    done = sum(1 for c in bar if c == "#")
    assert 0 < done < len(bar.split("]")[0]) - 1


def test_live_table_fits_the_screen_with_many_hosts(tmp_path):
    timeline = {"hosts": {"web%02d" % i: {"phases": [segment("stop", 0, 1)]} for i in range(30)},
                "phases": [dict(segment("stop", 0, 1), hosts=[], occurrence=1)]}
    progress = Progress(io.StringIO(), live=False)
    progress.start(Job(tmp_path))
    lines = progress.render(timeline, width=100, running=False)
    assert all(len(line) <= 100 for line in lines)
    assert any(line.startswith("… and 23 more hosts") for line in lines)


def test_the_hosts_are_those_rolled_back_not_the_controller(tmp_path):
    """playbooks/rollback.yml names the run in a play on localhost: not a host of the rollback."""
    timeline = verify_failed_timeline()
    timeline["hosts"]["localhost"] = {"phases": [segment("Name the run and check the request", 0, 0.2)],
                                      "facts": {"rewind_run_id": "r1"}}
    folder = write_run(tmp_path / "r1", timeline, {"exit_code": 3})
    report.generate(folder)
    md = (folder / "report.md").read_text()
    assert "- **Hosts**: db1\n" in md and "- **Hosts affected**: db1\n" in md
    assert "Hosts: db1\n" in (folder / "messages" / "initiated.txt").read_text()


def test_a_playbooks_own_tasks_stay_out_of_the_story(tmp_path):
    """Tasks between the phase files count under their play's name: per-host table only."""
    timeline = verify_failed_timeline()
    glue = segment("Roll back", 0.5, 0.6)
    timeline["hosts"]["db1"]["phases"].insert(1, glue)
    timeline["phases"].insert(1, dict(glue, hosts=["db1"], occurrence=1))
    timeline["plays"] = ["Roll back"]
    folder = write_run(tmp_path / "r1", timeline, {"exit_code": 3})
    report.generate(folder)
    md = (folder / "report.md").read_text()
    assert "| db1 | Roll back |" in md
    assert "Phase Roll back" not in md and "- Roll back on db1" not in md
    assert "Phase restore on db1" in md and "- restore on db1 (18.0s)" in md

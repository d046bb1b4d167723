# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything a person reads after a run, built from its run folder alone.

- ``report.md`` and ``report.html``: the incident report with the fields the plans use -
  summary, timeline table, metrics, impact, actions taken, services restarted, data restored,
  validation results, notifications, next steps;
- ``timeline.svg``: the timeline chart (also inlined in the HTML);
- ``messages/*.txt``: the team's ROLLBACK INITIATED and COMPLETED (or FAILED) messages and
  the customer status message, rendered by the same code the notify module sends with.

``rewind report RUN`` rebuilds them at any time; nothing here touches a host.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from rewind import chart
from rewind.collection import module_utils
from rewind.exitcodes import Exit
from rewind.runner import facts_by_name, read_json
from rewind.timefmt import clock, duration, epoch

_NEXT_STEPS = {
    Exit.OK: ["Watch error rates and response times for the next hour",
              "Find the root cause of the failed deployment before deploying again",
              "Tell users the service is restored (messages/customer.txt)",
              "If the rollback itself must be reverted: rewind undo {run_id}"],
    Exit.VERIFY_FAILED: ["The rollback ran but the checks above failed: the service is not confirmed healthy",
                         "Fix what the failed checks name, or return to the snapshot: rewind undo {run_id}",
                         "Keep the maintenance page up until a check passes"],
    Exit.LOCKED: ["Another rollback of this application is running: wait for it, or find its holder in the "
                  "message above", "Nothing was changed by this run"],
    Exit.BACKUP: ["The backup is missing or corrupt: list and verify the others with rewind backups verify",
                  "Pick a good one with --backup-id and run again", "Nothing was restored by this run"],
    Exit.BAD_INPUT: ["Correct the input named above and run again", "Nothing was changed by this run"],
    Exit.NO_ROLLBACK: ["The decision was not to roll back: fix forward, and keep watching the triggers"],
    Exit.INTERRUPTED: ["The run was interrupted: see the last phase above for what was done",
                       "Run it again to finish, or rewind undo {run_id} to return to the snapshot"],
    Exit.FAILURE: ["Read the failure above and the task output in runner/artifacts/{run_id}/stdout",
                   "If the service is down, return to the snapshot: rewind undo {run_id}"],
}


def _as_list(value):
    if value in (None, "", {}):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def snapshots(timeline):
    """{host: snapshot} a run took before restoring: rewind_result.snapshot, else rewind_plan.snapshot."""
    found = {}
    for host, record in (timeline.get("hosts") or {}).items():
        facts = record.get("facts") or {}
        for fact in ("rewind_result", "rewind_plan"):
            if isinstance(facts.get(fact), dict) and facts[fact].get("snapshot"):
                found[host] = facts[fact]["snapshot"]
                break
    return found


def _fleet(timeline, plans):
    """The hosts rolled back: those that planned, not the controller (localhost) a playbook's first
    play runs on to name the run; every host of the timeline when none planned (decide, a failed start)."""
    hosts = list((timeline.get("hosts") or {}).keys())
    return [h for h in hosts if h in plans] or hosts


def _restored(timeline, results):
    """{host: [items]} from rewind_result.restored, else from the tasks that reported ``restored``."""
    restored = {}
    for host, record in (timeline.get("hosts") or {}).items():
        items = _as_list((results.get(host) or {}).get("restored"))
        if not items:
            items = [item for entry in record.get("restored") or [] for item in _as_list(entry.get("items"))]
        if items:
            restored[host] = items
    return restored


def _item(value):
    if isinstance(value, dict):
        return ", ".join("%s: %s" % (k, v) for k, v in value.items())
    return str(value)


def collect(run_dir):
    """The report's content as plain data, from result.json and timeline.json."""
    run_dir = Path(run_dir)
    result = read_json(run_dir / "result.json") or {}
    timeline = read_json(run_dir / "timeline.json") or {}
    facts = facts_by_name(timeline)
    plans, results = facts.get("rewind_plan", {}), facts.get("rewind_result", {})
    incident = timeline.get("incident") or result.get("incident") or {}
    inputs = timeline.get("inputs") or result.get("inputs") or {}
    metrics = timeline.get("metrics") or {}
    code = Exit(result.get("exit_code", int(Exit.FAILURE)))
    run_id = result.get("run_id") or timeline.get("run_id") or run_dir.name
    level = timeline.get("level")
    failure = result.get("failure")

    events = []
    if incident.get("started_at"):
        events.append((incident["started_at"], "Issue started", "-"))
    if metrics.get("detected_at"):
        events.append((metrics["detected_at"], "Issue detected (%s)" % metrics.get("detected_by"), incident.get("lead", "-")))
    if metrics.get("decided_at") and metrics.get("decided_by") != "run start":
        events.append((metrics["decided_at"], "Rollback decided (%s)" % metrics.get("decided_by"), incident.get("lead", "-")))
    events.append((timeline.get("started_at") or result.get("started_at"), "Rollback initiated (%s)" % result.get("command", "run"),
                   incident.get("lead") or result.get("operator") or "-"))
    # The story of the run is its phases; a playbook's own tasks between them (counted under the
    # play's name) are in the per-host table only, unless the run had no phase at all.
    phases = timeline.get("phases") or []
    story = [p for p in phases if p["phase"] not in set(timeline.get("plays") or [])] or phases
    for phase in story:
        events.append((phase["start"], "Phase %s on %s: %s, %s" % (
            phase["phase"], ", ".join(phase["hosts"]), phase["status"], duration(phase.get("duration_s"))), "rewind"))
    if failure:
        failed_at = ((timeline.get("hosts") or {}).get(failure.get("host")) or {}).get("failure") or {}
        events.append((failed_at.get("at") or timeline.get("ended_at") or result.get("ended_at"),
                       "Failed%s: %s" % (" on %s" % failure["host"] if failure.get("host") else "", failure.get("msg")),
                       "rewind"))
    verify_ok = [p for p in timeline.get("phases") or [] if p["phase"] == "verify" and p["status"] == "ok"]
    if verify_ok:
        events.append((verify_ok[-1]["end"], "Validation complete", "rewind"))
    events.append((timeline.get("ended_at") or result.get("ended_at"),
                   "Rollback completed" if code == Exit.OK else "Run ended: %s" % code.name.lower().replace("_", " "),
                   "rewind"))

    verify = {host: _as_list((results.get(host) or {}).get("verify")) for host in sorted(results)}
    return {
        "run_id": run_id,
        "incident_id": incident.get("id") or run_id,
        "title": incident.get("title") or "Rollback %s" % run_id,
        "command": result.get("command"),
        "operator": result.get("operator") or "-",
        "check_mode": bool(result.get("check_mode") or timeline.get("check_mode")),
        "exit": code,
        "status": "completed" if code == Exit.OK else "failed",
        "level": "%d (%s)" % (level["number"], level["name"]) if level else inputs.get("level", "-"),
        "tiers": sorted({str(p.get("tier")) for p in plans.values() if isinstance(p, dict) and p.get("tier")}),
        "hosts": _fleet(timeline, plans),
        "reason": inputs.get("rewind_reason") or inputs.get("reason") or incident.get("reason") or "-",
        "root_cause": incident.get("root_cause") or "to be determined",
        "impact": incident.get("impact") or "not recorded",
        "started_at": timeline.get("started_at") or result.get("started_at"),
        "ended_at": timeline.get("ended_at") or result.get("ended_at"),
        "duration_s": timeline.get("duration_s") if timeline.get("duration_s") is not None else result.get("duration_s"),
        "metrics": metrics,
        "rto_min": level["budget_min"] if level else None,
        "level_number": level["number"] if level else None,
        "events": sorted(events, key=lambda e: epoch(e[0]) or 0.0),
        "host_phases": {h: r.get("phases") or [] for h, r in (timeline.get("hosts") or {}).items()},
        "phases": phases,
        "story": story,
        "target_release": next((p.get("target_release") for p in plans.values()
                                if isinstance(p, dict) and p.get("target_release")), None),
        "snapshots": snapshots(timeline),
        "services_restarted": {h: _as_list(r.get("services_restarted")) for h, r in results.items()
                               if isinstance(r, dict) and r.get("services_restarted")},
        "restored": _restored(timeline, results),
        "verify": verify,
        "failure": failure,
        "notifications": timeline.get("notifications") or result.get("notifications") or [],
        "next_steps": [s.format(run_id=run_id) for s in _NEXT_STEPS[code]],
        "has_timeline": bool(timeline),
        "plans": plans,
        "results": results,
        "incident": incident,
    }


def _metric_rows(data):
    m = data["metrics"]
    rto = "-"
    if data["rto_min"] is not None:
        met = {True: "met", False: "missed", None: "not assessed"}[m.get("rto_met")]
        rto = "%s (budget %d min for level %s)" % (met, data["rto_min"], data["level"])
    down = duration(m.get("downtime_s"))
    if m.get("downtime_open"):
        down += " (still in maintenance at the end of the run)"
    return [("Time to detect", duration(m.get("time_to_detect_s"))),
            ("Time to decide", duration(m.get("time_to_decide_s"))),
            ("Time to roll back", duration(m.get("time_to_rollback_s"))),
            ("Downtime", down),
            ("RTO", rto)]


def _sections(data):
    """The report as (title, kind, content) sections, rendered to Markdown and HTML alike."""
    failure = data["failure"]
    summary = [
        ("Incident ID", data["incident_id"]),
        ("Run", data["run_id"]),
        ("Date", clock(data["started_at"])),
        ("Status", ("DRY RUN (check mode) - " if data["check_mode"] else "")
         + ("ROLLBACK COMPLETED" if data["exit"] == Exit.OK else "FAILED: %s (exit %d)" % (
             data["exit"].name.lower().replace("_", " "), int(data["exit"])))),
        ("Level", data["level"]),
        ("Tier", ", ".join(data["tiers"]) or "-"),
        ("Hosts", ", ".join(data["hosts"]) or "-"),
        ("Reason", data["reason"]),
        ("Duration", duration(data["duration_s"])),
        ("Impact", data["impact"]),
        ("Root cause", data["root_cause"]),
    ]
    if failure:
        summary.append(("Failure", "%s%s" % (failure.get("msg") or "-",
                                              " (host %s, task %s)" % (failure["host"], failure["task"])
                                              if failure.get("host") else "")))
    sections = [("Summary", "fields", summary)]
    sections.append(("Timeline", "table", (["Time", "Event", "Owner"],
                                           [[clock(t) if t else "-", e, o] for t, e, o in data["events"]])))
    sections.append(("Metrics", "fields", _metric_rows(data)))
    sections.append(("Phases per host", "table", (["Host", "Phase", "Start", "End", "Duration", "Tasks", "Status"], [
        [host, seg["phase"], clock(seg.get("start")), clock(seg.get("end")), duration(seg.get("duration_s")),
         str(seg.get("tasks", 0)), seg.get("status")]
        for host, segs in data["host_phases"].items() for seg in segs])))
    impact = [("Impact", data["impact"]),
              ("Downtime", duration(data["metrics"].get("downtime_s"))),
              ("Hosts affected", ", ".join(data["hosts"]) or "-"),
              ("Data loss", "no: what was live was saved first (%s)" % "; ".join(
                  "%s: %s" % kv for kv in sorted(data["snapshots"].items()))
               if data["snapshots"] else "unknown: no snapshot was recorded")]
    sections.append(("Impact", "fields", impact))
    actions = ["%s on %s (%s)" % (p["phase"], ", ".join(p["hosts"]), duration(p.get("duration_s")))
               for p in data["story"] if p["status"] != "skipped"]
    if data["target_release"]:
        actions.insert(0, "Rolled back to release %s" % data["target_release"])
    sections.append(("Actions taken", "list", actions or ["none recorded"]))
    sections.append(("Services restarted", "list", ["%s: %s" % (h, ", ".join(map(str, s)))
                                                   for h, s in sorted(data["services_restarted"].items())]
                     or ["none recorded"]))
    sections.append(("Data restored", "list", ["%s: %s" % (h, _item(i)) for h, items in sorted(data["restored"].items())
                                              for i in items] or ["none recorded"]))
    sections.append(("Validation results", "table", (["Host", "Check", "Result", "Detail"], [
        [host, str(c.get("check", "-")) if isinstance(c, dict) else str(c),
         ("ok" if c.get("ok") else "FAILED") if isinstance(c, dict) else "-",
         str(c.get("detail", "")) if isinstance(c, dict) else ""]
        for host, checks in data["verify"].items() for c in checks])))
    sections.append(("Notifications", "table", (["Message", "Delivered", "Failed"], [
        [n.get("template", "-"), ", ".join(n.get("delivered") or []) or "-",
         "; ".join("%s: %s (%s attempts)" % (f.get("channel"), f.get("error"), f.get("attempts"))
                   for f in n.get("undelivered") or []) or "-"]
        for n in data["notifications"]])))
    sections.append(("Next steps", "list", data["next_steps"]))
    return sections


def _md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(data, chart_name="timeline.svg"):
    out = ["# Incident report - %s" % data["title"], ""]
    if not data["has_timeline"]:
        out += ["> No timeline was recorded: the playbook did not start. See runner/artifacts/%s/stdout." % data["run_id"], ""]
    for title, kind, content in _sections(data):
        out += ["## %s" % title, ""]
        if kind == "fields":
            out += ["- **%s**: %s" % (k, _md_cell(v)) for k, v in content]
        elif kind == "list":
            out += ["- %s" % _md_cell(item) for item in content]
        else:
            header, rows = content
            if not rows:
                out.append("_none recorded_")
            else:
                out.append("| %s |" % " | ".join(header))
                out.append("|%s|" % "|".join("---" for _ in header))
                out += ["| %s |" % " | ".join(_md_cell(c) for c in row) for row in rows]
        out.append("")
        if title == "Timeline" and data["has_timeline"]:
            out += ["![Timeline chart](%s)" % chart_name, ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#212121;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #e0e0e0;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f5f5f5}dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}
dt{font-weight:bold}dd{margin:0}.failed{color:#c62828;font-weight:bold}.ok{color:#2e7d32}"""


def _html_cell(text):
    text = str(text)
    cls = "failed" if text == "FAILED" or text == "failed" else "ok" if text in ("ok",) else None
    return '<td class="%s">%s</td>' % (cls, escape(text)) if cls else "<td>%s</td>" % escape(text)


def html(data, svg_text=None):
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>%s</title><style>%s</style></head><body>" % (escape("Incident report - " + data["title"]), _CSS),
           "<h1>%s</h1>" % escape("Incident report - " + data["title"])]
    for title, kind, content in _sections(data):
        out.append("<h2>%s</h2>" % escape(title))
        if kind == "fields":
            out.append("<dl>%s</dl>" % "".join("<dt>%s</dt><dd>%s</dd>" % (escape(k), escape(str(v))) for k, v in content))
        elif kind == "list":
            out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % escape(str(i)) for i in content))
        else:
            header, rows = content
            if not rows:
                out.append("<p><em>none recorded</em></p>")
            else:
                out.append("<table><tr>%s</tr>%s</table>" % (
                    "".join("<th>%s</th>" % escape(h) for h in header),
                    "".join("<tr>%s</tr>" % "".join(_html_cell(c) for c in row) for row in rows)))
        if title == "Timeline" and svg_text:
            out.append("<figure>%s<figcaption>Timeline chart (timeline.svg)</figcaption></figure>" % svg_text)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def message_context(data):
    """The context of the communication templates, from the report's data."""
    messages = module_utils("_messages")
    failure = data["failure"] or {}
    failed_phase = None
    if failure.get("host"):
        failed_phase = next((seg["phase"] for seg in data["host_phases"].get(failure["host"], [])
                             if seg.get("status") == "failed"), None)
    timings = {
        "run_id": data["run_id"],
        "started_at": data["started_at"],
        "ended_at": data["ended_at"],
        "duration_s": data["duration_s"],
        "downtime_s": data["metrics"].get("downtime_s"),
        "failed_host": failure.get("host"),
        "failed_phase": failed_phase,
        "error": failure.get("msg"),
        "phases": [p["phase"] for p in data["phases"] if p["status"] == "ok"],
    }
    details = dict(data["incident"])
    details.setdefault("lead", data["operator"])
    if data["level_number"] is not None:
        details.setdefault("level", data["level_number"])
    return messages, lambda status: messages.build_context(
        plans=data["plans"], results=data["results"], details=details, timings=timings, status=status,
        hosts=data["hosts"])


def write_messages(run_dir, data):
    """messages/initiated.txt, completed.txt or failed.txt, customer.txt. Returns their paths."""
    messages, context = message_context(data)
    folder = Path(run_dir) / "messages"
    folder.mkdir(exist_ok=True)
    status = data["status"]
    wanted = [("initiated", "running"), ("completed" if status == "completed" else "failed", status),
              ("customer", status)]
    paths = []
    for template, state in wanted:
        subject, body = messages.render(template, context(state))
        path = folder / ("%s.txt" % template)
        path.write_text("Subject: %s\n\n%s\n" % (subject, body))
        paths.append(path)
    return paths


def generate(run_dir):
    """Write report.md, report.html, timeline.svg and messages/ into ``run_dir``. Returns the paths."""
    run_dir = Path(run_dir)
    data = collect(run_dir)
    written = []
    svg_text = None
    if data["has_timeline"]:
        svg_text = chart.svg(read_json(run_dir / "timeline.json"))
        (run_dir / "timeline.svg").write_text(svg_text)
        written.append(run_dir / "timeline.svg")
    (run_dir / "report.md").write_text(markdown(data))
    (run_dir / "report.html").write_text(html(data, svg_text))
    written += [run_dir / "report.md", run_dir / "report.html"]
    written += write_messages(run_dir, data)
    return written

# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: timeline
type: aggregate
short_description: Record when each phase of a rollback ran on each host, and the rollback's metrics
version_added: 0.1.0
description:
  - Writes C(timeline.json), per host, the phases of the run in order with their start, end, duration,
    task count and status. The rollback phases are C(validate), C(plan), C(maintenance_on), C(snapshot),
    C(stop), C(restore), C(permissions), C(restart), C(verify) and C(maintenance_off); the common role
    adds C(lock), C(decide), C(report) and C(notify).
  - The phase of a task is the name of the task file it comes from, C(roles/<tier>/tasks/<phase>.yml).
    Consecutive tasks of one phase on a host make one entry. A task outside such a phase file
    (in a playbook, a handler, or a role's C(main.yml)) is counted under its play's name.
    Include and meta tasks, which do no work, are not counted.
  - The phase boundary of the common role (C(roles/common/tasks/phase.yml), imported between the
    phases with C(rewind_phase) set) is counted in the phase it opens; the last one (C(done)) in
    the phase it closes.
  - Keeps each host's C(rewind_*) facts as they are set (C(rewind_plan), C(rewind_result),
    C(rewind_decision), C(rewind_incident)), the items that tasks report as C(restored), the first
    failure per host, and what the M(rewind.rollback.notify) tasks delivered or failed to deliver
    (a notify task that itself failed, for example on its task timeout, is recorded as undelivered
    on every channel).
  - "Computes the metrics the rollback plans track. Time to detect: from the incident's C(started_at) to
    its C(detected_at), else to its first fired trigger. Time to decide: from detection to the incident's
    C(decided_at), else to the end of a C(decide) phase, else to the start of the run. Time to roll back:
    from the decision to the end of C(verify), else to the end of the run. Downtime: from the end of
    C(maintenance_on) to the end of C(maintenance_off), or without maintenance from the start of C(stop)
    to the end of C(restart). RTO met: whether the time to roll back stayed within the level's time budget."
  - "The incident is the extra variable (or fact) C(rewind_incident), a dictionary with C(started_at),
    C(detected_at), C(decided_at) and C(triggers) (a list of C(name), C(fired), C(at)); times in ISO 8601."
  - Values under a key that looks like a secret (C(password), C(secret), C(token), C(key)) are replaced by
    C(********), and results of C(no_log) tasks are never read. The file is rewritten at every phase change,
    so a live view can follow it and a run that is interrupted still leaves its timeline.
requirements:
  - Enabled with C(callbacks_enabled = rewind.rollback.timeline) in C(ansible.cfg) or
    C(ANSIBLE_CALLBACKS_ENABLED=rewind.rollback.timeline). The C(rewind) CLI enables it itself.
options:
  run_dir:
    description:
      - The folder to write C(timeline.json) into; the C(rewind) CLI sets it to the run folder.
      - When unset, the ansible-runner artifact folder of the job (C(AWX_ISOLATED_DATA_DIR)) is used,
        and outside ansible-runner the file is C(rewind-timeline.json) in the current directory.
    type: path
    env:
      - name: REWIND_RUN_DIR
    ini:
      - section: callback_rewind_timeline
        key: run_dir
"""

import datetime
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import PurePath

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.rewind.rollback.plugins.module_utils._errors import failure_message
from ansible_collections.rewind.rollback.plugins.module_utils._levels import LevelError, resolve_level
from ansible_collections.rewind.rollback.plugins.module_utils._messages import epoch as parse_time, redact

SCHEMA_VERSION = 1
_SKIP_ACTIONS = frozenset(C._ACTION_ALL_INCLUDES) | frozenset(C._ACTION_ALL_INCLUDE_IMPORT_TASKS) | frozenset(C._ACTION_META)
# The run's inputs, as the rollback playbooks name them.
_INPUT_VARS = ("level", "tier", "reason", "rewind_reason", "rewind_backup_id", "emergency", "rewind_run_id",
               "rewind_undo_run_id")
_BOUNDARY = ("common", "phase")  # roles/common/tasks/phase.yml: the journal's phase boundary
_NOTIFY_ACTIONS = frozenset(("rewind.rollback.notify", "notify"))


def phase_of(task_path, play_name):
    """The phase of a task: the stem of its ``…/tasks/<phase>.yml``, else the play's name."""
    if task_path:
        path = PurePath(task_path.rsplit(":", 1)[0])
        if path.parent.name == "tasks" and path.stem != "main":
            return path.stem
    return play_name or "play"


def _is_boundary(task_path):
    if not task_path:
        return False
    path = PurePath(task_path.rsplit(":", 1)[0])
    return (path.parent.parent.name, path.stem) == _BOUNDARY and path.parent.name == "tasks"


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="milliseconds")


def _ends(hosts, phase):
    """When ``phase`` ended on each host that ran it (skipped phases do not count)."""
    return [seg["end_s"] for h in hosts.values() for seg in h["phases"]
            if seg["phase"] == phase and seg["status"] != "skipped" and seg["end_s"] is not None]


def _downtime(hosts, run_end):
    """(start, end, still_down) of the service's downtime over all hosts, or None."""
    starts, ends, open_ = [], [], False
    for host in hosts.values():
        segs = [s for s in host["phases"] if s["status"] != "skipped"]
        on = [s for s in segs if s["phase"] == "maintenance_on"]
        if on:
            begin = on[0]["end_s"]
            off = [s for s in segs if s["phase"] == "maintenance_off" and s["start_s"] >= begin]
        else:
            stop = [s for s in segs if s["phase"] == "stop"]
            if not stop:
                continue
            begin = stop[0]["start_s"]
            off = [s for s in segs if s["phase"] == "restart" and s["start_s"] >= begin]
        if off and off[-1]["status"] != "failed":
            end = off[-1]["end_s"]
        else:
            end, open_ = run_end, True
        starts.append(begin)
        ends.append(end)
    if not starts:
        return None
    return min(starts), max(ends), open_


def compute_metrics(doc):
    """The plans' rollback metrics from a timeline document (see the plugin's description)."""
    hosts = doc["hosts"]
    run_start, run_end = doc["started_s"], doc.get("ended_s") or time.time()
    incident = doc.get("incident") or {}

    started = parse_time(incident.get("started_at"))
    detected = parse_time(incident.get("detected_at"))
    detected_by = "incident" if detected is not None else None
    if detected is None:
        fired = [parse_time(t.get("at")) for t in incident.get("triggers") or []
                 if isinstance(t, Mapping) and t.get("fired")]
        fired = [t for t in fired if t is not None]
        if fired:
            detected, detected_by = min(fired), "trigger"

    decided = parse_time(incident.get("decided_at"))
    decided_by = "incident" if decided is not None else None
    if decided is None:
        ends = _ends(hosts, "decide")
        decided, decided_by = (max(ends), "decide phase") if ends else (run_start, "run start")

    verify_ends = _ends(hosts, "verify")
    done = max(verify_ends) if verify_ends else run_end

    def between(a, b):
        return round(b - a, 3) if a is not None and b is not None else None

    metrics = {
        "incident_started_at": iso(started) if started is not None else None,
        "detected_at": iso(detected) if detected is not None else None,
        "detected_by": detected_by,
        "decided_at": iso(decided),
        "decided_by": decided_by,
        "rolled_back_at": iso(done),
        "time_to_detect_s": between(started, detected),
        "time_to_decide_s": between(detected, decided),
        "time_to_rollback_s": between(decided, done),
        "downtime_s": None,
        "downtime_start": None,
        "downtime_end": None,
        "downtime_open": False,
        "rto_s": None,
        "rto_met": None,
    }
    down = _downtime(hosts, run_end)
    if down:
        metrics.update(downtime_s=between(down[0], down[1]), downtime_start=iso(down[0]),
                       downtime_end=iso(down[1]), downtime_open=down[2])

    level = doc.get("level")
    if level:
        metrics["rto_s"] = level["budget_min"] * 60
        if doc.get("status") == "failed":
            metrics["rto_met"] = False
        elif doc.get("status") == "ok" and metrics["time_to_rollback_s"] is not None:
            metrics["rto_met"] = metrics["time_to_rollback_s"] <= metrics["rto_s"]
    return metrics


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "rewind.rollback.timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = None
        self._play = None
        self._task_started = {}
        now = time.time()
        self._doc = {
            "schema": SCHEMA_VERSION,
            "playbook": None,
            "run_id": None,
            "check_mode": False,
            "status": "running",
            "started_at": iso(now),
            "started_s": now,
            "ended_at": None,
            "ended_s": None,
            "duration_s": None,
            "inputs": {},
            "level": None,
            "incident": None,
            "hosts": {},
            "phases": [],
            "plays": [],
            "notifications": [],
            "metrics": {},
        }

    # -- where and how the file is written ---------------------------------------------------
    def _output_path(self):
        if self._path is None:
            run_dir = self.get_option("run_dir")
            if run_dir:
                self._path = os.path.join(run_dir, "timeline.json")
            elif os.environ.get("AWX_ISOLATED_DATA_DIR"):
                self._path = os.path.join(os.environ["AWX_ISOLATED_DATA_DIR"], "timeline.json")
            else:
                self._path = os.path.abspath("rewind-timeline.json")
        return self._path

    def _flush(self):
        path = self._output_path()
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".timeline.", dir=folder)
            with os.fdopen(fd, "w") as handle:
                json.dump(self._doc, handle, indent=2, sort_keys=False, default=str)
            os.replace(tmp, path)
        except OSError as exc:
            # A timeline is worth having, never worth failing a rollback for.
            self._display.warning("rewind.rollback.timeline: cannot write %s: %s" % (path, exc))

    # -- bookkeeping --------------------------------------------------------------------------
    def _host(self, name):
        return self._doc["hosts"].setdefault(name, {
            "phases": [], "facts": {}, "restored": [], "failure": None, "stats": {}})

    def _open(self, name, task, when):
        """The host's segment for the task's phase; a new one, started ``when``, on a phase change."""
        phase = phase_of(task.get_path(), self._play)
        host = self._host(name)
        phases = host["phases"]
        if _is_boundary(task.get_path()):
            # Bookkeeping of the phase it opens (or, for `done`, closes): not a phase of its own.
            opens = task.get_vars().get("rewind_phase")
            if isinstance(opens, str) and opens and "{" not in opens and opens != "done":
                phase = opens
            elif phases:
                phase = phases[-1]["phase"]
        if not phases or phases[-1]["phase"] != phase:
            phases.append({"phase": phase, "start": iso(when), "start_s": when, "end": None, "end_s": None,
                           "duration_s": None, "tasks": 0, "changed": 0, "skipped": 0, "failed": 0,
                           "status": "running"})
            self._aggregate_phases()
            self._flush()
        return host, phases[-1], phase

    def _aggregate_phases(self):
        """Each phase over all hosts, in order of start: the chart's and the report's rows.

        The n-th time a phase runs on each host makes one row: a phase run twice (notify at the start
        and at the end) makes two rows.
        """
        by_key = {}
        for name, host in self._doc["hosts"].items():
            seen = {}
            for seg in host["phases"]:
                seen[seg["phase"]] = seen.get(seg["phase"], 0) + 1
                agg = by_key.setdefault((seg["phase"], seen[seg["phase"]]), {
                    "phase": seg["phase"], "occurrence": seen[seg["phase"]], "segments": [], "hosts": []})
                agg["segments"].append(seg)
                agg["hosts"].append(name)
        phases = []
        for agg in by_key.values():
            segs = agg.pop("segments")
            statuses = {seg["status"] for seg in segs}
            ends = [seg["end_s"] for seg in segs if seg["end_s"] is not None]
            agg["start_s"] = min(seg["start_s"] for seg in segs)
            agg["end_s"] = max(ends) if ends else None
            agg["start"] = iso(agg["start_s"])
            agg["end"] = iso(agg["end_s"]) if ends else None
            agg["duration_s"] = round(agg["end_s"] - agg["start_s"], 3) if ends else None
            agg["status"] = ("failed" if "failed" in statuses else "running" if "running" in statuses
                             else "skipped" if statuses == {"skipped"} else "ok")
            phases.append(agg)
        self._doc["phases"] = sorted(phases, key=lambda agg: agg["start_s"])

    def _capture(self, host, phase, result):
        items = [result] + [r for r in result.get("results") or [] if isinstance(r, Mapping)]
        facts = {}
        for item in items:
            facts.update(item.get("ansible_facts") or {})
        for name, value in facts.items():
            if name.startswith("rewind_"):
                host["facts"][name] = redact(value)
        for item in items:
            if isinstance(item.get("restored"), list) and item["restored"]:
                host["restored"].append({"phase": phase, "items": redact(item["restored"])})
            if isinstance(item.get("delivered"), list) and isinstance(item.get("undelivered"), list) \
                    and "template" in item:
                self._doc["notifications"].append({
                    "template": item["template"], "delivered": list(item["delivered"]),
                    "undelivered": redact(item["undelivered"]), "at": iso(time.time())})

    def _record(self, result, status, ignore_errors=False):
        task = result._task
        if task.action in _SKIP_ACTIONS:
            return
        now = time.time()
        host, segment, phase = self._open(result._host.get_name(), task, self._task_started.get(task._uuid, now))
        segment.update(end_s=now, end=iso(now), duration_s=round(now - segment["start_s"], 3))
        segment["tasks"] += 1
        res = result._result
        if status == "skipped":
            segment["skipped"] += 1
        elif res.get("changed"):
            segment["changed"] += 1
        failed = status in ("failed", "unreachable") and not ignore_errors
        if failed:
            segment["failed"] += 1
            if host["failure"] is None:
                host["failure"] = {"phase": phase, "task": task.get_name(), "status": status,
                                   "msg": failure_message(res), "at": iso(now)}
        segment["status"] = ("failed" if segment["failed"]
                             else "skipped" if segment["skipped"] == segment["tasks"] else "ok")
        if not res.get("censored"):
            self._capture(host, phase, res)
        if status == "failed" and task.action in _NOTIFY_ACTIONS and "undelivered" not in res:
            # The notify module never fails on a channel; this is its task failing around it (the
            # task timeout, a bad argument). Kept as a notification that reached no channel.
            template = task.args.get("template")
            if not isinstance(template, str) or "{" in template:  # as roles/common/tasks/notify.yml passes it
                template = task.get_vars().get("rewind_notify_template")
            self._doc["notifications"].append({
                "template": template if isinstance(template, str) and "{" not in template else "unknown",
                "delivered": [], "undelivered": [{"channel": "all", "error": failure_message(res),
                                                  "attempts": None}], "at": iso(now)})
        if failed:
            self._aggregate_phases()
            self._flush()

    # -- callback events ----------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        self._doc["playbook"] = os.path.basename(playbook._file_name)
        self._doc["check_mode"] = bool(context.CLIARGS.get("check"))

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name().strip()
        if self._play not in self._doc["plays"]:
            self._doc["plays"].append(self._play)  # a phase named so is a playbook's own tasks
        if self._doc["inputs"]:
            return
        extra = play.get_variable_manager().extra_vars
        self._doc["inputs"] = redact({k: extra[k] for k in _INPUT_VARS if k in extra})
        self._doc["run_id"] = self._doc["inputs"].get("rewind_run_id")
        if isinstance(extra.get("rewind_incident"), Mapping):
            self._doc["incident"] = redact(extra["rewind_incident"])
        self._flush()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_started[task._uuid] = time.time()

    def v2_playbook_on_handler_task_start(self, task):
        self._task_started[task._uuid] = time.time()

    def v2_runner_on_start(self, host, task):
        if task.action not in _SKIP_ACTIONS:
            self._open(host.get_name(), task, time.time())

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def _level(self):
        """The level actually rolled back to: the plan's (resolved from ``auto``), else the input."""
        candidates = [h["facts"].get("rewind_plan", {}).get("level") for h in self._doc["hosts"].values()
                      if isinstance(h["facts"].get("rewind_plan"), Mapping)]
        candidates.append(self._doc["inputs"].get("level"))
        for value in candidates:
            try:
                lvl = resolve_level(value)
            except LevelError:
                continue
            return {"number": lvl["number"], "name": lvl["name"], "budget_min": lvl["budget_min"]}
        return None

    def v2_playbook_on_stats(self, stats):
        now = time.time()
        doc = self._doc
        failed = False
        for name in sorted(stats.processed):
            summary = stats.summarize(name)
            self._host(name)["stats"] = summary
            failed = failed or bool(summary.get("failures") or summary.get("unreachable"))
        for host in doc["hosts"].values():
            if host["phases"] and host["phases"][-1]["status"] == "running":
                host["phases"][-1]["status"] = "ok"
            if host["failure"] is not None and not host["stats"].get("failures") and not host["stats"].get("unreachable"):
                host["failure"]["rescued"] = True
        if doc["incident"] is None:
            for host in doc["hosts"].values():
                if isinstance(host["facts"].get("rewind_incident"), Mapping):
                    doc["incident"] = host["facts"]["rewind_incident"]
                    break
        doc.update(status="failed" if failed else "ok", ended_s=now, ended_at=iso(now),
                   duration_s=round(now - doc["started_s"], 3), level=self._level())
        self._aggregate_phases()
        doc["metrics"] = compute_metrics(doc)
        self._flush()

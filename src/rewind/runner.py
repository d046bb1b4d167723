# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a playbook or a module through ansible-runner's Python API, as AWX does, into one run folder.

::

    runs/<run_id>/
      runner/                 ansible-runner's private_data_dir
        env/                  extravars, envvars, cmdline (never secrets: those come from files or vault)
        inventory -> …        a link to the inventory used (the playbook reads it at its own path)
        artifacts/<run_id>/   job_events/, stdout, rc, status, command (secret-looking env values masked)
      timeline.json           written live by the rewind.rollback.timeline callback
      result.json             what the CLI decided: status, exit code, first failure, facts
      report.md report.html timeline.svg messages/*.txt   (rewind.report)
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import re
import secrets
import shlex
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rewind.collection import collections_dir, configured_paths, module_utils
from rewind.exitcodes import MEANING, Exit, for_tag

CALLBACK = "rewind.rollback.timeline"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def new_run_id():
    """Sortable and unique enough: ``20251124T031209Z-3f9a1c``."""
    return "%s-%s" % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"), secrets.token_hex(3))


@dataclass
class Job:
    """One thing to run: a playbook, or a module on a host pattern."""

    command: str
    project_dir: Path
    inventory: Path
    runs_dir: Path
    run_id: str = field(default_factory=new_run_id)
    playbook: str | None = None
    module: str | None = None
    module_args: dict = field(default_factory=dict)
    host_pattern: str = "all"
    extravars: dict = field(default_factory=dict)
    cmdline: list = field(default_factory=list)
    check: bool = False
    limit: str | None = None
    verbosity: int = 0

    @property
    def run_dir(self):
        return self.runs_dir / self.run_id


@dataclass
class Outcome:
    job: Job
    status: str
    rc: int
    exit: Exit
    failure: dict | None
    failures: list
    results: dict
    started_at: str
    ended_at: str
    duration_s: float

    def save(self):
        """Write result.json into the run folder."""
        write_json(self.job.run_dir / "result.json", self.to_dict())

    def to_dict(self):
        timeline = read_json(self.job.run_dir / "timeline.json") or {}
        data = {
            "run_id": self.job.run_id,
            "command": self.job.command,
            "operator": getpass.getuser(),
            "playbook": self.job.playbook,
            "module": self.job.module,
            "check_mode": self.job.check,
            "inputs": {k: v for k, v in self.job.extravars.items() if k != "rewind_incident"},
            "incident": self.job.extravars.get("rewind_incident"),
            "status": self.status,
            "rc": self.rc,
            "exit_code": int(self.exit),
            "exit_name": self.exit.name,
            "exit_meaning": MEANING[self.exit],
            "failure": self.failure,
            "failures": self.failures,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "run_dir": str(self.job.run_dir),
            "facts": facts_by_name(timeline),
            "level": timeline.get("level"),
            "metrics": timeline.get("metrics") or {},
            "notifications": timeline.get("notifications") or [],
        }
        if self.job.module:
            data["module_results"] = self.results
        return data


def read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_json(path, data):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def facts_by_name(timeline):
    """``{fact: {host: value}}`` of the rewind_* facts the timeline captured."""
    facts = {}
    for host, record in (timeline.get("hosts") or {}).items():
        for name, value in (record.get("facts") or {}).items():
            facts.setdefault(name, {})[host] = value
    return facts


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="seconds")


class _Events:
    """Follows ansible-runner's events: failures (with their tag), module results, the progress view."""

    def __init__(self, progress, keep_results):
        self.progress = progress
        self.keep_results = keep_results
        self.failures = []
        self.results = {}
        self._errors = module_utils("_errors")

    def __call__(self, event):
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            msg = self._errors.failure_message(data.get("res") or {})
            self.failures.append({"host": data.get("host"), "task": data.get("task"),
                                  "task_path": data.get("task_path"), "msg": msg, "tag": self._errors.tag_of(msg),
                                  "unreachable": kind == "runner_on_unreachable"})
        elif kind == "runner_on_ok" and self.keep_results and data.get("host"):
            self.results[data["host"]] = data.get("res") or {}
        if self.progress is not None:
            self.progress.on_event(event)
        return True

    def first_failure(self):
        """The first tagged failure (the cause the playbook named), else the first failure."""
        tagged = [f for f in self.failures if f["tag"]]
        return (tagged or self.failures or [None])[0]


def _processes():
    """``{pid: (ppid, start time)}`` of every process, from /proc (empty where there is none)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(stat.parent.name)] = (int(fields[1]), fields[19])
    return table


def _descendants(pid):
    """``{pid: start time}`` of every process under ``pid``."""
    table, found, todo = _processes(), {}, [pid]
    children = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = table[child][1]
            todo.append(child)
    return found


class _Interrupt:
    """Ctrl-C stops the playbook the way Ansible's own Ctrl-C does, then makes sure nothing of it runs on.

    ansible-runner cancels a run by killing ansible-playbook's process group, but Ansible's workers each
    run in a session of their own (so that a terminal's Ctrl-C reaches only the main process): they and
    the task they run (a restore, a copy) would carry on with no controller. So the main process first
    gets SIGINT, which it forwards to every worker and each worker to its task's process group; after
    ``grace`` seconds ansible-runner kills what is left of the group, and ``reap`` kills every process
    that was under rewind when the interrupt came and still runs.
    """

    def __init__(self, grace=10.0):
        self.requested = False
        self.grace = grace
        self._asked = None
        self._tree = {}
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self._previous = None
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __call__(self):
        """ansible-runner's cancel callback, polled while the playbook runs: True cancels the run."""
        if not self.requested:
            return False
        if self._asked is None:
            self._asked = time.monotonic()
            self._tree = _descendants(os.getpid())
            table = _processes()
            for pid in self._tree:
                if table.get(pid, (None,))[0] == os.getpid():  # ansible-playbook itself
                    _signal(pid, signal.SIGINT)
            return False
        return time.monotonic() - self._asked > self.grace

    def reap(self):
        """Kill what still runs of the processes (and their process groups) found at the interrupt."""
        table = _processes()
        for pid, started in self._tree.items():
            if table.get(pid, (None, None))[1] == started:  # the same process, not a reused id
                try:
                    if os.getpgid(pid) == pid:  # a worker: its own session and group, the task's too
                        os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                _signal(pid, signal.SIGKILL)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError:
        pass


def _scrub_artifacts(artifact_dir):
    """Mask secret-looking values in what ansible-runner recorded: the environment (artifacts/<id>/command)
    and the task results and arguments of job_events/, with the timeline callback's redaction."""
    redact = module_utils("_messages").redact
    artifact_dir = Path(artifact_dir)
    for path in [artifact_dir / "command"] + sorted((artifact_dir / "job_events").glob("*.json")):
        data = read_json(path)
        if isinstance(data, dict):
            clean = redact(data)
            if clean != data:
                write_json(path, clean)


def _error_from_stdout(path):
    """A failure that produced no task event (a syntax error, a missing file): Ansible's ERROR lines."""
    try:
        text = _ANSI.sub("", Path(path).read_text(errors="replace"))
        lines = [line.strip() for line in text.splitlines() if line.strip()]
    except OSError:
        return None
    errors = [line for line in lines if "ERROR" in line]
    msg = " ".join(errors[:3]) if errors else (lines[-1] if lines else "")
    return {"host": None, "task": None, "task_path": None, "msg": msg, "tag": None, "unreachable": False} if msg else None


def _environment(job):
    enabled = [c for c in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if c.strip()]
    if CALLBACK not in enabled:
        enabled.append(CALLBACK)
    env = {
        "REWIND_RUN_DIR": str(job.run_dir),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join(enabled),
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(collections_dir())] + configured_paths()),
    }
    # The project's own ansible.cfg (roles_path, forks …) governs its playbooks, as in AWX, even when
    # the shell exports ANSIBLE_CONFIG for another checkout or project.
    config = Path(job.project_dir) / "ansible.cfg"
    if config.is_file():
        env["ANSIBLE_CONFIG"] = str(config)
    # The ansible-playbook of the Python running rewind, before any other on PATH.
    bindir = os.path.dirname(sys.executable)
    if os.path.exists(os.path.join(bindir, "ansible-playbook")):
        env["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    return env


def execute(job, progress=None):
    """Run ``job`` with ansible-runner and return its :class:`Outcome`. Writes result.json."""
    import ansible_runner  # imported here: --help and refused input need not wait for it

    private = job.run_dir / "runner"
    private.mkdir(parents=True)
    (private / "inventory").symlink_to(job.inventory.resolve())

    cmdline = list(job.cmdline)
    if job.check:
        cmdline.append("--check")
    if job.limit:
        cmdline += ["--limit", job.limit]
    if job.playbook:
        job.extravars["rewind_run_id"] = job.run_id
    kwargs = dict(
        private_data_dir=str(private),
        # The inventory at its own path, not through the link: Ansible reads the group_vars/ and
        # host_vars/ next to an inventory file, and those are not next to the link.
        inventory=str(job.inventory.resolve()),
        ident=job.run_id,
        project_dir=str(job.project_dir),
        envvars=_environment(job),
        extravars=job.extravars or None,
        cmdline=shlex.join(cmdline) if cmdline else None,
        quiet=True,
        verbosity=job.verbosity or None,
        # How often ansible-runner asks whether the run is cancelled: a Ctrl-C acts within a second.
        settings={"pexpect_timeout": 1},
    )
    if job.playbook:
        kwargs["playbook"] = str(job.project_dir / job.playbook)
    else:
        kwargs.update(module=job.module, module_args=json.dumps(job.module_args), host_pattern=job.host_pattern)

    events = _Events(progress, keep_results=job.module is not None)
    started = time.time()
    if progress is not None:
        progress.start(job)
    with _Interrupt() as interrupt:
        runner = ansible_runner.run(event_handler=events, cancel_callback=interrupt, **kwargs)
        if interrupt.requested:
            interrupt.reap()
    ended = time.time()
    if progress is not None:
        progress.finish()
    _scrub_artifacts(private / "artifacts" / job.run_id)

    failure = events.first_failure()
    if failure is None and runner.rc != 0:
        failure = _error_from_stdout(private / "artifacts" / job.run_id / "stdout")
    status = runner.status
    if interrupt.requested or status == "canceled":
        # Also when ansible-playbook ended on the SIGINT before ansible-runner cancelled it.
        code, status = Exit.INTERRUPTED, "canceled"
    elif runner.rc == 0 and runner.status == "successful":
        code = Exit.OK
    else:
        code = for_tag(failure["tag"]) if failure else Exit.FAILURE
    outcome = Outcome(job=job, status=status, rc=runner.rc, exit=code, failure=failure,
                      failures=events.failures, results=events.results, started_at=_iso(started),
                      ended_at=_iso(ended), duration_s=round(ended - started, 3))
    outcome.save()
    return outcome

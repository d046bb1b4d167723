# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``rewind``: plan, run, decide and undo rollbacks with the rewind.rollback playbooks.

Every command runs through ansible-runner, as AWX does, and keeps everything in one run folder
(``runs/<run_id>/``): ansible-runner's artifacts, timeline.json, the report and the messages.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import yaml

from rewind import __version__
from rewind import report as reports
from rewind.collection import CollectionNotFound, collection_root, module_utils
from rewind.exitcodes import MEANING, Exit, epilog
from rewind.progress import ROLLBACK_PHASES, Progress
from rewind.runner import Job, execute, read_json
from rewind.timefmt import duration

PLAYBOOKS = {"run": "playbooks/rollback.yml", "plan": "playbooks/rollback.yml",
             "decide": "playbooks/decide.yml", "undo": "playbooks/undo.yml"}
BACKUP_MODULE = "rewind.rollback.backup_info"


class InputError(Exception):
    """Bad input found before anything ran: exit BAD_INPUT."""


# -- argument parsing ---------------------------------------------------------------------------
def _common():
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("where and how")
    group.add_argument("-i", "--inventory", metavar="PATH",
                       help="inventory file or folder (default: inventories/demo of the project)")
    group.add_argument("-l", "--limit", metavar="PATTERN", help="only these hosts (Ansible host pattern)")
    group.add_argument("-e", "--extra-vars", metavar="VARS", action="append", default=[],
                       help="extra variables for the playbook, key=value or @file.yml; repeatable")
    group.add_argument("--vault-password-file", metavar="FILE",
                       help="to read vault-encrypted vars files (notification credentials belong in one)")
    group.add_argument("--runs-dir", metavar="DIR", default=os.environ.get("REWIND_RUNS_DIR"),
                       help="where run folders are made (default: $REWIND_RUNS_DIR, else runs/ in the project)")
    group.add_argument("--project-dir", metavar="DIR", default=os.environ.get("REWIND_PROJECT_DIR"),
                       help="the folder holding playbooks/ and inventories/ (default: the collection itself)")
    group.add_argument("--json", action="store_true", help="print one JSON document (result.json) on stdout")
    group.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    group.add_argument("-v", "--verbose", action="count", default=0,
                       help="more Ansible output in the run's stdout artifact (-vvv for connection debugging)")
    return common


def _rollback_inputs(parser):
    group = parser.add_argument_group("the rollback")
    group.add_argument("--level", required=True,
                       help="how far to roll back: flag, config, code, database, full, 1-5, the aliases "
                            "frontend and partial, or auto to let the decision engine choose")
    group.add_argument("--tier", help="the application tier (role): wordpress, laravel, node_pm2, django_gunicorn, mongo")
    group.add_argument("--reason", help="why, in a sentence: it goes into the lock, the messages and the report")
    group.add_argument("--backup-id", help="restore this backup instead of the newest verified one")
    group.add_argument("--emergency", action="store_true",
                       help="emergency rollback: the playbooks skip what only slows a rollback down")
    group.add_argument("--incident", metavar="FILE",
                       help="YAML/JSON incident: id, title, started_at, detected_at, decided_at, triggers "
                            "[{name, fired, at}], impact, lead, contact, company, support, root_cause")


def build_parser():
    common = _common()
    parser = argparse.ArgumentParser(
        prog="rewind", description="Plan, run, decide and undo rollbacks with the rewind.rollback playbooks, "
                                    "through ansible-runner as AWX does; every run keeps its artifacts, timeline, "
                                    "report and messages in one run folder.",
        epilog=epilog() + "\n\nrun folders: runs/<run_id>/ holds runner/ (ansible-runner's private data dir and "
                          "artifacts), timeline.json, result.json, report.md, report.html, timeline.svg, messages/.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="rewind %s" % __version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("plan", parents=[common], formatter_class=fmt, epilog=epilog(),
                       help="dry run: what a rollback would do (check mode), nothing changed")
    _rollback_inputs(p)
    p = sub.add_parser("run", parents=[common], formatter_class=fmt, epilog=epilog(),
                       help="roll back, with live progress; writes the report and messages")
    _rollback_inputs(p)
    p = sub.add_parser("decide", parents=[common], formatter_class=fmt, epilog=epilog(),
                       help="decide whether and how far to roll back, from the signals and the incident")
    p.add_argument("--incident", metavar="FILE", help="YAML/JSON incident (see rewind run --help)")
    p.add_argument("--tier", help="the application tier")
    p = sub.add_parser("backups", parents=[common], formatter_class=fmt, epilog=epilog(),
                       help="list the backups on the hosts, or verify their checksums")
    p.add_argument("action", choices=["list", "verify"], help="list, or list and verify every file's checksum")
    p.add_argument("--root", help="the backup folder on the hosts (default: each host's rewind_backup_root)")
    p = sub.add_parser("undo", parents=[common], formatter_class=fmt, epilog=epilog(),
                       help="return to what was live before a rollback, from the snapshot it took")
    p.add_argument("undo_run", metavar="RUN", nargs="?",
                   help="the rollback to undo: a run id (under --runs-dir) or a run folder; default the last one")
    p.add_argument("--backup-id", help="restore this snapshot set instead of the one the run recorded")
    p.add_argument("--tier", help="the application tier (default: the undone run's)")
    p = sub.add_parser("report", formatter_class=fmt,
                       help="(re)build the report, chart and messages of a run folder")
    p.add_argument("run", metavar="RUN", help="a run id (under --runs-dir) or a run folder")
    p.add_argument("--runs-dir", metavar="DIR", default=os.environ.get("REWIND_RUNS_DIR"))
    p.add_argument("--project-dir", metavar="DIR", default=os.environ.get("REWIND_PROJECT_DIR"))
    p.add_argument("--json", action="store_true", help="print the paths written as JSON")
    return parser


# -- inputs -------------------------------------------------------------------------------------
def _plain(value):
    """YAML timestamps become ISO strings: the playbook gets JSON-safe extra vars."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def _load_incident(path):
    if not path:
        return {}
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise InputError("cannot read the incident file %s: %s" % (path, exc.strerror))
    except yaml.YAMLError as exc:
        raise InputError("the incident file %s is not valid YAML/JSON: %s" % (path, exc))
    if not isinstance(data, dict):
        raise InputError("the incident file %s must hold a mapping (id, title, detected_at, …), not %s"
                         % (path, type(data).__name__))
    return _plain(data)


def _extra_vars_cmdline(values):
    cmdline = []
    for value in values:
        if value.startswith("@"):
            path = Path(value[1:]).expanduser()
            if not path.is_file():
                raise InputError("extra vars file %s does not exist" % path)
            value = "@%s" % path.resolve()
        cmdline += ["-e", value]
    return cmdline


def _project(args):
    try:
        root = Path(args.project_dir).resolve() if args.project_dir else collection_root()
    except CollectionNotFound as exc:
        raise InputError(str(exc))
    if not root.is_dir():
        raise InputError("project folder %s does not exist" % root)
    return root


def _runs_dir(args, project):
    return Path(args.runs_dir).resolve() if args.runs_dir else project / "runs"


def _job(args, command, **kwargs):
    project = _project(args)
    inventory = Path(args.inventory).expanduser() if args.inventory else project / "inventories" / "demo"
    if not inventory.exists():
        raise InputError("no inventory at %s; pass --inventory PATH" % inventory)
    playbook = PLAYBOOKS.get(command)
    if playbook and not (project / playbook).is_file():
        raise InputError("playbook %s not found under %s; is --project-dir right?" % (playbook, project))
    cmdline = _extra_vars_cmdline(args.extra_vars)
    if args.vault_password_file:
        vault = Path(args.vault_password_file).expanduser()
        if not vault.is_file():
            raise InputError("vault password file %s does not exist" % vault)
        cmdline += ["--vault-password-file", str(vault.resolve())]
    return Job(command=command, project_dir=project, inventory=inventory, runs_dir=_runs_dir(args, project),
               playbook=playbook, cmdline=cmdline, limit=args.limit, verbosity=args.verbose, **kwargs)


def _rollback_vars(args):
    levels = module_utils("_levels")
    if str(args.level).strip().lower() != "auto":
        try:
            levels.resolve_level(args.level)
        except levels.LevelError as exc:
            raise InputError(str(exc))
    incident = _load_incident(args.incident)
    extravars = {"level": args.level, "emergency": bool(args.emergency)}
    reason = args.reason or incident.get("reason")
    for key, value in (("tier", args.tier), ("rewind_reason", reason), ("rewind_backup_id", args.backup_id),
                       ("rewind_incident", incident)):
        if value:
            extravars[key] = value
    return extravars


# -- output -------------------------------------------------------------------------------------
def _progress(args, expected):
    if args.no_progress:
        return None
    return Progress(sys.stderr, expected=expected)


def _emit(args, outcome, summary_lines, extra=None):
    data = outcome.to_dict()
    data.update(extra or {})
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return
    for line in summary_lines:
        print(line)
    if outcome.exit != Exit.OK:
        failure = outcome.failure or {}
        where = ", ".join(x for x in ("host %s" % failure["host"] if failure.get("host") else "",
                                      "task %r" % failure["task"] if failure.get("task") else "") if x)
        print("rewind: %s (exit %d)" % (MEANING[outcome.exit], int(outcome.exit)), file=sys.stderr)
        if failure.get("msg"):
            print("  %s%s" % (failure["msg"], "  [%s]" % where if where else ""), file=sys.stderr)
    print("run folder: %s" % outcome.job.run_dir)


def _write_reports(outcome):
    """Build the report; a report that cannot be written must not hide the rollback's own status."""
    try:
        return [str(p) for p in reports.generate(outcome.job.run_dir)]
    except Exception as exc:  # noqa: BLE001 - reported, and the run's exit status stands
        print("rewind: could not write the report of %s: %s" % (outcome.job.run_dir, exc), file=sys.stderr)
        return []


# -- commands -----------------------------------------------------------------------------------
def cmd_plan_or_run(args):
    check = args.command == "plan"
    extravars = _rollback_vars(args)
    job = _job(args, args.command, extravars=extravars, check=check)
    outcome = execute(job, _progress(args, ("validate", "plan") if check else ROLLBACK_PHASES))
    written = _write_reports(outcome)
    data = outcome.to_dict()
    plans, results = data["facts"].get("rewind_plan", {}), data["facts"].get("rewind_result", {})
    lines = []
    if check:
        lines += ["%s: %s" % (host, json.dumps(plan, sort_keys=True)) for host, plan in sorted(plans.items())]
        if not plans and outcome.exit == Exit.OK:
            lines.append("the playbook recorded no rewind_plan")
    elif outcome.exit == Exit.OK:
        metrics, level = data["metrics"], data["level"]
        lines.append("rollback completed: level %s on %s in %s (downtime %s, RTO %s)" % (
            "%d (%s)" % (level["number"], level["name"]) if level else args.level,
            ", ".join(sorted(results)) or "no host", duration(outcome.duration_s),
            duration(metrics.get("downtime_s")),
            {True: "met", False: "missed", None: "not assessed"}[metrics.get("rto_met")]))
        for host, result in sorted(results.items()):
            lines.append("  %s restored: %s" % (host, ", ".join(map(str, result.get("restored") or [])) or "nothing"))
    if written:
        lines.append("report: %s" % next(p for p in written if p.endswith("report.html")))
    _emit(args, outcome, lines, {"reports": written})
    return outcome.exit


def cmd_decide(args):
    incident = _load_incident(args.incident)
    extravars = {"level": "auto"}
    for key, value in (("tier", args.tier), ("rewind_incident", incident)):
        if value:
            extravars[key] = value
    job = _job(args, "decide", extravars=extravars)
    outcome = execute(job, _progress(args, ()))
    decisions = outcome.to_dict()["facts"].get("rewind_decision", {})
    lines = ["%s: %s" % (host, json.dumps(decision, sort_keys=True)) for host, decision in sorted(decisions.items())]
    _emit(args, outcome, lines)
    return outcome.exit


def _run_folder(args, run):
    """A run given by id (under --runs-dir) or as a folder; None when there is no such folder."""
    for path in (Path(run), _runs_dir(args, _project(args)) / run):
        if (path / "result.json").is_file():
            return path
    return None


def cmd_undo(args):
    target = _run_folder(args, args.undo_run) if args.undo_run else None
    if args.undo_run and target is None:
        raise InputError("no run folder %s to undo (a run id under the runs folder, or a run folder)" % args.undo_run)
    undone = (read_json(target / "timeline.json") or {}) if target else {}
    snapshots = reports.snapshots(undone)
    extravars = {}
    for key, value in (("rewind_undo_run_id", target.name if target else None),
                       ("rewind_undo_snapshots", snapshots),
                       ("rewind_backup_id", args.backup_id),
                       ("tier", args.tier or (undone.get("inputs") or {}).get("tier"))):
        if value:
            extravars[key] = value
    job = _job(args, "undo", extravars=extravars)
    outcome = execute(job, _progress(args, ROLLBACK_PHASES))
    written = _write_reports(outcome)
    done = "undid run %s" % target.name if target else "undid the last rollback"
    _emit(args, outcome, [done] if outcome.exit == Exit.OK else [], {"reports": written})
    return outcome.exit


def _backups_of(res):
    backups = res.get("backups")
    return backups if isinstance(backups, list) else []


def _verified(backup):
    """True, False (with a reason) or None (not verified) from backup_info's ``verified`` result."""
    verified = backup.get("verified")
    return verified.get("ok") if isinstance(verified, dict) else None


def cmd_backups(args):
    module_args = {"verify": args.action == "verify", "root": args.root or "{{ rewind_backup_root }}"}
    job = _job(args, "backups", module=BACKUP_MODULE, module_args=module_args, host_pattern=args.limit or "all")
    outcome = execute(job, _progress(args, ()))
    corrupt = [(host, b) for host, res in outcome.results.items() for b in _backups_of(res)
               if isinstance(b, dict) and _verified(b) is False]
    if outcome.exit == Exit.OK and corrupt:
        outcome.exit = Exit.BACKUP
        outcome.failure = {"host": corrupt[0][0], "task": BACKUP_MODULE, "tag": None,
                           "msg": "%d backup(s) failed verification: %s" % (len(corrupt), ", ".join(
                               "%s:%s" % (h, b.get("id") or b.get("path")) for h, b in corrupt))}
        outcome.save()
    lines = []
    for host, res in sorted(outcome.results.items()):
        lines.append("%s:" % host)
        for b in _backups_of(res):
            if isinstance(b, dict):
                state = {True: "verified", False: "CORRUPT: %s" % (b.get("verified") or {}).get("reason"),
                         None: b.get("error") or ""}[_verified(b)]
                lines.append("  %-44s %-7s %-28s %-8s %s" % (b.get("id") or b.get("path"), b.get("kind") or "-",
                                                            b.get("created_at") or "-", b.get("release") or "-", state))
        if not _backups_of(res):
            lines.append("  no backups")
    _emit(args, outcome, lines)
    return outcome.exit


def cmd_report(args):
    path = _run_folder(args, args.run)
    if path is None:
        raise InputError("no run folder %s (a run id under the runs folder, or a folder with a result.json)" % args.run)
    written = [str(p) for p in reports.generate(path)]
    if args.json:
        print(json.dumps({"run_dir": str(path), "written": written}, indent=2))
    else:
        print("\n".join(written))
    return Exit.OK


COMMANDS = {"plan": cmd_plan_or_run, "run": cmd_plan_or_run, "decide": cmd_decide, "undo": cmd_undo,
            "backups": cmd_backups, "report": cmd_report}


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
    except InputError as exc:
        print("rewind: %s" % exc, file=sys.stderr)
        return int(Exit.BAD_INPUT)
    except CollectionNotFound as exc:
        print("rewind: %s" % exc, file=sys.stderr)
        return int(Exit.FAILURE)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())

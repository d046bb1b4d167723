# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup catalog and selection: what backups exist under a root, and which ones a rollback restores.

Pure functions, no Ansible imports. The catalog reads two kinds of backups side by side:

* rewind backup sets: ``<root>/<set_id>/manifest.json`` lists each file with its kind,
  format, sha256 and size; the set's ``created_at`` is exact.
* foreign backups, named like the tiers' own scripts (``db_backup_YYYYMMDD.sql.gz``,
  ``backup_YYYYMMDD_HHMMSS.sql``, ``site_YYYYMMDD.tar.gz``, mongodump and mydumper folders,
  ``.env.backup``, ``crontab_backup`` …). Their time comes from the name, read as UTC; a
  name with only a date means the start of that day (so yesterday's backup is found by a
  rollback just after midnight) and is flagged ``weak``; a name without a date falls back
  to the file's mtime, also ``weak``. ``emergency_*`` backups are labelled ``pre-rollback``,
  the others ``pre-deploy``. Symlinks (``latest_backup.sql``) are followed: the target is
  catalogued once, its link names listed in ``meta.aliases``.

Selection never looks at the clock: it takes the newest backup created strictly before a
cut-off (the deployment being rolled back), so it gives the same answer at any time.
"""

from __future__ import annotations

import datetime
import json
import os
import posixpath
import re

from ansible_collections.rewind.rollback.plugins.module_utils._archive import (
    DIR_FORMATS, FILE_FORMATS, detect_compression, detect_format, verify_file)

MANIFEST = "manifest.json"
KINDS = ("db", "files", "config")
FORMATS = FILE_FORMATS + DIR_FORMATS
_DB_FORMATS = ("mysql-logical", "mysql-physical", "mydumper", "mongodump", "mongodump-archive")
_ITEM_KEYS = ("path", "kind", "format", "compression", "sha256", "size")
_UTC = datetime.timezone.utc
_STAMP = re.compile(r"(?<!\d)(\d{8})(?:[_T-]?(\d{6}))?Z?(?!\d)")
_CONFIG_FILE = re.compile(r"^(\.env|wp-config\.php|\.htaccess|crontab)([._-].*)?$")
_CONFIG_NAME = re.compile(r"(^|[._-])conf(ig)?([._-]|$)")


class SelectionError(ValueError):
    """No backup can be used; the message says which kind, why, and what to do."""


def backup_argument_spec():
    """The options every backup module shares (documented in the rewind.rollback.backup fragment)."""
    return dict(root=dict(type="path", required=True), tier=dict(type="str"))


# --- time ---------------------------------------------------------------------------------------------

def parse_time(value):
    """An aware UTC datetime from a datetime or ISO 8601 text (``Z``, an offset, or none meaning UTC).

    The compact form of set ids, ``20261124T024500Z``, is accepted too.
    """
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value).strip()
        compact = re.match(r"^(\d{8})T(\d{6})Z$", text)
        try:
            if compact:
                moment = datetime.datetime.strptime("".join(compact.groups()), "%Y%m%d%H%M%S")
            else:
                text = re.sub(r"[Zz]$", "+00:00", text)
                # fractions as microseconds: before 3.11, fromisoformat reads only 3 or 6 digits
                text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "00000")[:6], text)
                moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("%r is not an ISO 8601 time (e.g. 2026-11-24T02:50:00Z)" % (value,))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    return moment.astimezone(_UTC)


def parse_day(value):
    """A date from ``YYYYMMDD`` or ``YYYY-MM-DD``."""
    text = str(value).strip()
    for layout in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text, layout).date()
        except ValueError:
            pass
    raise ValueError("%r is not YYYYMMDD or YYYY-MM-DD" % (value,))


def iso(moment):
    """``2026-11-24T02:45:00Z`` (with microseconds only when there are some)."""
    text = moment.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (".%06d" % moment.microsecond if moment.microsecond else "") + "Z"


def _time(entry):
    return parse_time(entry["created_at"])


def _name_time(name):
    """(datetime, has_time) from the first YYYYMMDD[_HHMMSS] in a name that is a real date, or None."""
    for match in _STAMP.finditer(name):
        try:
            moment = datetime.datetime.strptime("".join(g or "" for g in match.groups()),
                                                "%Y%m%d%H%M%S" if match.group(2) else "%Y%m%d")
        except ValueError:
            continue
        return moment.replace(tzinfo=_UTC), match.group(2) is not None
    return None


# --- catalog ------------------------------------------------------------------------------------------

def _entry(**fields):
    entry = dict.fromkeys(("id", "set", "root", "path", "name", "kind", "format", "compression", "tier", "app",
                           "host", "label", "created_at", "created_at_source", "weak", "size", "sha256",
                           "release", "error"))
    entry["meta"] = {}
    entry.update(fields)
    return entry


def _broken(root, entry_id, path, reason):
    """A catalog line for something that looks like a backup but cannot be read."""
    return _entry(id=entry_id, root=root, path=path, name=os.path.basename(path), weak=True, error=reason)


def _load_manifest(path):
    with open(path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("rewind_manifest"), int):
        raise ValueError("not a rewind manifest (no rewind_manifest version)")
    if manifest["rewind_manifest"] != 1:
        raise ValueError("manifest version %s is newer than this collection reads (1); upgrade rewind.rollback"
                         % manifest["rewind_manifest"])
    files = manifest.get("files")
    if not isinstance(files, list) or "created_at" not in manifest:
        raise ValueError("created_at or the files list is missing")
    parse_time(manifest["created_at"])
    for number, item in enumerate(files):
        if not isinstance(item, dict) or not item.get("path") or item.get("kind") not in KINDS \
                or item.get("format") not in FORMATS:
            raise ValueError("files[%d] needs a path, a kind out of %s and a format out of %s"
                             % (number, ", ".join(KINDS), ", ".join(FORMATS)))
    return manifest


def _set_entries(root, set_dir):
    """One entry per file of a rewind backup set."""
    set_id = os.path.basename(set_dir)
    manifest_path = os.path.join(set_dir, MANIFEST)
    try:
        manifest = _load_manifest(manifest_path)
    except (OSError, ValueError) as exc:
        return [_broken(root, set_id, manifest_path, "unreadable manifest: %s" % exc)]
    created = iso(parse_time(manifest["created_at"]))
    return [_entry(id="%s/%s" % (set_id, item["path"].lstrip("/")), set=set_id, root=root,
                   path=os.path.join(set_dir, item["path"]), name=posixpath.basename(item["path"]),
                   kind=item["kind"], format=item["format"], compression=item.get("compression"),
                   tier=manifest.get("tier"), app=manifest.get("app"), host=manifest.get("host"),
                   label=manifest.get("label"), created_at=created, created_at_source="manifest", weak=False,
                   size=item.get("size"), sha256=item.get("sha256"), release=manifest.get("release"),
                   meta={k: v for k, v in item.items() if k not in _ITEM_KEYS})
            for item in manifest["files"]]


def _classify(path, name):
    """(kind, format) of a foreign backup, or None when it is not one."""
    fmt = detect_format(path)
    config_name = _CONFIG_NAME.search(name.lower()) is not None
    if fmt in _DB_FORMATS:
        return "db", fmt
    if fmt == "tar":
        return ("config" if config_name else "files"), fmt
    if fmt == "dir":
        return ("config", fmt) if config_name else None
    return ("config", "file") if _CONFIG_FILE.match(name) else None


def _size(path):
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(os.lstat(os.path.join(folder, name)).st_size
               for folder, _dirs, names in os.walk(path) for name in names)


def _foreign_entries(root, path):
    """[entry] for a backup without manifest, or [] when ``path`` is not a backup."""
    name = os.path.basename(path)
    found = _classify(path, name)
    if found is None:
        return []
    stamp = _name_time(name)
    if stamp is not None:
        created, source, weak = stamp[0], "name", not stamp[1]
    else:
        created, source, weak = datetime.datetime.fromtimestamp(os.stat(path).st_mtime, _UTC), "mtime", True
    return [_entry(id=name, root=root, path=path, name=name, kind=found[0], format=found[1],
                   compression=detect_compression(path),
                   label="pre-rollback" if name.startswith("emergency") else "pre-deploy",
                   created_at=iso(created), created_at_source=source, weak=weak, size=_size(path))]


def _entries_at(root, path):
    if os.path.isfile(os.path.join(path, MANIFEST)):
        return _set_entries(root, path)
    return _foreign_entries(root, path)


def _newest_first(entry):
    return (entry["created_at"] is not None, _time(entry) if entry["created_at"] else None, entry["id"])


def catalog(root):
    """Every backup directly under ``root``, newest first.

    Each entry: ``{id, set, root, path, name, kind, format, compression, tier, app, host, label,
    created_at, created_at_source, weak, size, sha256, release, error, meta}``. ``sha256`` and
    ``size`` are what the manifest recorded (foreign backups: no sha256, the size found).
    Something that looks like a backup but cannot be read (a broken manifest, a dangling
    symlink) is listed last with ``kind`` None and ``error`` saying why.
    """
    root = os.path.abspath(root)
    entries, by_target, links = [], {}, []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.islink(path):
            links.append(name)
            continue
        found = _entries_at(root, path)
        by_target[os.path.realpath(path)] = found
        entries.extend(found)
    for name in links:
        path = os.path.join(root, name)
        target = os.path.realpath(path)
        if target not in by_target:
            found = _entries_at(root, target) if os.path.exists(target) else \
                [_broken(root, name, path, "dangling symlink to %s" % os.readlink(path))]
            by_target[target] = found
            entries.extend(found)
        for entry in by_target[target]:
            if entry["error"] is None:
                entry["meta"].setdefault("aliases", []).append(name)
    entries.sort(key=_newest_first, reverse=True)
    return entries


def tier_matches(entry, tier):
    """True when ``entry`` may belong to ``tier``: foreign backups record no tier, so they match any."""
    return tier is None or entry["tier"] in (None, tier)


def verify_entry(entry):
    """verify_file for a catalog entry, against the sha256 and size its manifest recorded."""
    if entry.get("error"):
        return dict(path=entry["path"], ok=False, reason=entry["error"], sha256=None, size=None, format=None,
                    compression=None)
    from_manifest = entry.get("set") is not None
    return verify_file(entry["path"], entry.get("sha256"), entry.get("size") if from_manifest else None,
                       entry.get("format"))


# --- selection ----------------------------------------------------------------------------------------

def _span(delta):
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return "%d min" % minutes
    if minutes < 2 * 1440:
        return "%d h %d min" % divmod(minutes, 60)
    return "%d days" % (minutes // 1440)


def _verdicts(verified):
    """entry -> verification result (None: not verified at all)."""
    if verified is None:
        return lambda entry: None
    if callable(verified):
        return verified
    return lambda entry: verified.get(entry["path"], {"ok": False, "reason": "was not verified"})


def _where(entries):
    return entries[0]["root"] if entries else "the backup root"


def _pinned(entries, backup_id, kinds):
    """{kind: entry} named by ``backup_id``: a set id pins each of its kinds, an entry id or alias its own."""
    hits = [e for e in entries if backup_id in (e["id"], e["set"]) or backup_id in e["meta"].get("aliases", ())]
    if not hits:
        newest = []
        for entry in sorted((e for e in entries if e["error"] is None), key=_time, reverse=True):
            if (entry["set"] or entry["id"]) not in newest:
                newest.append(entry["set"] or entry["id"])
        raise SelectionError("backup_id %r matches no backup in %s; newest ids: %s. List them with "
                             "rewind.rollback.backup_info." % (backup_id, _where(entries),
                                                               ", ".join(newest[:5]) or "none"))
    for entry in hits:
        if entry["error"]:
            raise SelectionError("backup_id %r cannot be used: %s: %s" % (backup_id, entry["path"], entry["error"]))
    by_kind = {}
    for entry in hits:
        by_kind.setdefault(entry["kind"], entry)
    if all(e["set"] is not None and e["set"] == hits[0]["set"] and e["id"] != backup_id for e in hits):
        missing = [kind for kind in kinds if kind not in by_kind]
        if missing:
            raise SelectionError("backup set %s has no %s backup (it holds: %s); name a backup of that kind, "
                                 "or roll back to a level that does not need it"
                                 % (backup_id, " or ".join(missing), ", ".join(sorted(by_kind))))
    elif hits[0]["kind"] not in kinds:
        raise SelectionError("backup_id %r is a %s backup, but this rollback restores %s"
                             % (backup_id, hits[0]["kind"], ", ".join(kinds)))
    return {kind: by_kind[kind] for kind in kinds if kind in by_kind}


def _none_found(kind, entries, cutoff, day, labels, tier):
    """The SelectionError message when no backup of ``kind`` qualifies, saying what there is instead."""
    of_kind = [e for e in entries if e["kind"] == kind]
    matching = [e for e in of_kind if _matches(e, day, labels, tier)]
    wanted = ["%s backup" % kind]
    if labels is not None:
        wanted.append("labelled %s" % " or ".join(labels))
    if tier:
        wanted.append("for tier %s" % tier)
    if day:
        wanted.append("created on %s" % day.isoformat())
    if cutoff:
        wanted.append("created before %s" % iso(cutoff))
    message = "no %s in %s" % (" ".join(wanted), _where(entries))
    if matching:
        newest = max(matching, key=_time)
        message += "; newest is %s created %s (after the cut-off)" % (newest["id"], newest["created_at"])
    elif of_kind:
        newest = max(of_kind, key=_time)
        message += "; the newest %s backup there, %s, is labelled %s, tier %s, created %s" % (
            kind, newest["id"], newest["label"], newest["tier"] or "unknown", newest["created_at"])
    else:
        message += "; there is no %s backup there at all" % kind
    return message + (". Check the cut-off (the deployment time being rolled back), or name a backup with "
                      "backup_id (list them with rewind.rollback.backup_info).")


def _matches(entry, day, labels, tier):
    return ((labels is None or entry["label"] in labels) and tier_matches(entry, tier)
            and (day is None or _time(entry).date() == day))


def _candidates(entries, kind, cutoff, day, labels, tier, sets):
    """Backups of ``kind`` that qualify, newest first; on a tie, one of ``sets``, then any set, first."""
    found = [e for e in entries if e["kind"] == kind and _matches(e, day, labels, tier)
             and (cutoff is None or _time(e) < cutoff)]
    if not found:
        raise SelectionError(_none_found(kind, entries, cutoff, day, labels, tier))
    return sorted(found, key=lambda e: (_time(e), e["set"] in sets, e["set"] is not None, e["id"]), reverse=True)


def _first_valid(candidates, verdict_of, what, fallback, floor, out):
    """(entry, verdict): the first candidate that verifies; falls back to older ones only if allowed."""
    failed = []
    for entry in candidates:
        if failed and floor is not None and _time(entry) < floor:
            break
        verdict = verdict_of(entry)
        if verdict is None or verdict["ok"]:
            if failed:
                out["warnings"].append(
                    "%s, %s, failed verification (%s); using the next older valid one instead, %s created %s"
                    % (what, failed[0][0]["id"], failed[0][1], entry["id"], entry["created_at"]))
            return entry, verdict
        out["skipped"].append({"path": entry["path"], "reason": verdict["reason"]})
        failed.append((entry, verdict["reason"]))
        if not fallback:
            raise SelectionError(
                "%s, %s (created %s), failed verification: %s. Do not restore it: replace it, name another "
                "backup with backup_id, or set allow_fallback=true to use the next older valid one within the RPO."
                % (what, entry["path"], entry["created_at"], verdict["reason"]))
    raise SelectionError("%s failed verification and no older valid one %s: %s" % (
        what, "is within the RPO (created at or after %s)" % iso(floor) if floor else "exists",
        "; ".join("%s: %s" % (entry["path"], reason) for entry, reason in failed)))


def _time_warnings(kind, entry, cutoff, pinned):
    """Warnings about how far the chosen backup's creation time can be trusted."""
    warnings = []
    if pinned and cutoff is not None and _time(entry) >= cutoff:
        warnings.append("%s backup %s was created %s, after the cut-off %s; using it because backup_id names it"
                        % (kind, entry["id"], entry["created_at"], iso(cutoff)))
    if entry["created_at_source"] == "mtime":
        warnings.append("%s backup %s has no manifest and no date in its name: its time %s is the file's "
                        "modification time, which a copy can change; check it is the backup you expect"
                        % (kind, entry["id"], entry["created_at"]))
    elif entry["weak"]:
        text = ("%s backup %s has only a date in its name: its time is taken as the start of that day, %s"
                % (kind, entry["id"], entry["created_at"]))
        if cutoff is not None and _time(entry).date() == cutoff.date():
            text += ", the cut-off's day, so it may have been taken after the deployment; check it before restoring"
        warnings.append(text)
    return warnings


def select(entries, kinds, before=None, backup_id=None, date=None, labels=("pre-deploy",), tier=None,
           verified=None, rpo_min=None, now=None, rpo_action="fail", allow_fallback=False):
    """Choose the backup of each kind a rollback restores.

    For each kind: the newest catalog entry created strictly before ``before`` (the cut-off)
    with one of ``labels`` (None: any) and of ``tier`` that verifies. ``backup_id`` (a set id:
    each of its kinds; an entry id: that one, the other kinds as usual) or ``date`` (only
    backups created on that UTC day) override the newest. ``verified`` maps a path to its
    verification result, or is a callable entry -> result; candidates are verified newest
    first and only until one is valid. When the newest fails, SelectionError, unless
    ``allow_fallback``: then the next older valid one created within the RPO
    (``before - rpo_min`` minutes) is taken, with a warning. A chosen backup older than the
    RPO fails or warns per ``rpo_action``. ``now`` is only used to report each backup's age.

    Returns ``{"backups": {kind: entry (+ verified, age_min)}, "skipped": [{path, reason}],
    "warnings": [...]}``; raises SelectionError with a message an operator can act on.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or rpo_action not in ("fail", "warn"):
        raise ValueError("kinds must be out of %s and rpo_action fail or warn (got kinds %s, rpo_action %r)"
                         % (", ".join(KINDS), ", ".join(kinds), rpo_action))
    cutoff = parse_time(before) if before is not None else None
    day = parse_day(date) if date is not None else None
    now = parse_time(now) if now is not None else None
    labels = tuple(labels) if labels is not None else None
    verdict_of = _verdicts(verified)
    rpo = datetime.timedelta(minutes=rpo_min) if rpo_min is not None else None
    floor = cutoff - rpo if cutoff is not None and rpo is not None else None
    pinned = _pinned(entries, backup_id, kinds) if backup_id is not None else {}
    out = {"backups": {}, "skipped": [{"path": e["path"], "reason": e["error"]} for e in entries if e["error"]],
           "warnings": []}
    sets = set()
    for kind in kinds:
        if kind in pinned:
            entry, verdict = _first_valid([pinned[kind]], verdict_of, "the %s backup named by backup_id" % kind,
                                          False, None, out)
        else:
            if pinned:
                out["warnings"].append("backup_id %s names no %s backup; the %s backup is chosen as usual"
                                       % (backup_id, kind, kind))
            what = "the newest %s backup%s" % (kind, " before the cut-off %s" % iso(cutoff) if cutoff else "")
            entry, verdict = _first_valid(_candidates(entries, kind, cutoff, day, labels, tier, sets),
                                          verdict_of, what, allow_fallback, floor, out)
        if rpo is not None and cutoff is not None and cutoff - _time(entry) > rpo:
            message = ("%s backup %s was created %s before the cut-off %s, more than the RPO of %d min: restoring "
                       "it loses what was written in between" % (kind, entry["id"], _span(cutoff - _time(entry)),
                                                                 iso(cutoff), rpo_min))
            if rpo_action == "fail":
                raise SelectionError(message + ". Name a newer backup with backup_id, or accept the loss with "
                                               "rpo_action=warn.")
            out["warnings"].append(message)
        out["warnings"].extend(_time_warnings(kind, entry, cutoff, kind in pinned))
        chosen = dict(entry)
        if verdict is not None:
            chosen["verified"] = verdict
        if now is not None:
            chosen["age_min"] = int((now - _time(entry)).total_seconds() // 60)
        out["backups"][kind] = chosen
        if entry["set"] is not None:
            sets.add(entry["set"])
    return out

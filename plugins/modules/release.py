#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release
short_description: Record releases in the ledger, switch the current symlink, record a rollback
version_added: 0.1.0
description:
  - Keeps the append-only release ledger C(releases.json) and the C(<app_root>/current) symlink.
    Releases are added and flagged bad, never removed; each change appends an event with its time
    and the user behind the run (C(SUDO_USER) survives become).
  - O(action=record) adds a release (id, revision, migrations, pre-deployment backup id).
    Recording the same id and revision again changes nothing; another revision under a recorded
    id is refused, since release ids are never reused. For tiers deployed in place (WordPress),
    recording a release means it is live.
  - O(action=switch) points C(<app_root>/current) at C(releases/<id>) atomically (a new symlink
    renamed over the old one, so a reader never sees a missing or half-made link) and appends a
    switch event. It refuses a release directory that is missing or empty and lists the releases
    on disk.
  - O(action=mark_bad) flags a release bad, so M(rewind.rollback.release_info) and rollback plans
    never choose it as the previous good release.
  - O(action=rollback_record) records that release O(id) was rolled back to O(target) and flags
    O(id) bad. It does not touch the symlink; run O(action=switch) first for tiers with release
    directories.
  - The ledger is locked (an flock on C(<ledger>.lock)) from read to write, so concurrent runs
    never lose an entry, and written atomically with mode C(0640).
author: rewind developers (@rewind)
options:
  ledger:
    description:
      - Path of the ledger, for example C(/srv/app/releases.json). Its directory must exist; the
        file is created by the first change.
    type: path
    required: true
  action:
    description: What to do.
    type: str
    required: true
    choices: [record, switch, mark_bad, rollback_record]
  id:
    description:
      - The release. V(record) records it, V(switch) makes it current, V(mark_bad) flags it, and
        V(rollback_record) records that it was rolled back (and flags it bad).
      - It names a directory under C(releases/), so it must not contain C(/).
    type: str
    required: true
  app_root:
    description:
      - Application root holding C(releases/<id>/) and the C(current) symlink.
      - Required with O(action=switch). With O(action=rollback_record), the release C(current)
        points to is the default O(target).
    type: path
  revision:
    description: The commit, tag or version the release was built from. Required with O(action=record).
    type: str
  migrations:
    description: Database migrations this release applied, newest last (O(action=record)).
    type: list
    elements: str
    default: []
  backup_id:
    description: Id of the backup set taken before this release was deployed (O(action=record)).
    type: str
  note:
    description:
      - Free text. With O(action=record) it is kept on the release; with the other actions, on the
        event (for example why a release was marked bad).
    type: str
  target:
    description:
      - The release now live after rolling back O(id) (O(action=rollback_record) only).
      - Default is the release C(<app_root>/current) points to when O(app_root) is set, else the
        newest release recorded before O(id) that is not marked bad.
    type: str
  then:
    description:
      - With O(action=switch), a command (argv list, no shell) run in the same module run right after
        C(current) changed, so that no task stands between the switch and, for example, the process
        manager's reload (C(pm2 startOrReload …)). Not run when C(current) already pointed to O(id),
        nor in check mode.
      - A non-zero exit fails the module, saying that the switch was done.
    type: list
    elements: str
    default: []
  then_user:
    description:
      - Run O(then) as this user (with C(runuser), so the module must run as root, or as that user).
    type: str
  then_environment:
    description: Variables added to the environment of O(then).
    type: dict
    default: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Validates as a real run would and reports the would-be change; writes nothing, not even the
        ledger's lock file.
  diff_mode:
    support: full
    details:
      - O(action=switch) shows the target of C(current) before and after.
      - The other actions show the ledger entry of the release concerned before and after.
  platform:
    platforms: posix
seealso:
  - module: rewind.rollback.release_info
notes:
  - The current release is always read from the C(current) symlink with C(readlink), never from
    directory modification times.
"""

EXAMPLES = r"""
- name: Record the release about to be deployed
  rewind.rollback.release:
    ledger: /srv/shop/releases.json
    action: record
    id: "20261124T024500Z"
    revision: 3f9c2ab
    migrations:
      - 2026_11_20_000001_add_discount_column
    backup_id: 20261124T024400Z-pre-deploy

- name: Switch current back to the previous good release
  rewind.rollback.release:
    ledger: /srv/shop/releases.json
    action: switch
    app_root: /srv/shop
    id: "{{ rewind_plan.target_release }}"
  register: switched

- name: Switch and reload the PM2 processes at once, as the application's user
  rewind.rollback.release:
    ledger: /var/lib/rewind/chatbot/releases.json
    action: switch
    app_root: /opt/chatbot
    id: r1
    then: [pm2, startOrReload, /opt/chatbot/current/ecosystem.config.js, --update-env]
    then_user: chatbot
    then_environment: {PM2_HOME: /home/chatbot/.pm2}

- name: Record the rollback and flag the release that was live as bad
  rewind.rollback.release:
    ledger: /srv/shop/releases.json
    action: rollback_record
    app_root: /srv/shop
    id: "{{ switched.previous_release }}"
    note: "{{ rewind_plan.reason }}"

- name: Record a WordPress rollback (deployed in place, no release directories)
  rewind.rollback.release:
    ledger: /var/lib/rewind/blog/releases.json
    action: rollback_record
    id: "2026-11-24"
    target: "2026-11-17"
"""

RETURN = r"""
release:
  description:
    - The release live after the action (V(record), V(switch), V(rollback_record)), or the release
      marked bad (V(mark_bad)).
  returned: always
  type: str
  sample: "20261117T101500Z"
previous_release:
  description:
    - V(switch) - the release C(current) pointed to before (equal to RV(release) when nothing changed).
    - V(record) - the release the ledger considered live before this one.
    - V(rollback_record) - the release rolled back (O(id)).
    - V(mark_bad) - the newest good release before O(id), where a rollback would go.
    - Null when there is none.
  returned: always
  type: str
  sample: "20261124T024500Z"
event:
  description: The event appended to the ledger, or null when nothing changed.
  returned: always
  type: dict
  sample:
    time: "2026-11-24T03:02:11Z"
    action: switch
    release: "20261117T101500Z"
    previous: "20261124T024500Z"
    by: alice@ops1
then_rc:
  description: Exit code of O(then), when it ran.
  returned: when O(then) ran
  type: int
  sample: 0
then_stdout:
  description: The output of O(then), when it ran.
  returned: when O(then) ran
  type: str
ledger:
  description: The releases recorded in the ledger after the action (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  sample:
    - id: "20261117T101500Z"
      revision: 9b2e0d1
      time: "2026-11-17T10:15:00Z"
      migrations: []
      backup_id: 20261117T101400Z-pre-deploy
      bad: false
      deployed_by: alice@ops1
"""

import json
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._lock import LockError, current_actor
from ansible_collections.rewind.rollback.plugins.module_utils._releases import (
    ReleaseError, ReleaseInputError, add_event, current_from_ledger, current_release, find_release, ledger_lock,
    load_ledger, mark_bad, previous_good, record, rollback, save_ledger, switch, unrecorded_fields)


def _entry_diff(module, before, after, release_id):
    def show(ledger):
        entry = find_release(ledger, release_id)
        return json.dumps(entry, indent=2, sort_keys=True) + "\n" if entry else ""

    header = "%s: release %s" % (module.params["ledger"], release_id)
    return {"before": show(before), "after": show(after), "before_header": header, "after_header": header}


def _warn_if_bad(module, ledger, release_id):
    entry = find_release(ledger, release_id)
    if entry and entry["bad"]:
        module.warn("release %s is marked bad in %s, yet it is the one being made live"
                    % (release_id, module.params["ledger"]))


def _record(module, ledger, by):
    p = module.params
    entry = {key: p[key] for key in ("id", "revision", "migrations", "backup_id", "note")}
    after, changed = record(ledger, entry, by=by)
    ignored = unrecorded_fields(ledger, entry) if not changed else []
    if ignored:
        module.warn("release %s is already recorded with revision %s; the ledger is append-only, so these "
                    "differing fields were not saved: %s" % (p["id"], p["revision"], ", ".join(ignored)))
    return after, changed, p["id"], current_from_ledger(ledger), _entry_diff(module, ledger, after, p["id"])


def _switch(module, ledger, by):
    p = module.params
    previous = switch(p["app_root"], p["id"], check_mode=module.check_mode)
    if previous == p["id"]:
        after, changed = ledger, False
    else:
        _warn_if_bad(module, ledger, p["id"])
        after, changed = add_event(ledger, "switch", p["id"], previous, by=by, note=p["note"]), True
    header = "%s/current" % p["app_root"]
    diff = {"before": "releases/%s\n" % previous if previous else "", "after": "releases/%s\n" % p["id"],
            "before_header": header, "after_header": header}
    return after, changed, p["id"], previous, diff


def _mark_bad(module, ledger, by):
    p = module.params
    after, changed = mark_bad(ledger, p["id"], by=by, note=p["note"])
    return after, changed, p["id"], previous_good(after, p["id"]), _entry_diff(module, ledger, after, p["id"])


def _rollback_target(module, ledger):
    p = module.params
    if p["target"]:
        return p["target"]
    if p["app_root"]:
        live = current_release(p["app_root"])
        if live is None or live == p["id"]:
            state = "does not exist" if live is None else "still points to it"
            raise ReleaseInputError("cannot tell which release %s was rolled back to: %s/current %s. Switch to "
                                    "the target first (action=switch) or set target." % (p["id"], p["app_root"], state))
        return live
    good = previous_good(ledger, p["id"])
    if good is None:
        raise ReleaseInputError("no good release is recorded before %s in %s, so the rollback target is unknown; "
                                "set target to the release now live." % (p["id"], p["ledger"]))
    return good


def _rollback_record(module, ledger, by):
    p = module.params
    target = _rollback_target(module, ledger)
    after, changed = rollback(ledger, p["id"], target, by=by, note=p["note"])
    if changed:
        _warn_if_bad(module, ledger, target)
    return after, changed, target, p["id"], _entry_diff(module, ledger, after, p["id"])


def then_argv(argv, user, euid, me):
    """The argv that runs ``argv`` as ``user``: itself when no user or already that user, else through
    runuser (root only). Raises ReleaseInputError when it cannot."""
    if not user or user == me:
        return list(argv)
    if euid != 0:
        raise ReleaseInputError("then_user=%s: the module runs as %s, not root, so it cannot run the command as %s "
                                "(become: true)" % (user, me, user))
    return ["runuser", "-u", user, "--"] + list(argv)


def _run_then(module, result):
    p = module.params
    argv = then_argv(p["then"], p["then_user"], os.geteuid(), pwd.getpwuid(os.geteuid()).pw_name)
    rc, out, err = module.run_command(argv, environ_update=p["then_environment"])
    result.update(then_rc=rc, then_stdout=out[-4000:])
    if rc != 0:
        module.fail_json(msg="the switch was done (%s/current -> releases/%s), but the command after it failed "
                             "(exit %d): %s: %s" % (p["app_root"], p["id"], rc, " ".join(p["then"]),
                                                    (err or out).strip()[-2000:]), **result)


_ACTIONS = {"record": _record, "switch": _switch, "mark_bad": _mark_bad, "rollback_record": _rollback_record}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ledger=dict(type="path", required=True),
            action=dict(type="str", required=True, choices=list(_ACTIONS)),
            id=dict(type="str", required=True),
            app_root=dict(type="path"),
            revision=dict(type="str"),
            migrations=dict(type="list", elements="str", default=[]),
            backup_id=dict(type="str"),
            note=dict(type="str"),
            target=dict(type="str"),
            then=dict(type="list", elements="str", default=[]),
            then_user=dict(type="str"),
            then_environment=dict(type="dict", default={}),
        ),
        required_if=[("action", "switch", ["app_root"]), ("action", "record", ["revision"])],
        supports_check_mode=True,
    )
    p = module.params
    try:
        with ledger_lock(p["ledger"], check_mode=module.check_mode):
            before = load_ledger(p["ledger"])
            after, changed, release_id, previous, diff = _ACTIONS[p["action"]](module, before, current_actor())
            if changed and not module.check_mode:
                try:
                    save_ledger(p["ledger"], after)
                except OSError as exc:
                    done = ("The switch itself was done: %s/current -> releases/%s."
                            % (p["app_root"], release_id) if p["action"] == "switch" else "Nothing was changed.")
                    module.fail_json(msg="could not write the ledger %s: %s. %s Check that the remote user can "
                                         "write its directory (become?)." % (p["ledger"], exc, done))
    except ReleaseInputError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    except (ReleaseError, LockError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="action=%s failed: %s. Check that the remote user owns or can write that path "
                             "(become?)." % (p["action"], exc))
    result = dict(changed=changed, release=release_id, previous_release=previous,
                  event=after["events"][-1] if changed else None, ledger=after["releases"])
    if module._diff:
        result["diff"] = diff
    if p["action"] == "switch" and p["then"] and changed and not module.check_mode:
        try:
            _run_then(module, result)
        except ReleaseInputError as exc:
            module.fail_json(msg=tagged(INPUT, "the switch was done, but %s" % exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

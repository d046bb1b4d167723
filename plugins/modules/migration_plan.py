#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: migration_plan
short_description: Decide how to undo a Django release's migrations - code only, reverse them, or restore
version_added: 0.1.0
description:
  - Compares the migration files of the current and the target release of a Django project and
    lists the migrations applied since the target release, in an order Django could apply them.
    The files are read with Python's C(ast), never imported, so nothing in them runs and Django
    need not be importable by Ansible's Python.
  - Classifies each operation as V(additive), V(state), V(alter), V(rename), V(destructive),
    V(data) or V(unknown), and works out whether the old code runs on the schema it left
    (compatible), whether Django can reverse it, and whether it lost data.
  - "Chooses V(code_only) when nothing was applied or everything applied is compatible (new
    tables, nullable columns, indexes: the schema stays and only the code goes back);
    V(reverse) when every migration is reversible and none lost data; V(restore) otherwise
    (a removed field or model, RunPython or RunSQL without a reverse, SQL that deletes data, an
    operation rewind does not know). Each migration that decided it gets a reason."
  - For V(reverse) it returns the C(manage.py migrate <app> <migration>) commands, checked
    against the migration graph the way Django plans them, so that they unapply exactly the
    migrations listed. Run them with the B(current) release's code, before switching the code
    back - the target release does not have the migration files to reverse.
  - Read-only. Fails with C(REWIND-E-INPUT) naming the file and line of a migration it cannot
    read, and with O(mode=reverse) naming every migration that cannot be reversed.
author: rewind developers (@rewind)
options:
  current:
    description:
      - Project root of the release live now, for example C(/srv/app/releases/20261124T024500Z).
      - Apps are the folders holding C(migrations/__init__.py) under it; virtualenvs,
        C(site-packages), C(node_modules) and hidden folders are skipped.
    type: path
    required: true
  target:
    description: Project root of the release to roll back to.
    type: path
    required: true
  applied:
    description:
      - The migrations the database has applied, as C(app.migration) strings or as rows with
        keys C(app) and C(name) (C(SELECT app, name FROM django_migrations)).
      - Migrations of the current release that are not in it are left out of the plan, with a
        warning. Rows of planned apps that neither release has make the choice V(restore).
      - Default every migration of the current release, as after a deployment whose
        C(migrate) ran to the end.
    type: list
    elements: raw
  apps:
    description:
      - App labels to plan (the app's folder name). Default every app found in either release.
      - A migration of another app that depends on a planned one is unapplied by C(migrate)
        too, so it makes the choice V(restore) unless its app is listed as well.
    type: list
    elements: str
  allow_code_only:
    description:
      - Whether V(code_only) may be chosen when the old code runs on the new schema. Set to
        V(false) to undo every migration anyway (the choice is then V(reverse) or V(restore)).
      - With nothing applied since the target release the choice is V(code_only) regardless.
    type: bool
    default: true
  mode:
    description:
      - V(auto) chooses as described above.
      - V(reverse) reverses every migration applied since the target release, even those the old
        code could run on and those that lost data (with a warning each), and fails naming every
        migration Django cannot reverse.
    type: str
    choices: [auto, reverse]
    default: auto
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only, so the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: rewind.rollback.release_info
notes:
  - App labels are folder names, Django's default; an C(AppConfig.label) set in code is not read.
  - Dependencies through C(swappable_dependency()) (the user model a setting names) are not
    followed; they point outside the release's apps as a rule.
  - MySQL has no transactional DDL. A migration whose C(migrate) failed halfway is not in
    C(django_migrations), yet the statements that ran are in the schema; the module warns about
    every migration of the current release that is not applied when O(applied) is given.
"""

EXAMPLES = r"""
- name: Plan the database side of the rollback
  rewind.rollback.migration_plan:
    current: /srv/callcenter/releases/20261124T024500Z
    target: /srv/callcenter/releases/20261117T101500Z
    # rows of community.mysql.mysql_query with query "SELECT app, name FROM django_migrations"
    applied: "{{ django_migrations.query_result[0] }}"
  register: migration_plan

- name: Reverse the migrations with the current release's code, before switching the code back
  ansible.builtin.command:
    argv: "{{ ['/srv/callcenter/venv/bin/python'] + item }}"
    chdir: "{{ migration_plan.project_dir }}"
  loop: "{{ migration_plan.commands }}"
  when: migration_plan.choice == 'reverse'
  changed_when: true

- name: Undo the schema even where the old code would run on it; fail if a migration cannot be reversed
  rewind.rollback.migration_plan:
    current: /srv/callcenter/releases/20261124T024500Z
    target: /srv/callcenter/releases/20261117T101500Z
    apps: [calls, accounts]
    mode: reverse
  register: migration_plan
"""

RETURN = r"""
choice:
  description: V(code_only), V(reverse) or V(restore).
  returned: always
  type: str
  sample: restore
reasons:
  description:
    - Why, one sentence per migration that decided the choice (what it does, why that matters,
      what to do).
  returned: always
  type: list
  elements: str
  sample:
    - "accounts.0004_remove_customer_phone removes field customer.phone: the data is gone; reversing would
      bring back an empty column — restore the pre-deploy backup"
migrations:
  description: The migrations applied since the target release, in an order Django could apply them.
  returned: always
  type: list
  elements: dict
  contains:
    app:
      description: App label.
      type: str
    name:
      description: Migration name.
      type: str
    path:
      description: The file, relative to O(current).
      type: str
    kinds:
      description: The kinds of its operations, in file order.
      type: list
      elements: str
    compatible:
      description: Whether the old code runs on the schema it left.
      type: bool
    reversible:
      description: Whether Django can reverse every operation.
      type: bool
    destructive:
      description: Whether an operation lost data that reversing cannot bring back.
      type: bool
    operations:
      description: Its database operations (op, kind, summary, note, compatible, reversible, destructive, line).
      type: list
      elements: dict
  sample:
    - app: calls
      name: 0009_normalise_subjects
      path: calls/migrations/0009_normalise_subjects.py
      kinds: [data]
      compatible: false
      reversible: false
      destructive: false
      operations:
        - op: RunPython
          kind: data
          summary: runs normalise_subjects (RunPython) without reverse_code
          note: Django cannot reverse it (IrreversibleError), and what it changed is only in the backup
          compatible: false
          reversible: false
          destructive: false
          line: 20
targets:
  description:
    - For each app with migrations in the plan, the migration the target release ends at, or
      V(zero) when it has none; null when the target release has conflicting latest migrations.
  returned: always
  type: dict
  sample: {calls: 0007_rename_note_call_memo, accounts: 0003_customer_email_db_column}
commands:
  description:
    - With RV(choice=reverse), the argv lists to run in order in RV(project_dir), prefixed with
      the project's Python, using the current release's code; otherwise empty.
  returned: always
  type: list
  elements: list
  sample: [[manage.py, migrate, calls, 0001_initial], [manage.py, migrate, accounts, 0001_initial]]
project_dir:
  description: The folder of the current release that holds C(manage.py), or null when there is none.
  returned: always
  type: str
  sample: /srv/callcenter/releases/20261124T024500Z
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._migrations import MigrationError, parse_applied, plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            current=dict(type="path", required=True),
            target=dict(type="path", required=True),
            applied=dict(type="list", elements="raw"),
            apps=dict(type="list", elements="str"),
            allow_code_only=dict(type="bool", default=True),
            mode=dict(type="str", choices=["auto", "reverse"], default="auto"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        applied = parse_applied(p["applied"]) if p["applied"] is not None else None
        result = plan(p["current"], p["target"], applied=applied, apps=p["apps"],
                      allow_code_only=p["allow_code_only"], mode=p["mode"])
    except MigrationError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    for warning in result.pop("warnings"):
        module.warn(warning)
    result["migrations"] = [m.as_dict() for m in result["migrations"]]
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

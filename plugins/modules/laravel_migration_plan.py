#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: laravel_migration_plan
short_description: Decide whether a Laravel release's migrations can be reversed, and with how many steps
version_added: 0.1.0
description:
  - Works out which migrations rolling the current release back to the target release means
    undoing - those the target release does not have, from its C(database/migrations) folder and
    from the release ledger, that the database has run - and the C(--step) count for
    C(php artisan migrate:rollback) that reverses exactly those. Never a fixed C(--step=1).
  - "The steps are checked against the order C(migrate:rollback) reverses in (batch, then name,
    newest first, as O(status) shows them): when a migration the target release needs ran after
    one it does not, no step count undoes only the new ones, and the choice is V(restore)."
  - Reads each migration's C(up) and C(down) with a small PHP tokenizer (nothing is run)
    and classifies what C(up) did - V(additive), V(alter), V(rename), V(destructive), V(data)
    or V(unknown) - to say what reversing it does to data.
  - Chooses V(reverse) when every migration to undo has a C(down) and none is destructive
    (dropped a column or a table, deleted rows) or unreadable, V(none) when there is nothing to
    undo, and V(restore) otherwise - the pre-deployment backup, a full rollback, is then the safe
    path. O(allow_destructive=true) lets destructive and unreadable migrations be reversed anyway.
  - Read-only. Fails with C(REWIND-E-INPUT) naming the file of a migration it cannot read.
author: rewind developers (@rewind)
options:
  current:
    description:
      - Root of the release live now, for example C(/srv/shop/releases/r42). Its migrations are the
        ones C(migrate:rollback) runs, so they must be on disk.
    type: path
    required: true
  target:
    description:
      - Root of the release to roll back to. When it is not on disk, its migrations are taken from
        the ledger (O(releases)).
    type: path
    required: true
  status:
    description:
      - Output of C(php artisan migrate:status), run in the current release (Laravel 8's table or the
        dotted lines of Laravel 9 and later). It says which migrations the database has run, and in
        which batch.
      - Without it every migration the target release lacks counts as run, in name order.
    type: str
  releases:
    description:
      - The release ledger's entries (RV(rewind.rollback.release_info#module:releases)), each with the
        C(migrations) its deployment ran. Used with O(current_release) and O(target_release).
    type: list
    elements: dict
    default: []
  current_release:
    description: Id of the current release in the ledger.
    type: str
  target_release:
    description: Id of the target release in the ledger.
    type: str
  migrations_path:
    description: The migrations folder, relative to a release's root.
    type: str
    default: database/migrations
  allow_destructive:
    description:
      - Reverse destructive migrations (and those rewind cannot read) instead of choosing V(restore).
        Reversing a dropped column brings it back empty; the old values are only in the backup.
    type: bool
    default: false
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
  - module: rewind.rollback.migration_plan
notes:
  - Migrations are recognised by what C(Schema::) and C(DB::) calls their C(up) makes; a
    migration that works through its own helpers or models is V(unknown), never called safe.
"""

EXAMPLES = r"""
- name: Ask the database which migrations ran
  ansible.builtin.command:
    argv: [runuser, -u, www-data, --, php, /srv/shop/current/artisan, migrate:status]
  register: shop_status
  changed_when: false

- name: Plan the reversal of the releases since r41
  rewind.rollback.laravel_migration_plan:
    current: /srv/shop/releases/r42
    target: /srv/shop/releases/r41
    status: "{{ shop_status.stdout }}"
    releases: "{{ shop_releases.releases }}"
    current_release: r42
    target_release: r41
  register: shop_migrations

- name: Refuse to reverse what cannot be reversed
  ansible.builtin.assert:
    that: shop_migrations.choice != 'restore'
    fail_msg: "{{ shop_migrations.reasons | join('; ') }}: restore the pre-deploy backup instead"

- name: Reverse them with the current release's code
  ansible.builtin.command:
    argv: "{{ ['php', '/srv/shop/current/artisan'] + shop_migrations.command }}"
  when: shop_migrations.choice == 'reverse'
  changed_when: true
"""

RETURN = r"""
choice:
  description: V(reverse), V(none) (nothing to undo) or V(restore) (see RV(reasons)).
  returned: always
  type: str
  sample: reverse
steps:
  description: The C(--step) count that reverses exactly RV(revert).
  returned: always
  type: int
  sample: 1
revert:
  description: The migrations to undo, in the order C(migrate:rollback) reverses them.
  returned: always
  type: list
  elements: str
  sample: [2025_11_14_000001_add_hybrid_campaigns]
command:
  description: With RV(choice=reverse), the artisan arguments to run in the current release; otherwise empty.
  returned: always
  type: list
  elements: str
  sample: ["migrate:rollback", "--step=1", "--force"]
reasons:
  description: Why the choice is V(restore), one sentence per migration that decided it.
  returned: always
  type: list
  elements: str
  sample:
    - "2025_12_01_000001_drop_campaign_notes drops column campaigns.notes (line 11): the data is gone, and
      reversing it brings back an empty column"
notes:
  description: What reversing does besides, for the plan (tables and columns it drops, data changes).
  returned: always
  type: list
  elements: str
pending:
  description: Migrations of the current release the database has not run (null without O(status)).
  returned: always
  type: list
  elements: str
migrations:
  description: Each migration of RV(revert) found in the current release, read.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The migration (its file name without C(.php)).
      type: str
    path:
      description: Its file.
      type: str
    kinds:
      description: The kinds of its C(up) operations.
      type: list
      elements: str
    reversible:
      description: Whether it has a C(down) that does something.
      type: bool
    destructive:
      description: Whether C(up) dropped a table or column or deleted rows.
      type: bool
    readable:
      description: Whether rewind recognised every call of C(up).
      type: bool
    reversing_drops:
      description: The tables and columns C(up) added, which reversing drops with their data.
      type: list
      elements: str
    operations:
      description: The operations of C(up) (kind, summary, line).
      type: list
      elements: dict
  sample:
    - name: 2025_11_14_000001_add_hybrid_campaigns
      path: /srv/campaigns/releases/r2/database/migrations/2025_11_14_000001_add_hybrid_campaigns.php
      kinds: [additive]
      reversible: true
      destructive: false
      readable: true
      reversing_drops: [column campaigns.campaign_type, table hybrid_campaign_steps]
      operations:
        - kind: additive
          summary: adds column campaigns.campaign_type (string)
          line: 12
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._laravel import REVERSE, LaravelError, plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            current=dict(type="path", required=True),
            target=dict(type="path", required=True),
            status=dict(type="str"),
            releases=dict(type="list", elements="dict", default=[]),
            current_release=dict(type="str"),
            target_release=dict(type="str"),
            migrations_path=dict(type="str", default="database/migrations"),
            allow_destructive=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = plan(p["current"], p["target"], status=p["status"], releases=p["releases"],
                      current_release=p["current_release"], target_release=p["target_release"],
                      migrations_path=p["migrations_path"], allow_destructive=p["allow_destructive"])
    except LaravelError as exc:
        module.fail_json(msg=tagged(INPUT, str(exc)))
    except OSError as exc:
        module.fail_json(msg=tagged(INPUT, "cannot read the migrations: %s. Check that the remote user can read "
                                           "the release folders (become?)." % exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    result["command"] = (["migrate:rollback", "--step=%d" % result["steps"], "--force"]
                         if result["choice"] == REVERSE else [])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_info
short_description: Report the current and previous good release, the releases on disk and the ledger
version_added: 0.1.0
description:
  - Reads the release ledger written by M(rewind.rollback.release) and, when O(app_root) is set,
    the C(<app_root>/current) symlink and the C(<app_root>/releases/) directory. Changes nothing.
  - The current release comes from the C(current) symlink (C(readlink)), never from directory
    modification times. Without a symlink (tiers deployed in place, such as WordPress) it is the
    release the ledger last made live.
  - The previous release is the newest release recorded before the current one that is not
    marked bad, where a rollback would go.
author: rewind developers (@rewind)
options:
  ledger:
    description:
      - Path of the ledger, for example C(/srv/app/releases.json).
      - A missing file reads as an empty ledger, with a warning.
    type: path
    required: true
  app_root:
    description:
      - Application root holding C(releases/<id>/) and the C(current) symlink.
      - Leave unset for tiers deployed in place.
    type: path
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
  - module: rewind.rollback.release
"""

EXAMPLES = r"""
- name: Read the releases of the shop
  rewind.rollback.release_info:
    ledger: /srv/shop/releases.json
    app_root: /srv/shop
  register: shop_releases

- name: Refuse to roll back when there is no good release to go to
  ansible.builtin.assert:
    that: shop_releases.previous is not none
    fail_msg: >-
      No good release before {{ shop_releases.current }} in /srv/shop/releases.json;
      a code rollback has nowhere to go.
"""

RETURN = r"""
current:
  description: The live release, or null when nothing is deployed or recorded.
  returned: always
  type: str
  sample: "20261124T024500Z"
current_source:
  description: Where RV(current) was read from, V(symlink) or V(ledger); null when RV(current) is null.
  returned: always
  type: str
  sample: symlink
previous:
  description:
    - The newest release recorded before RV(current) that is not marked bad; null when there is none
      or when RV(current) is not in the ledger.
  returned: always
  type: str
  sample: "20261117T101500Z"
deployed_at:
  description: When RV(current) last became live according to the ledger (ISO-8601 UTC), or null.
  returned: always
  type: str
  sample: "2026-11-24T02:47:03Z"
releases:
  description: The releases recorded in the ledger, oldest first.
  returned: always
  type: list
  elements: dict
  sample:
    - id: "20261124T024500Z"
      revision: 3f9c2ab
      time: "2026-11-24T02:45:00Z"
      migrations: [2026_11_20_000001_add_discount_column]
      backup_id: 20261124T024400Z-pre-deploy
      bad: false
      deployed_by: alice@ops1
on_disk:
  description: Ids of the directories under C(<app_root>/releases/), sorted by name; empty without O(app_root).
  returned: always
  type: list
  elements: str
  sample: ["20261117T101500Z", "20261124T024500Z"]
events:
  description: The ledger's events, oldest first (action V(record), V(switch), V(mark_bad) or V(rollback)).
  returned: always
  type: list
  elements: dict
  sample:
    - time: "2026-11-24T02:47:03Z"
      action: switch
      release: "20261124T024500Z"
      previous: "20261117T101500Z"
      by: alice@ops1
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rewind.rollback.plugins.module_utils._releases import (
    ReleaseError, current_from_ledger, current_release, deployed_at, load_ledger, on_disk, previous_good)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ledger=dict(type="path", required=True),
            app_root=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    path, app_root = module.params["ledger"], module.params["app_root"]
    if not os.path.exists(path):
        module.warn("ledger %s does not exist: no release was recorded there yet (is the path right?)" % path)
    try:
        ledger = load_ledger(path)
        current, source = (current_release(app_root), "symlink") if app_root else (None, None)
        disk = on_disk(app_root) if app_root else []
    except ReleaseError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="could not read the releases: %s. Check that the remote user can read that path "
                             "(become?)." % exc)
    if current is None:
        current = current_from_ledger(ledger)
        source = "ledger" if current else None
    elif current not in disk:
        module.warn("%s/current points to releases/%s, which does not exist: the site is down until current "
                    "points to a release on disk (%s)" % (app_root, current, ", ".join(disk) or "none"))
    module.exit_json(changed=False, current=current, current_source=source,
                     previous=previous_good(ledger, current), deployed_at=deployed_at(ledger, current),
                     releases=ledger["releases"], on_disk=disk, events=ledger["events"])


if __name__ == "__main__":
    main()

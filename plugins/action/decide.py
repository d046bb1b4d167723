# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of rewind.rollback.decide: read the policy on the controller, decide in the module.

Policy files live in the collection (``policies/``) or beside the playbook, on the controller;
Ansible ships module_utils to the managed host but not those files. So this plugin finds, merges
and validates the policy here and passes its data to the module as ``_policy_data``.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.rewind.rollback.plugins.module_utils._decide import ARGUMENT_SPEC
from ansible_collections.rewind.rollback.plugins.module_utils._errors import INPUT, tagged
from ansible_collections.rewind.rollback.plugins.module_utils._policy import (
    PolicyError, is_policy_path, load_policy)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
            ref = args["policy"]
            args["_policy_data"] = load_policy(self._loader.path_dwim(ref) if is_policy_path(ref) else ref,
                                               [self._loader.path_dwim(path) for path in args["policy_paths"]])
        except (AnsibleActionFail, PolicyError) as exc:
            result.update(failed=True, msg=tagged(INPUT, getattr(exc, "message", str(exc))))
            return result
        result.update(self._execute_module(module_name="rewind.rollback.decide", module_args=args,
                                           task_vars=task_vars))
        result.pop("invocation", None)  # it would echo every sample and the whole policy
        return result

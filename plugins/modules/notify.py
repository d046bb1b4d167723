#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: notify
short_description: Tell the team and the customers about a rollback, without ever failing it
version_added: 0.1.0
description:
  - Renders one of the rollback plans' communication templates from the run's facts and sends
    it to every channel configured, in parallel, each with its own timeout and retries
    - a Slack-compatible incoming webhook, a generic or status-page webhook (JSON), and email over SMTP.
  - B(Never fails the task.) A channel that is down, slow or refusing is reported in RV(undelivered)
    with the reason, so a notifier can never fail or stall the rollback. The longest a channel can
    take is O(retries) + 1 attempts of O(timeout) seconds plus the delays between them.
  - With no channel configured it only renders the message, which is returned in RV(message).
  - Run it once per rollback on the controller, with C(delegate_to=localhost) and C(run_once=true).
author: rewind developers (@rewind)
options:
  template:
    description:
      - V(initiated) and V(completed) are the team's "ROLLBACK INITIATED" and "ROLLBACK COMPLETED"
        messages, V(failed) is the team's message for a rollback that stopped, V(customer) is the
        customer status message (in progress, or resolved once O(status=completed) and every check passed).
    type: str
    required: true
    choices: [initiated, completed, failed, customer]
  status:
    description:
      - Where the rollback is. Default V(running) for O(template=initiated), V(completed) for
        O(template=completed) and V(failed) for O(template=failed); V(running) for O(template=customer).
    type: str
    choices: [running, completed, failed]
  plan:
    description: The run's C(rewind_plan) fact (level, reason, tier, target release, run id).
    type: dict
    default: {}
  hosts:
    description: The hosts of the run, usually C(ansible_play_hosts_all). Default the keys of O(results).
    type: list
    elements: str
  results:
    description:
      - The C(rewind_result) fact of each host, keyed by host, for the restored items, services
        restarted and validation results. See the examples for building it from C(hostvars).
    type: dict
    default: {}
  details:
    description:
      - The incident's details, all optional. C(impact), C(lead), C(contact), C(company), C(support),
        C(eta_minutes), C(system), C(current_state), C(next_steps) (list), C(error), C(what_happened).
    type: dict
    default: {}
  timings:
    description:
      - C(started_at), C(ended_at), C(duration_s), C(downtime_s), C(failed_phase), C(failed_host), C(error).
    type: dict
    default: {}
  slack_url:
    description:
      - A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat). Receives a JSON object whose C(text) is the message.
      - The URL is a credential and is never logged.
    type: str
  webhook_url:
    description:
      - A generic or status-page webhook. Receives a JSON object with C(event) (the template),
        C(status) (V(identified), V(resolved) or V(investigating)), C(subject), C(text), C(run_id) and C(level).
      - The URL may carry a token and is never logged.
    type: str
  webhook_headers:
    description: Extra HTTP headers for O(webhook_url), for example C(Authorization). Never logged.
    type: dict
    default: {}
  smtp_host:
    description: The SMTP server. Email is sent only when O(smtp_host) and O(smtp_to) are set.
    type: str
  smtp_port:
    description: The SMTP port.
    type: int
    default: 25
  smtp_from:
    description: The sender address.
    type: str
    default: rewind@localhost
  smtp_to:
    description: The recipients.
    type: list
    elements: str
    default: []
  smtp_starttls:
    description: Upgrade the connection with STARTTLS before logging in.
    type: bool
    default: false
  smtp_user:
    description: Log in as this user. Requires O(smtp_password).
    type: str
  smtp_password:
    description: The SMTP password. Never logged.
    type: str
  timeout:
    description: Seconds one attempt on one channel may take (connect, send and answer).
    type: float
    default: 10
  retries:
    description:
      - How many times a failed attempt is retried. A permanent refusal (HTTP 4xx other than 408 and 429,
        SMTP 5xx) is not retried.
    type: int
    default: 2
  retry_delay:
    description: Seconds to wait before each retry.
    type: float
    default: 2
  validate_certs:
    description: Verify the TLS certificates of HTTPS webhooks.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: In check mode the message is rendered and nothing is sent; RV(delivered) and RV(undelivered) are empty.
  diff_mode:
    support: none
notes:
  - Secrets (webhook URLs, headers, the SMTP password) are C(no_log) options. Keep them in Ansible Vault
    or in an AWX credential, never in the inventory in clear.
"""

EXAMPLES = r"""
- name: Tell the team the rollback starts
  rewind.rollback.notify:
    template: initiated
    plan: "{{ rewind_plan }}"
    hosts: "{{ ansible_play_hosts_all }}"
    details: "{{ rewind_incident | default({}) }}"
    slack_url: "{{ rewind_notify_slack_url | default(omit) }}"
    webhook_url: "{{ rewind_notify_status_url | default(omit) }}"
  delegate_to: localhost
  run_once: true

- name: Tell the team and the customers it is over
  rewind.rollback.notify:
    template: "{{ item }}"
    status: completed
    plan: "{{ rewind_plan }}"
    results: >-
      {{ dict(ansible_play_hosts_all
              | zip(ansible_play_hosts_all | map('extract', hostvars)
                    | map(attribute='rewind_result', default={}))) }}
    details: "{{ rewind_incident | default({}) }}"
    smtp_host: smtp.internal
    smtp_port: 587
    smtp_starttls: true
    smtp_user: rewind
    smtp_password: "{{ vault_rewind_smtp_password }}"
    smtp_from: rewind@example.com
    smtp_to: [ops@example.com]
  loop: [completed, customer]
  delegate_to: localhost
  run_once: true
  register: rewind_notified
"""

RETURN = r"""
template:
  description: The template rendered, as given in O(template).
  returned: always
  type: str
  sample: completed
subject:
  description: The subject of the message.
  returned: always
  type: str
  sample: ROLLBACK COMPLETED - laravel
message:
  description: The message as sent.
  returned: always
  type: str
  sample: "Status: ROLLBACK COMPLETED\nTime: 2025-11-24T03:12:09Z\n..."
delivered:
  description: The channels that accepted the message.
  returned: always
  type: list
  elements: str
  sample: [slack, email]
undelivered:
  description:
    - The channels that did not, with why and after how many attempts.
    - Not called C(failed), which Ansible reads as the task's own failure.
  returned: always
  type: list
  elements: dict
  sample: [{channel: webhook, error: "connection refused", attempts: 3}]
"""

import json
import re
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

from ansible_collections.rewind.rollback.plugins.module_utils._messages import (
    TEMPLATES,
    build_context,
    render,
)

_DEFAULT_STATUS = {"initiated": "running", "completed": "completed", "failed": "failed", "customer": "running"}
_PAGE_STATUS = {"running": "identified", "completed": "resolved", "failed": "investigating"}
_RETRY_HTTP = (408, 429)  # the 4xx answers that a later attempt can change


class _Permanent(Exception):
    """A refusal that a retry will not change (HTTP 4xx but 408 and 429, SMTP 5xx)."""


def _post_json(module, url, payload, headers):
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    resp, info = fetch_url(module, url, data=json.dumps(payload).encode("utf-8"), headers=all_headers,
                           method="POST", timeout=module.params["timeout"])
    status = info.get("status", -1)
    if resp is not None:
        resp.close()
    if 200 <= status < 300:
        return
    # fetch_url says "Request failed: <urlopen error [Errno 111] Connection refused>": keep the inner reason.
    reason = re.sub(r"^Request failed: <urlopen error (.*)>$", r"\1", info.get("msg") or "no answer")
    if 400 <= status < 500 and status not in _RETRY_HTTP:
        raise _Permanent("HTTP %d %s" % (status, reason))
    raise RuntimeError("HTTP %d %s" % (status, reason) if status > 0 else reason)


def _send_mail(params, subject, body):
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = params["smtp_from"]
    msg["To"] = ", ".join(params["smtp_to"])
    msg.set_content(body)
    try:
        with smtplib.SMTP(params["smtp_host"], params["smtp_port"], timeout=params["timeout"]) as smtp:
            if params["smtp_starttls"]:
                smtp.starttls()
            if params["smtp_user"]:
                smtp.login(params["smtp_user"], params["smtp_password"])
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        text = "SMTP %d %s" % (exc.smtp_code, exc.smtp_error.decode("utf-8", "replace")
                               if isinstance(exc.smtp_error, bytes) else exc.smtp_error)
        if exc.smtp_code >= 500:
            raise _Permanent(text)
        raise RuntimeError(text)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _Permanent("every recipient refused: %s" % ", ".join(sorted(exc.recipients)))


def _attempt(send, retries, delay):
    """Run ``send`` up to ``retries`` + 1 times. Returns (error or None, attempts)."""
    attempts = 0
    while True:
        attempts += 1
        try:
            send()
            return None, attempts
        except _Permanent as exc:
            return str(exc), attempts
        except Exception as exc:  # a notifier must never fail the rollback: report any error
            error = str(exc) or exc.__class__.__name__
        if attempts > retries:
            return error, attempts
        time.sleep(delay)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            template=dict(type="str", required=True, choices=list(TEMPLATES)),
            status=dict(type="str", choices=["running", "completed", "failed"]),
            plan=dict(type="dict", default={}),
            hosts=dict(type="list", elements="str"),
            results=dict(type="dict", default={}),
            details=dict(type="dict", default={}),
            timings=dict(type="dict", default={}),
            slack_url=dict(type="str", no_log=True),
            webhook_url=dict(type="str", no_log=True),
            webhook_headers=dict(type="dict", default={}, no_log=True),
            smtp_host=dict(type="str"),
            smtp_port=dict(type="int", default=25),
            smtp_from=dict(type="str", default="rewind@localhost"),
            smtp_to=dict(type="list", elements="str", default=[]),
            smtp_starttls=dict(type="bool", default=False),
            smtp_user=dict(type="str"),
            smtp_password=dict(type="str", no_log=True),
            timeout=dict(type="float", default=10),
            retries=dict(type="int", default=2),
            retry_delay=dict(type="float", default=2),
            validate_certs=dict(type="bool", default=True),
        ),
        required_together=[("smtp_user", "smtp_password")],
        supports_check_mode=True,
    )
    p = module.params
    if p["retries"] < 0 or p["timeout"] <= 0 or p["retry_delay"] < 0:
        module.fail_json(msg="notify: timeout must be > 0, retries and retry_delay >= 0 "
                             "(got timeout=%s, retries=%s, retry_delay=%s)" % (p["timeout"], p["retries"], p["retry_delay"]))

    template = p["template"]
    status = p["status"] or _DEFAULT_STATUS[template]
    context = build_context(plans={"run": p["plan"]}, results=p["results"], details=p["details"],
                            timings=p["timings"], status=status,
                            hosts=p["hosts"] if p["hosts"] is not None else list(p["results"]))
    subject, message = render(template, context)

    channels = {}
    if p["slack_url"]:
        channels["slack"] = lambda: _post_json(module, p["slack_url"], {"text": "*%s*\n%s" % (subject, message)}, {})
    if p["webhook_url"]:
        payload = {"event": template, "status": _PAGE_STATUS[status], "subject": subject, "text": message,
                   "run_id": context["run_id"], "level": context["level"]}
        channels["webhook"] = lambda: _post_json(module, p["webhook_url"], payload, p["webhook_headers"])
    if p["smtp_host"] and p["smtp_to"]:
        channels["email"] = lambda: _send_mail(p, subject, message)

    result = dict(changed=False, template=template, subject=subject, message=message, delivered=[], undelivered=[])
    if not channels or module.check_mode:
        result["changed"] = bool(channels)
        module.exit_json(**result)

    with ThreadPoolExecutor(max_workers=len(channels)) as pool:
        futures = {name: pool.submit(_attempt, send, p["retries"], p["retry_delay"]) for name, send in channels.items()}
    for name in sorted(futures):
        error, attempts = futures[name].result()
        if error is None:
            result["delivered"].append(name)
        else:
            result["undelivered"].append({"channel": name, "error": error, "attempts": attempts})
    result["changed"] = bool(result["delivered"])
    if result["undelivered"]:
        module.warn("notify: could not deliver the %s message on %s; the rollback goes on." % (
            template, ", ".join("%s (%s)" % (f["channel"], f["error"]) for f in result["undelivered"])))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

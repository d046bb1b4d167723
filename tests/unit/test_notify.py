# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rewind.rollback.notify against a real webhook receiver and a real SMTP server on 127.0.0.1,
plus the message templates (_messages) and the failure tags (_errors) it relies on."""

import json
import sys
import time
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rewind.rollback.plugins.module_utils import _errors, _messages
from ansible_collections.rewind.rollback.plugins.modules import notify

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "cli"))
from servers import SMTPServer, WebhookReceiver, closed_port  # noqa: E402

PLAN = {"level": "code", "tier": "laravel", "reason": "checkout returns 500", "target_release": "r41",
        "run_id": "20251124T030000Z-abc123", "started_at": "2025-11-24T03:00:00Z"}
RESULTS = {
    "web1": {"restored": ["code r41", "config .env"], "services_restarted": ["php-fpm", "nginx"],
             "snapshot": "/var/lib/rewind/laravel/snapshots/20251124T030000Z-abc123",
             "verify": [{"check": "GET /health", "ok": True, "detail": "200"}]},
}


def run_module(capsys, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        notify.main()
    out = json.loads(capsys.readouterr().out)
    return exc.value.code, out


def test_delivers_on_every_channel(capsys):
    with WebhookReceiver() as slack, WebhookReceiver() as page, SMTPServer() as smtp:
        code, out = run_module(
            capsys, template="completed", plan=PLAN, results=RESULTS, details={"impact": "checkout down"},
            slack_url=slack.url("/services/T000/B000/XXXX"), webhook_url=page.url(),
            webhook_headers={"Authorization": "Bearer page-token"},
            smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_to=["ops@example.com"], timeout=5)
    assert code == 0 and not out.get("failed")
    assert out["delivered"] == ["email", "slack", "webhook"] and out["undelivered"] == []
    assert out["changed"] is True
    assert out["subject"] == "ROLLBACK COMPLETED - laravel"
    assert "*ROLLBACK COMPLETED - laravel*" in slack.requests[0]["json"]["text"]
    body = page.requests[0]["json"]
    assert body["event"] == "completed" and body["status"] == "resolved"
    assert body["run_id"] == PLAN["run_id"] and body["level"] == "3 (code)"
    assert page.requests[0]["headers"]["Authorization"] == "Bearer page-token"
    mail = smtp.messages[0]
    assert mail["to"] == ["<ops@example.com>"]
    assert "Subject: ROLLBACK COMPLETED - laravel" in mail["data"]
    assert "code r41" in mail["data"] and "php-fpm" in mail["data"]
    # Secrets are no_log options: never echoed back.
    assert "XXXX" not in json.dumps(out) and "page-token" not in json.dumps(out)


def test_receiver_down_and_smtp_refusing_never_fail_the_task(capsys, monkeypatch):
    warnings = []
    monkeypatch.setattr(notify.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    start = time.monotonic()
    with SMTPServer(refuse=True) as smtp:
        code, out = run_module(
            capsys, template="initiated", plan=PLAN, webhook_url="http://127.0.0.1:%d/hook" % closed_port(),
            smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_to=["ops@example.com"],
            timeout=2, retries=2, retry_delay=0.05)
    assert code == 0 and not out.get("failed")
    assert out["delivered"] == [] and out["changed"] is False
    failures = {f["channel"]: f for f in out["undelivered"]}
    assert set(failures) == {"email", "webhook"}
    assert failures["webhook"]["attempts"] == 3 and "refused" in failures["webhook"]["error"].lower()
    # 554 at the greeting is a permanent refusal: not retried.
    assert failures["email"]["attempts"] == 1 and failures["email"]["error"].startswith("SMTP 554")
    assert smtp.sessions == 1
    assert warnings and warnings[0].startswith("notify: could not deliver the initiated message on email (SMTP 554")
    # bounded by the settings: 3 attempts of at most 2 s and the delays, channels in parallel
    assert time.monotonic() - start < 3 * 2 + 2 * 0.05 + 1


def test_smtp_connection_refused_is_retried(capsys):
    code, out = run_module(capsys, template="failed", plan=PLAN, smtp_host="127.0.0.1", smtp_port=closed_port(),
                           smtp_to=["ops@example.com"], timeout=1, retries=1, retry_delay=0)
    assert code == 0
    assert out["undelivered"][0]["channel"] == "email" and out["undelivered"][0]["attempts"] == 2


@pytest.mark.parametrize("status, attempts", [(500, 3), (503, 3), (429, 3), (404, 1), (403, 1)])
def test_http_errors_retry_only_when_a_retry_can_help(capsys, status, attempts):
    with WebhookReceiver(status=status) as page:
        code, out = run_module(capsys, template="customer", plan=PLAN, webhook_url=page.url(),
                               timeout=2, retries=2, retry_delay=0)
    assert code == 0
    assert out["undelivered"] == [{"channel": "webhook", "error": out["undelivered"][0]["error"], "attempts": attempts}]
    assert out["undelivered"][0]["error"].startswith("HTTP %d" % status)
    assert len(page.requests) == attempts


def test_a_slow_receiver_times_out_instead_of_stalling_the_rollback(capsys):
    start = time.monotonic()
    with WebhookReceiver(delay=3) as slack:
        code, out = run_module(capsys, template="initiated", plan=PLAN, slack_url=slack.url(),
                               timeout=0.5, retries=0)
    assert code == 0
    assert out["undelivered"][0]["channel"] == "slack"
    assert "timed out" in out["undelivered"][0]["error"].lower()
    assert time.monotonic() - start < 2.5


def test_check_mode_renders_and_sends_nothing(capsys):
    with WebhookReceiver() as page:
        code, out = run_module(capsys, template="initiated", plan=PLAN, webhook_url=page.url(), _ansible_check_mode=True)
    assert code == 0 and out["changed"] is True
    assert out["delivered"] == [] and page.requests == []
    assert out["message"].startswith("ROLLBACK INITIATED")


def test_without_channels_it_only_renders(capsys):
    code, out = run_module(capsys, template="customer", plan=PLAN)
    assert code == 0 and out["changed"] is False and out["delivered"] == [] and out["undelivered"] == []
    assert "We expect normal service to resume within 15 minutes." in out["message"]


def test_bad_retry_settings_are_refused_with_a_clear_message(capsys):
    code, out = run_module(capsys, template="customer", plan=PLAN, retries=-1)
    assert code == 1 and out["failed"] is True
    assert "retries" in out["msg"]


# -- _messages ------------------------------------------------------------------------------------
def test_initiated_follows_the_plan_template():
    ctx = _messages.build_context(plans={"web1": PLAN}, details={"impact": "checkout down", "lead": "alice"},
                                  timings={"started_at": "2025-11-24T03:00:00Z"}, status="running")
    subject, body = _messages.render("initiated", ctx)
    assert subject == "ROLLBACK INITIATED - laravel"
    lines = body.splitlines()
    assert lines[0] == "ROLLBACK INITIATED"
    for field, value in (("Time", "2025-11-24T03:00:00Z"), ("Reason", "checkout returns 500"),
                         ("Impact", "checkout down"), ("Level", "3 (code)"), ("ETA", "15 minutes"), ("Lead", "alice")):
        assert "%s: %s" % (field, value) in lines


def test_completed_lists_actions_services_data_and_validation():
    ctx = _messages.build_context(plans={"web1": PLAN}, results=RESULTS,
                                  timings={"duration_s": 125, "downtime_s": 42,
                                           "phases": ["maintenance_on", "restore", "verify", "lock"]},
                                  status="completed")
    _, body = _messages.render("completed", ctx)
    assert "Duration: 2.1 minutes" in body and "Downtime: 42 seconds" in body
    assert "- Put up the maintenance page" in body and "- Verified the application" in body
    assert "lock" not in body.split("Actions Taken:")[1].split("Services")[0]
    assert "- php-fpm" in body and "- config .env" in body and "- OK GET /health - 200" in body
    assert "Current State: running the previous release; all checks passed" in body


def test_failed_says_where_and_why():
    ctx = _messages.build_context(plans={"web1": PLAN}, status="failed",
                                  timings={"failed_phase": "verify", "failed_host": "web1",
                                           "error": "REWIND-E-VERIFY: GET /health answered 502"})
    subject, body = _messages.render("failed", ctx)
    assert subject == "ROLLBACK FAILED - laravel"
    assert body.startswith("Status: ROLLBACK FAILED in phase verify on web1")
    assert "Error: REWIND-E-VERIFY: GET /health answered 502" in body


def test_customer_message_is_resolved_only_when_every_check_passed():
    broken = {"web1": dict(RESULTS["web1"], verify=[{"check": "GET /health", "ok": False}])}
    ok_ctx = _messages.build_context(plans={"web1": PLAN}, results=RESULTS, status="completed",
                                     details={"company": "Example Shop", "support": "support@example.com"})
    subject, body = _messages.render("customer", ok_ctx)
    assert subject == "Temporary System Issue - Resolved"
    assert "All systems are operational" in body and "No data loss" in body and body.endswith("Example Shop")
    subject, body = _messages.render("customer", _messages.build_context(plans={"web1": PLAN}, results=broken,
                                                                        status="completed"))
    assert subject.startswith("Service disruption") and "technical difficulties" in body


def test_unknown_template_names_the_known_ones():
    with pytest.raises(ValueError, match="initiated, completed, failed, customer"):
        _messages.render("sms", _messages.build_context())


@pytest.mark.parametrize("value, expected", [("1970-01-01T00:01:00Z", 60.0), ("1970-01-01T00:01:00", 60.0),
                                             ("1970-01-01T01:01:00+01:00", 60.0), (60, 60.0),
                                             ("yesterday", None), (None, None), (True, None)])
def test_epoch_reads_iso_times(value, expected):
    assert _messages.epoch(value) == expected


# -- _errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("tag", _errors.TAGS)
def test_tags_round_trip(tag):
    assert _errors.tag_of(_errors.tagged(tag, "because")) == tag


@pytest.mark.parametrize("msg", ["Connection refused", "error REWIND-E-LOCKED: later in the text",
                                 "REWIND-E-UNKNOWN: no such tag", None, 42])
def test_untagged_messages_have_no_tag(msg):
    assert _errors.tag_of(msg) is None


def test_a_loop_fails_with_its_first_failed_item_message():
    result = {"failed": True, "msg": "One or more items failed", "results": [
        {"failed": False, "msg": "fine"}, {"failed": True, "msg": "REWIND-E-BACKUP: db.sql.gz is truncated"},
        {"failed": True, "msg": "later"}]}
    assert _errors.failure_message(result) == "REWIND-E-BACKUP: db.sql.gz is truncated"
    assert _errors.failure_message({"failed": True, "msg": "One or more items failed", "results": [{"failed": True}]}) \
        == "One or more items failed"
    assert _errors.failure_message({"unreachable": True, "msg": "ssh: connect to host x port 22"}) \
        == "ssh: connect to host x port 22"


def test_tagged_refuses_an_unknown_tag():
    with pytest.raises(ValueError, match="REWIND-E-INPUT"):
        _errors.tagged("REWIND-E-OOPS", "x")

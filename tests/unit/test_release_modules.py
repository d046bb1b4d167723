# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release, release_info and lock modules, run in-process (conftest's ``run``) on real files in tmp_path."""

import json
import os

import pytest

from ansible_collections.rewind.rollback.plugins.module_utils import _lock, _releases
from ansible_collections.rewind.rollback.plugins.modules import lock, release, release_info


@pytest.fixture
def app(tmp_path):
    """An app root with releases a and b on disk, current -> releases/a, and a ledger recording both."""
    for release_id in ("a", "b"):
        (tmp_path / "releases" / release_id).mkdir(parents=True)
        (tmp_path / "releases" / release_id / "index.js").write_text(release_id)
    os.symlink("releases/a", tmp_path / "current")
    ledger = _releases.empty_ledger()
    for release_id in ("a", "b"):
        ledger, _ = _releases.record(ledger, {"id": release_id, "revision": "rev-" + release_id})
    _releases.save_ledger(str(tmp_path / "releases.json"), ledger)
    return tmp_path


def _snapshot(root):
    """Every path under root with its content or link target: to prove nothing was written."""
    seen = {}
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(parent, name)
            if os.path.islink(path):
                seen[path] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                with open(path) as handle:
                    seen[path] = handle.read()
            else:
                seen[path] = "dir"
    return seen


# --- release: record ------------------------------------------------------------------

def test_record_then_record_again(run, tmp_path):
    ledger = str(tmp_path / "releases.json")
    args = dict(ledger=ledger, action="record", id="r1", revision="3f9c2ab", migrations=["m1"], backup_id="bk1")
    result, _ = run(release, **args)
    assert (result["changed"], result["release"], result["previous_release"]) == (True, "r1", None)
    assert result["event"]["action"] == "record" and "@" in result["event"]["by"]
    assert [e["id"] for e in result["ledger"]] == ["r1"]
    assert _releases.load_ledger(ledger)["releases"] == result["ledger"]

    again, warnings = run(release, **args)
    assert again["changed"] is False and again["event"] is None
    assert warnings == []

    other_backup, warnings = run(release, **dict(args, backup_id="bk2"))
    assert other_backup["changed"] is False
    assert warnings == ["release r1 is already recorded with revision 3f9c2ab; the ledger is append-only, so these "
                        "differing fields were not saved: backup_id"]


def test_record_a_reused_id_fails(run, app):
    result, _ = run(release, ledger=str(app / "releases.json"), action="record", id="a", revision="other")
    assert result["failed"]
    assert result["msg"].startswith("REWIND-E-INPUT: release 'a' is already recorded with revision 'rev-a'")
    assert "give this build a new id" in result["msg"]


def test_record_requires_revision(run, tmp_path):
    result, _ = run(release, ledger=str(tmp_path / "releases.json"), action="record", id="r1")
    assert result["failed"] and "revision" in result["msg"]


def test_record_in_check_mode_writes_nothing(run, tmp_path):
    result, _ = run(release, check_mode=True, diff=True, ledger=str(tmp_path / "releases.json"),
                    action="record", id="r1", revision="3f9c2ab")
    assert result["changed"] is True
    assert [e["id"] for e in result["ledger"]] == ["r1"]
    assert result["diff"]["before"] == "" and '"id": "r1"' in result["diff"]["after"]
    assert os.listdir(tmp_path) == []


def test_record_into_missing_directory_fails_clearly(run, tmp_path):
    result, _ = run(release, ledger=str(tmp_path / "nope" / "releases.json"), action="record", id="r1",
                    revision="x")
    assert result["failed"]
    assert result["msg"].startswith("the directory %s of ledger" % (tmp_path / "nope")), "not an input error"


# --- release: switch ------------------------------------------------------------------

def test_switch_then_switch_again(run, app):
    args = dict(ledger=str(app / "releases.json"), action="switch", app_root=str(app), id="b")
    result, _ = run(release, diff=True, **args)
    assert (result["changed"], result["release"], result["previous_release"]) == (True, "b", "a")
    assert os.readlink(app / "current") == "releases/b"
    assert result["diff"] == {"before": "releases/a\n", "after": "releases/b\n",
                              "before_header": "%s/current" % app, "after_header": "%s/current" % app}
    events = _releases.load_ledger(str(app / "releases.json"))["events"]
    assert {k: events[-1][k] for k in ("action", "release", "previous")} == {
        "action": "switch", "release": "b", "previous": "a"}

    again, _ = run(release, **args)
    assert (again["changed"], again["previous_release"], again["event"]) == (False, "b", None)
    assert len(_releases.load_ledger(str(app / "releases.json"))["events"]) == len(events)


def test_switch_runs_then_right_after_the_switch_with_its_environment(run, app):
    """The command sees the new current (it ran after the switch) and the environment given."""
    seen = app / "seen"
    args = dict(ledger=str(app / "releases.json"), action="switch", app_root=str(app), id="b",
                then=["sh", "-c", 'readlink "$APP/current" > "$APP/seen"; echo reloaded'],
                then_environment={"APP": str(app)})
    result, _ = run(release, **args)
    assert (result["changed"], result["then_rc"], result["then_stdout"]) == (True, 0, "reloaded\n")
    assert seen.read_text() == "releases/b\n"

    seen.unlink()
    again, _ = run(release, **args)
    assert again["changed"] is False and "then_rc" not in again and not seen.exists(), \
        "nothing switched, so nothing to reload"


def test_switch_then_failing_says_the_switch_was_done(run, app):
    result, _ = run(release, ledger=str(app / "releases.json"), action="switch", app_root=str(app), id="b",
                    then=["sh", "-c", "echo no ecosystem file >&2; exit 3"])
    assert result["failed"] and result["then_rc"] == 3
    assert "the switch was done (%s/current -> releases/b)" % app in result["msg"]
    assert "exit 3" in result["msg"] and "no ecosystem file" in result["msg"]
    assert os.readlink(app / "current") == "releases/b"


def test_switch_then_in_check_mode_runs_nothing(run, app):
    result, _ = run(release, check_mode=True, ledger=str(app / "releases.json"), action="switch", app_root=str(app),
                    id="b", then=["sh", "-c", "touch %s" % (app / "seen")])
    assert result["changed"] and "then_rc" not in result and not (app / "seen").exists()


@pytest.mark.parametrize("user, euid, me, expected", [
    (None, 1000, "chatbot", ["pm2", "reload"]),
    ("chatbot", 1000, "chatbot", ["pm2", "reload"]),
    ("chatbot", 0, "root", ["runuser", "-u", "chatbot", "--", "pm2", "reload"]),
])
def test_then_argv(user, euid, me, expected):
    assert release.then_argv(["pm2", "reload"], user, euid, me) == expected


def test_then_argv_as_another_user_needs_root():
    with pytest.raises(_releases.ReleaseInputError, match="not root.*become: true"):
        release.then_argv(["pm2", "reload"], "chatbot", 1000, "deploy")


def test_switch_in_check_mode_writes_nothing(run, app):
    before = _snapshot(app)
    result, _ = run(release, check_mode=True, diff=True, ledger=str(app / "releases.json"), action="switch",
                    app_root=str(app), id="b")
    assert (result["changed"], result["previous_release"]) == (True, "a")
    assert (result["diff"]["before"], result["diff"]["after"]) == ("releases/a\n", "releases/b\n")
    assert _snapshot(app) == before


@pytest.mark.parametrize("args, message", [
    (dict(id="zz"), "REWIND-E-INPUT: cannot switch {root}/current to release 'zz': {root}/releases/zz does not "
                    "exist. Releases on disk: a, b."),
    (dict(id="b", app_root=None), "action is switch but all of the following are missing: app_root"),
    (dict(id="../b"), "REWIND-E-INPUT: invalid release id '../b'"),
])
def test_switch_refusals(run, app, args, message):
    params = dict(ledger=str(app / "releases.json"), action="switch", app_root=str(app))
    params.update(args)
    result, _ = run(release, **{k: v for k, v in params.items() if v is not None})
    assert result["failed"]
    assert result["msg"].startswith(message.format(root=app))
    assert os.readlink(app / "current") == "releases/a"


def test_switch_to_a_bad_release_warns(run, app):
    ledger = str(app / "releases.json")
    run(release, ledger=ledger, action="mark_bad", id="b")
    result, warnings = run(release, ledger=ledger, action="switch", app_root=str(app), id="b")
    assert result["changed"]
    assert warnings == ["release b is marked bad in %s, yet it is the one being made live" % ledger]


# --- release: mark_bad, rollback_record ------------------------------------------------------

def test_mark_bad_returns_where_a_rollback_would_go(run, app):
    args = dict(ledger=str(app / "releases.json"), action="mark_bad", id="b", note="500s on checkout")
    result, _ = run(release, **args)
    assert (result["changed"], result["release"], result["previous_release"]) == (True, "b", "a")
    assert result["event"]["note"] == "500s on checkout"
    assert [e["bad"] for e in result["ledger"]] == [False, True]
    again, _ = run(release, **args)
    assert again["changed"] is False


def test_rollback_record_after_switch_takes_target_from_symlink(run, app):
    ledger = str(app / "releases.json")
    run(release, ledger=ledger, action="switch", app_root=str(app), id="b")
    switched_back, _ = run(release, ledger=ledger, action="switch", app_root=str(app), id="a")
    args = dict(ledger=ledger, action="rollback_record", app_root=str(app), id=switched_back["previous_release"])
    result, _ = run(release, **args)
    assert (result["changed"], result["release"], result["previous_release"]) == (True, "a", "b")
    assert {k: result["event"][k] for k in ("action", "release", "previous")} == {
        "action": "rollback", "release": "a", "previous": "b"}
    assert _releases.find_release(_releases.load_ledger(ledger), "b")["bad"] is True
    again, _ = run(release, **args)
    assert again["changed"] is False


def test_rollback_record_before_switch_fails(run, app):
    result, _ = run(release, ledger=str(app / "releases.json"), action="rollback_record", app_root=str(app), id="a")
    assert result["failed"]
    assert "%s/current still points to it. Switch to the target first" % app in result["msg"]


def test_rollback_record_in_place_defaults_to_previous_good(run, tmp_path):
    ledger = str(tmp_path / "releases.json")
    for release_id in ("2026-11-10", "2026-11-17", "2026-11-24"):
        run(release, ledger=ledger, action="record", id=release_id, revision="v" + release_id)
    run(release, ledger=ledger, action="mark_bad", id="2026-11-17")
    result, _ = run(release, ledger=ledger, action="rollback_record", id="2026-11-24")
    assert (result["release"], result["previous_release"]) == ("2026-11-10", "2026-11-24")
    info, _ = run(release_info, ledger=ledger)
    assert (info["current"], info["current_source"], info["previous"]) == ("2026-11-10", "ledger", None)


def test_rollback_record_without_good_release_asks_for_target(run, tmp_path):
    ledger = str(tmp_path / "releases.json")
    run(release, ledger=ledger, action="record", id="only", revision="x")
    result, _ = run(release, ledger=ledger, action="rollback_record", id="only")
    assert result["failed"] and "set target to the release now live" in result["msg"]
    result, _ = run(release, ledger=ledger, action="rollback_record", id="only", target="pre-ledger")
    assert (result["changed"], result["release"]) == (True, "pre-ledger")


@pytest.mark.parametrize("action, args", [
    ("mark_bad", dict(id="b")),
    ("rollback_record", dict(id="b", target="a")),
])
def test_ledger_actions_in_check_mode_write_nothing(run, app, action, args):
    before = _snapshot(app)
    result, _ = run(release, check_mode=True, diff=True, ledger=str(app / "releases.json"), action=action, **args)
    assert result["changed"] is True
    assert '"bad": false' in result["diff"]["before"] and '"bad": true' in result["diff"]["after"]
    assert _snapshot(app) == before


# --- release_info -----------------------------------------------------------------------

def test_info_reads_current_from_symlink_not_from_ledger_or_mtimes(run, app):
    (app / "releases" / "c").mkdir()
    (app / "releases" / "c" / "index.js").write_text("c")  # newest directory, never switched to
    result, warnings = run(release_info, ledger=str(app / "releases.json"), app_root=str(app))
    assert warnings == []
    assert (result["current"], result["current_source"]) == ("a", "symlink")  # the ledger would say b
    assert result["previous"] is None
    assert result["on_disk"] == ["a", "b", "c"]
    assert result["deployed_at"] == result["events"][0]["time"]
    assert [r["id"] for r in result["releases"]] == ["a", "b"]
    assert result["changed"] is False


def test_info_without_symlink_uses_the_ledger(run, app):
    os.unlink(app / "current")
    result, _ = run(release_info, ledger=str(app / "releases.json"), app_root=str(app))
    assert (result["current"], result["current_source"], result["previous"]) == ("b", "ledger", "a")


def test_info_warns_about_a_dangling_current(run, app):
    os.unlink(app / "current")
    os.symlink("releases/gone", app / "current")
    result, warnings = run(release_info, ledger=str(app / "releases.json"), app_root=str(app))
    assert result["current"] == "gone"
    assert warnings == ["%s/current points to releases/gone, which does not exist: the site is down until current "
                        "points to a release on disk (a, b)" % app]


def test_info_fails_when_current_is_a_directory(run, app):
    os.unlink(app / "current")
    (app / "current").mkdir()
    result, _ = run(release_info, ledger=str(app / "releases.json"), app_root=str(app))
    assert result["failed"] and "is a real directory, not a symlink" in result["msg"]


def test_info_on_missing_ledger_warns(run, tmp_path):
    result, warnings = run(release_info, ledger=str(tmp_path / "releases.json"))
    assert (result["current"], result["releases"], result["events"]) == (None, [], [])
    assert warnings == ["ledger %s does not exist: no release was recorded there yet (is the path right?)"
                        % (tmp_path / "releases.json")]


# --- lock -----------------------------------------------------------------------------

def test_lock_acquire_reacquire_release(run, tmp_path):
    args = dict(app="shop", path=str(tmp_path / "lock.json"), run_id="run-1", playbook="rollback.yml",
                reason="checkout 500s", holder="alice@ops1")
    result, _ = run(lock, **args)
    assert result["lock_file"] == str(tmp_path / "lock.json") and "owner" not in result
    assert (result["changed"], result["acquired"], result["taken_over"], result["forced"]) == (True, True, False, False)
    assert result["lock"] == _lock.read_lock(str(tmp_path / "lock.json"))
    assert result["lock"]["ttl_s"] == 7200

    again, _ = run(lock, **args)
    assert (again["changed"], again["acquired"]) == (False, True)

    released, _ = run(lock, state="absent", **args)
    assert (released["changed"], released["acquired"], released["lock"]) == (True, False, None)
    assert not os.path.exists(tmp_path / "lock.json")


def test_lock_held_by_another_run_fails_with_holder_and_force_hint(run, tmp_path):
    path = str(tmp_path / "lock.json")
    run(lock, app="shop", path=path, run_id="run-1", playbook="rollback.yml", reason="checkout 500s",
        holder="alice@ops1")
    result, _ = run(lock, app="shop", path=path, run_id="run-2", holder="bob@ops2")
    assert result["failed"]
    assert result["msg"].startswith("REWIND-E-LOCKED: shop is locked by alice@ops1 (pid ")
    for part in ("playbook rollback.yml", "reason 'checkout 500s'", "-e rewind_force_unlock=true"):
        assert part in result["msg"]


def test_lock_forced_release_is_reported_and_logged(run, tmp_path):
    path = str(tmp_path / "lock.json")
    run(lock, app="shop", path=path, run_id="run-1", holder="alice@ops1")
    result, warnings = run(lock, app="shop", path=path, run_id="run-2", state="absent", force=True,
                           holder="bob@ops2")
    assert (result["changed"], result["forced"], result["previous_lock"]["run_id"]) == (True, True, "run-1")
    assert len(warnings) == 1 and warnings[0].startswith("force: removed the lock of shop held by alice@ops1")
    history = [json.loads(line) for line in (tmp_path / "lock-history.jsonl").read_text().splitlines()]
    assert [(h["action"], h["by"]) for h in history] == [("force_release", "bob@ops2")]


def test_lock_takes_over_an_expired_lock_and_says_so(run, tmp_path):
    path = str(tmp_path / "lock.json")
    stale = _lock.new_record("shop", "run-1", "alice@ops1", ttl_s=60)
    stale["time"] = "2026-01-01T00:00:00Z"
    with open(path, "w") as handle:
        json.dump(stale, handle)
    result, warnings = run(lock, app="shop", path=path, run_id="run-2")
    assert (result["changed"], result["taken_over"], result["forced"]) == (True, True, False)
    assert result["previous_lock"] == stale
    assert warnings[0].startswith("took over the expired lock of shop: alice@ops1")


@pytest.mark.parametrize("state", ["present", "absent"])
def test_lock_in_check_mode_writes_nothing(run, tmp_path, state):
    path = str(tmp_path / "shop" / "lock.json")
    if state == "absent":
        run(lock, app="shop", path=path, run_id="run-1")
    before = _snapshot(tmp_path)
    result, _ = run(lock, check_mode=True, app="shop", path=path, run_id="run-1", state=state)
    assert result["changed"] is True
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("args, message", [
    (dict(app="a/b"), "REWIND-E-INPUT: invalid application name 'a/b'"),
    (dict(ttl_s=0), "REWIND-E-INPUT: ttl_s must be a positive number of seconds, got 0"),
])
def test_lock_refuses_bad_options(run, args, message):
    result, _ = run(lock, **dict(dict(app="shop", run_id="run-1"), **args))  # fails before touching /var/lib
    assert result["failed"] and result["msg"].startswith(message)

# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live progress of a run: phase × host, with a bar.

The view is drawn from the timeline.json that the rewind.rollback.timeline callback rewrites at
every phase change, so what the operator watches is what the report will say. On a terminal it
is a table redrawn in place five times a second (the current task of each host underneath);
elsewhere (CI, a log file) it prints one line when a phase starts on a host and one when it ends.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time

from rewind.timefmt import duration

ROLLBACK_PHASES = ("validate", "plan", "maintenance_on", "snapshot", "stop", "restore", "permissions",
                   "restart", "verify", "maintenance_off")

_SYMBOLS = {"ok": "\u2714", "failed": "\u2718", "skipped": "-", "running": "\u25b6"}
_ASCII = {"ok": "+", "failed": "x", "skipped": "-", "running": ">"}
_COLORS = {"ok": "32", "failed": "31", "skipped": "2", "running": "33"}


class Progress:
    """Follows one run. ``on_event`` takes ansible-runner events; ``start``/``finish`` bracket the run."""

    def __init__(self, stream, expected=(), live=None, interval=0.2):
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.color = self.live and not os.environ.get("NO_COLOR")
        self.expected = tuple(expected)
        self.interval = interval
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "".join(_SYMBOLS.values()).encode(encoding)
            self.symbols = _SYMBOLS
        except (UnicodeEncodeError, LookupError):
            self.symbols = _ASCII
        self._path = None
        self._title = ""
        self._t0 = None
        self._tasks = {}
        self._done = False
        self._reported = {}
        self._drawn = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, job):
        self._path = job.run_dir / "timeline.json"
        self._title = "rewind %s %s" % (job.command, job.run_id)
        self._t0 = time.time()
        if self.live:
            self._thread = threading.Thread(target=self._loop, name="rewind-progress", daemon=True)
            self._thread.start()
        else:
            self._write("%s: run folder %s\n" % (self._title, job.run_dir))

    def on_event(self, event):
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_start" and data.get("host"):
            with self._lock:
                self._tasks[data["host"]] = (data.get("task") or "", time.time())
        if not self.live:
            self._lines(self._read())

    def finish(self):
        self._done = True
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        timeline = self._read()
        if self.live:
            self._draw(timeline)
        else:
            self._lines(timeline)

    # -- reading --------------------------------------------------------------------------------
    def _read(self):
        try:
            with open(self._path) as handle:
                return json.load(handle)
        except (OSError, ValueError, TypeError):
            return {}

    def _write(self, text):
        with self._lock:
            self.stream.write(text)
            self.stream.flush()

    def _paint(self, status, text):
        return "\x1b[%sm%s\x1b[0m" % (_COLORS[status], text) if self.color and status in _COLORS else text

    # -- line mode ------------------------------------------------------------------------------
    def _lines(self, timeline):
        """One line when a phase starts on a host, one when it ends (a later phase began, or the run ended)."""
        ended = timeline.get("ended_at") is not None or self._done
        for host, record in (timeline.get("hosts") or {}).items():
            phases = record.get("phases") or []
            for index, seg in enumerate(phases):
                closed = index < len(phases) - 1 or ended
                state = "ended" if closed else "started"
                previous = self._reported.get((host, index))
                if previous == "ended" or previous == state:
                    continue
                if previous is None and closed:
                    self._line(host, seg, "started")
                self._line(host, seg, state)
                self._reported[(host, index)] = state

    def _line(self, host, seg, state):
        offset = time.time() - self._t0 if self._t0 else 0.0
        if state == "started":
            detail = "started"
        else:
            status = seg.get("status") if seg.get("status") != "running" else "ok"
            detail = "%-7s %s (%d task%s)" % (self._paint(status, status), duration(seg.get("duration_s")),
                                             seg.get("tasks", 0), "" if seg.get("tasks") == 1 else "s")
        self._write("[%7.1fs] %-16s %-16s %s\n" % (offset, host, seg.get("phase"), detail))

    # -- live mode ------------------------------------------------------------------------------
    def _loop(self):
        while not self._stop.wait(self.interval):
            self._draw(self._read())

    def _rows(self, timeline):
        seen = list(dict.fromkeys(p["phase"] for p in timeline.get("phases") or []))
        return seen + [p for p in self.expected if p not in seen]

    @staticmethod
    def _cell(record, phase, running, now):
        """(status, text) of one phase on one host; status None when the host has not reached it."""
        segments = record.get("phases") or []
        runs = [seg for seg in segments if seg.get("phase") == phase]
        if not runs:
            return None, ""
        if running and runs[-1] is segments[-1]:
            return "running", duration(now - runs[-1]["start_s"])
        status = runs[-1].get("status") if runs[-1].get("status") in _COLORS else "ok"
        return status, duration(sum(seg.get("duration_s") or 0 for seg in runs))

    def render(self, timeline, width=None, running=None):
        """The table as lines of text: phases down, hosts across, a bar, and each host's current task.

        ``running`` (default: until :meth:`finish`) shows each host's last phase as still running.
        """
        running = not self._done if running is None else running
        width = width or shutil.get_terminal_size((100, 24)).columns
        now = time.time()
        records = timeline.get("hosts") or {}
        hosts = list(records)
        with self._lock:
            hosts += [host for host in self._tasks if host not in records]
            current = sorted(self._tasks.items())[:3] if running else []
        rows = self._rows(timeline)
        label = max([len(r) for r in rows] + [5]) + 2
        col = 13
        shown = hosts[:max(1, (width - label) // col)]

        reached = 0
        body = []
        for phase in rows:
            cells = []
            for host in hosts:
                status, text = self._cell(records.get(host) or {}, phase, running, now)
                reached += status in ("ok", "failed", "skipped")
                if host in shown:
                    cells.append(self._paint(status, ("%s %s" % (self.symbols[status], text)).ljust(col))
                                 if status else " " * col)
            body.append((phase.ljust(label) + "".join(cells)).rstrip())

        total = len(rows) * len(hosts)
        fraction = 1.0 if not running and timeline.get("status") == "ok" else (reached / total if total else 0.0)
        bar_width = max(10, min(40, width - 30))
        filled = int(round(fraction * bar_width))
        lines = ["%s  %s" % (self._title, duration(now - self._t0) if self._t0 else ""),
                 "[%s%s] %3d%%" % ("#" * filled, "." * (bar_width - filled), round(fraction * 100)),
                 "phase".ljust(label) + "".join(h[:col - 1].ljust(col) for h in shown)]
        lines += body
        if len(hosts) > len(shown):
            hidden = len(hosts) - len(shown)
            lines.append("… and %d more host%s (see timeline.json)" % (hidden, "" if hidden == 1 else "s"))
        for host, (task, since) in current:
            lines.append("  %s: %s (%s)" % (host, task[:max(10, width - len(host) - 16)], duration(now - since)))
        return lines

    def _draw(self, timeline):
        lines = self.render(timeline)
        out = []
        if self._drawn:
            out.append("\x1b[%dF" % self._drawn)
        out += [line + "\x1b[K\n" for line in lines]
        out.append("\x1b[J")
        self._write("".join(out))
        self._drawn = len(lines)

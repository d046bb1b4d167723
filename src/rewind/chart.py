# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The timeline chart of a run as an SVG image: one bar per phase and host, downtime shaded.

Plain SVG text, no dependencies; opens in any browser and embeds in the HTML report.
"""

from __future__ import annotations

from html import escape

from rewind.timefmt import duration, epoch

COLORS = {"ok": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e", "running": "#f9a825"}
_LEFT = 230
_RIGHT = 60
_WIDTH = 960
_ROW = 18
_TOP = 46


def _tick_step(span, most=8):
    """The smallest round step (1, 2 or 5 × 10^k seconds) giving at most ``most`` ticks over ``span``."""
    for exponent in range(-1, 7):
        for base in (1, 2, 5):
            step = base * 10.0 ** exponent
            if span / step <= most:
                return step
    return step


def svg(timeline):
    """Return the SVG text of ``timeline`` (the timeline.json document)."""
    rows = []
    for phase in timeline.get("phases") or []:
        for host in phase.get("hosts") or []:
            runs = [seg for seg in timeline["hosts"][host].get("phases") or [] if seg["phase"] == phase["phase"]]
            rows.append((phase["phase"], host, runs[phase.get("occurrence", 1) - 1]))
    t0 = epoch(timeline.get("started_at")) or 0.0
    t1 = epoch(timeline.get("ended_at")) or max([t0] + [epoch(s["end"]) or t0 for _, _, s in rows])
    span = max(t1 - t0, 0.001)
    plot = _WIDTH - _LEFT - _RIGHT

    def x(t):
        return _LEFT + (t - t0) / span * plot

    height = _TOP + len(rows) * _ROW + 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="11" role="img" aria-label="rollback timeline">'
           % (_WIDTH, height, _WIDTH, height),
           '<rect width="100%" height="100%" fill="#ffffff"/>',
           '<text x="10" y="18" font-size="14" font-weight="bold">%s</text>' % escape(
               "rewind run %s - %s" % (timeline.get("run_id") or "", timeline.get("status") or "")),
           ]
    for index, (status, color) in enumerate(COLORS.items()):
        lx = _WIDTH - _RIGHT - 300 + index * 75
        out.append('<rect x="%d" y="9" width="10" height="10" rx="2" fill="%s"/>'
                   '<text x="%d" y="18">%s</text>' % (lx, color, lx + 14, status))
    step = _tick_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        xx = x(t0 + tick)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>' % (xx, _TOP - 6, xx, height - 30))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#616161">%s</text>'
                   % (xx, height - 16, escape(duration(tick))))
        tick += step

    metrics = timeline.get("metrics") or {}
    down0, down1 = epoch(metrics.get("downtime_start")), epoch(metrics.get("downtime_end"))
    if down0 is not None and down1 is not None:
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#c62828" fill-opacity="0.08"/>'
                   % (x(down0), _TOP - 6, max(x(down1) - x(down0), 1), len(rows) * _ROW + 6))
        out.append('<text x="%.1f" y="%d" fill="#c62828">downtime %s</text>'
                   % (x(down0) + 2, _TOP - 10, escape(duration(metrics.get("downtime_s")))))

    previous = None
    for index, (phase, host, seg) in enumerate(rows):
        y = _TOP + index * _ROW
        if phase != previous:
            if previous is not None:
                out.append('<line x1="10" y1="%d" x2="%d" y2="%d" stroke="#eeeeee"/>' % (y, _WIDTH - _RIGHT, y))
            out.append('<text x="10" y="%d" font-weight="bold">%s</text>' % (y + 12, escape(phase)))
            previous = phase
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#616161">%s</text>' % (_LEFT - 8, y + 12, escape(host)))
        start = epoch(seg["start"]) or t0
        end = epoch(seg.get("end")) or t1
        color = COLORS.get(seg.get("status"), COLORS["ok"])
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s</title></rect>'
                   % (x(start), y + 2, max(x(end) - x(start), 1.5), _ROW - 5, color,
                      escape("%s on %s: %s, %s, %d tasks" % (phase, host, seg.get("status"),
                                                              duration(seg.get("duration_s")), seg.get("tasks", 0)))))
        out.append('<text x="%.1f" y="%d" fill="#424242">%s</text>'
                   % (x(end) + 4, y + 12, escape(duration(seg.get("duration_s")))))
    out.append("</svg>")
    return "\n".join(out) + "\n"

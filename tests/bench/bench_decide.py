#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: one decision over 24 h of 15 s samples for 20 metric series. Target: under 100 ms.

    python tests/bench/bench_decide.py [--runs 20]

Prints, per shipped policy, the best and median time of rewind.rollback's decide() (which
validates and sorts every sample, then judges every trigger) over the same data. The data is
what Prometheus query_range returns for 24 h at a 15 s step: 5,761 samples per series, 20 series
(the 8 canonical metrics, qualified per endpoint or check), about 115,000 samples in all.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".ansible", "collections")
if not os.path.exists(os.path.join(COLLECTIONS, "ansible_collections", "rewind", "rollback")):
    subprocess.run([os.path.join(ROOT, "scripts", "link-collection.sh")], check=True)
sys.path.insert(0, COLLECTIONS)

from ansible_collections.rewind.rollback.plugins.module_utils._decide import decide  # noqa: E402
from ansible_collections.rewind.rollback.plugins.module_utils._policy import load_policy  # noqa: E402

POLICIES = ("generic", "laravel", "chatbot", "wordpress", "django")
STEP, DAY = 15, 86400
SERIES = {  # 20 series: name -> (typical value, spread)
    "error_rate_pct:api": (0.5, 0.5), "error_rate_pct:web": (0.8, 0.6), "error_rate_pct:admin": (0.2, 0.2),
    "availability_pct:api": (99.9, 0.1), "availability_pct:web": (99.8, 0.2),
    "latency_avg_ms:api": (120, 40), "latency_avg_ms:web": (300, 80),
    "latency_p95_ms:api": (450, 150), "latency_p95_ms:web": (900, 300), "latency_p95_ms:checkout": (1200, 400),
    "memory_pct:app1": (55, 10), "memory_pct:app2": (60, 10), "memory_pct:db": (70, 5),
    "cpu_pct:app1": (35, 15), "cpu_pct:app2": (40, 15), "cpu_pct:db": (25, 10),
    "health_ok:api": (1, 0), "health_ok:auth": (1, 0), "health_ok:db": (1, 0),
    "db_pool_exhausted": (0, 0),
}


def day_of_samples(now, seed=42):
    rng = random.Random(seed)
    times = [now - DAY + i * STEP for i in range(DAY // STEP + 1)]
    return {name: [[t, max(0.0, rng.gauss(mean, spread))] for t in times] for name, (mean, spread) in SERIES.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="decisions per policy (default 20)")
    args = parser.parse_args()
    now = 1_800_000_000.0
    signals = day_of_samples(now)
    # the last 10 minutes of the api error rate above every policy's threshold: one trigger fires
    for sample in signals["error_rate_pct:api"][-41:]:
        sample[1] = 35.0
    samples = sum(len(s) for s in signals.values())
    print("decide() over %d series x %d samples = %d samples (24 h at %d s), %d runs per policy"
          % (len(signals), len(signals["db_pool_exhausted"]), samples, STEP, args.runs))
    print("%-10s %9s %9s  %s" % ("policy", "best ms", "median ms", "decision"))
    worst = 0.0
    for name in POLICIES:
        policy = load_policy(name)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = decide(policy, signals=signals, now=now)
            times.append((time.perf_counter() - started) * 1000.0)
        worst = max(worst, statistics.median(times))
        print("%-10s %9.1f %9.1f  %s" % (name, min(times), statistics.median(times), result["summary"]))
    print("slowest median: %.1f ms (target: under 100 ms) - %s" % (worst, "OK" if worst < 100 else "TOO SLOW"))
    return 0 if worst < 100 else 1


if __name__ == "__main__":
    sys.exit(main())

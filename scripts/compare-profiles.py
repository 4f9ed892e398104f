#!/usr/bin/env python3
"""Compare two hardware profiles written by `pqsim calibrate` (repeatability of a calibration).

Usage:
    scripts/compare-profiles.py A.toml B.toml [--scenarios DIR --pqsim PATH]

Prints every fitted number of [costs] and [parallel] in both profiles with the relative
difference, the median absolute difference, and the same for the probes' measured medians
([calibration.probes]). With --scenarios (e.g. the scenarios-small/ directory `pqsim validate`
writes), also simulates every scenario on both profiles and compares the predicted times.
Python 3.11+ (tomllib), no other dependency.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tomllib
from pathlib import Path


def pct(a, b):
    return (b - a) / a * 100.0 if a else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--scenarios", help="directory of scenario TOML files to simulate on both profiles")
    ap.add_argument("--pqsim", default="target/release/pqsim")
    args = ap.parse_args()
    a = tomllib.load(open(args.a, "rb"))
    b = tomllib.load(open(args.b, "rb"))
    diffs = []
    print(f"{'value':40s} {'A':>10s} {'B':>10s} {'B vs A':>8s}")
    for sec in ("costs", "parallel"):
        for k, v in a[sec].items():
            if not isinstance(v, (int, float)):
                continue
            w = b[sec][k]
            d = pct(v, w)
            note = ""
            if v == w and k in ("wakeup_ns",):
                note = "  (not measured)"
            elif v and w:
                diffs.append(abs(d))
            print(f"{sec + '.' + k:40s} {v:10.2f} {w:10.2f} {d:+7.1f}%{note}")
    print(f"median |difference| of fitted values: {statistics.median(diffs):.1f}% over {len(diffs)} values")
    pa, pb = a["calibration"].get("probes", {}), b["calibration"].get("probes", {})
    dp = [abs(pct(pa[k][0], pb[k][0])) for k in pa if k in pb and pa[k][0]]
    if dp:
        dp.sort()
        print(
            f"probe medians: median |difference| {statistics.median(dp):.1f}%, "
            f"90th percentile {dp[int(0.9 * (len(dp) - 1))]:.1f}% over {len(dp)} probes"
        )
    for k in ("speed_reference_ms", "speed_reference_median_ms", "serial_fit_rms_relative_error"):
        print(f"{k}: {a['calibration'].get(k)} vs {b['calibration'].get(k)}")
    if args.scenarios:
        dd = []
        for f in sorted(Path(args.scenarios).glob("*.toml")):
            t = []
            for prof in (args.a, args.b):
                out = subprocess.run(
                    [args.pqsim, "run", str(f), "--hardware", prof, "--replications", "5", "--format", "json"],
                    capture_output=True,
                    text=True,
                )
                if out.returncode != 0:
                    print(f"{f.name}: {out.stderr.strip()}", file=sys.stderr)
                    break
                t.append(json.loads(out.stdout)["wall_time_ms"])
            if len(t) == 2:
                dd.append(abs(pct(t[0], t[1])))
                print(f"{f.stem:32s} {t[0]:9.1f} {t[1]:9.1f} {pct(t[0], t[1]):+7.1f}%")
        if dd:
            dd.sort()
            print(
                f"predicted times: median |difference| {statistics.median(dd):.1f}%, "
                f"90th percentile {dd[int(0.9 * (len(dd) - 1))]:.1f}% over {len(dd)} scenarios"
            )


if __name__ == "__main__":
    main()

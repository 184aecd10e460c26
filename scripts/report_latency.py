#!/usr/bin/env python3
"""Latency of the report endpoints (scripts/bench.sh reports): CALLS sequential calls per report
with random periods inside the seeded history, p50/p99/max in milliseconds, one JSON line per
report. Sequential on purpose: this is the time one person waits, not a throughput test.

usage: report_latency.py BASE_URL API_KEY CALLS SPAN [REPORT ...]
  SPAN: `year` (365-day periods ending on a random day of the last 183) or `any` (1 to 548 days
  ending on a random day of the history)."""
import datetime
import json
import random
import sys
import time
import urllib.request

REPORTS = {
    "kpis": "/api/v1/reports/kpis",
    "sales": "/api/v1/reports/sales?granularity=day",
    "sales-month": "/api/v1/reports/sales?granularity=month",
    "products": "/api/v1/reports/products",
    "clients": "/api/v1/reports/clients",
    "workshops": "/api/v1/reports/workshops",
}


def period(rng, span, today):
    if span == "year":
        to = today - datetime.timedelta(days=rng.randrange(183))
        return to - datetime.timedelta(days=364), to
    length = rng.randint(1, 548)
    to = today - datetime.timedelta(days=rng.randrange(549 - length))
    return to - datetime.timedelta(days=length - 1), to


def main():
    base, key, calls, span = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    names = sys.argv[5:] or list(REPORTS)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for name in names:
        rng = random.Random(f"{name}-{span}")
        path = REPORTS[name]
        times = []
        for _ in range(calls):
            start, end = period(rng, span, today)
            sep = "&" if "?" in path else "?"
            request = urllib.request.Request(
                f"{base}{path}{sep}from={start}&to={end}", headers={"Authorization": f"Bearer {key}"})
            began = time.perf_counter()
            with urllib.request.urlopen(request) as response:
                response.read()
                assert response.status == 200
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
        print(json.dumps({"report": name, "span": span, "calls": calls, "p50_ms": round(pick(0.5), 1),
                          "p99_ms": round(pick(0.99), 1), "max_ms": round(times[-1], 1)}), flush=True)


if __name__ == "__main__":
    main()

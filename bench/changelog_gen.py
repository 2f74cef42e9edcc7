#!/usr/bin/env python3
"""Writes alerts for bench/changelog_bench.sh as kcat -J envelopes on alerts.prometheus.

Phase "load": --fingerprints distinct alerts (one per instance), all firing, --batch alerts per
Alertmanager webhook message, spread over --minutes of event time from T0: the engine then
holds that many active fingerprints. Phase "churn": --repeat messages of the same alerts again,
later in event time, each naming a few hundred random instances: what a steady estate sends,
where a commit changes a small part of the state.

  changelog_gen.py --fingerprints 1000000 --phase load > load.jsonl
  changelog_gen.py --fingerprints 1000000 --phase churn --repeat 200 > churn.jsonl
"""
import argparse
import json
import random
import time

T0 = 1795392000000  # 2026-11-23T00:00:00Z


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def alert(i, at):
    return {
        "status": "firing",
        "labels": {"alertname": "ProbeFailing", "instance": "i-%d" % i,
                   "service": "svc-%d" % (i % 500), "severity": "warning"},
        "annotations": {"summary": "probe of i-%d fails" % i},
        "startsAt": rfc3339(T0),
        "endsAt": "0001-01-01T00:00:00Z",
    }


def envelope(offset, at, alerts):
    body = {"receiver": "noisegate", "status": "firing", "alerts": alerts, "version": "4"}
    return json.dumps({"topic": "alerts.prometheus", "partition": offset % 3, "offset": offset,
                       "tstype": "create", "ts": at, "key": None, "payload": json.dumps(body)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fingerprints", type=int, default=1000000)
    ap.add_argument("--phase", choices=("load", "churn"), required=True)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args()
    n, span = a.fingerprints, a.minutes * 60000
    if a.phase == "load":
        msgs = (n + a.batch - 1) // a.batch
        for m in range(msgs):
            at = T0 + span * m // msgs
            ids = range(m * a.batch, min(n, (m + 1) * a.batch))
            print(envelope(m, at, [alert(i, at) for i in ids]))
    else:
        rng = random.Random(7)
        for m in range(a.repeat):
            at = T0 + span + 60000 + m * 1000
            print(envelope(m, at, [alert(rng.randrange(n), at) for _ in range(a.batch)]))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a month of pod churn as kcat -J envelopes, in event-time order, for bench/soak.sh.

Every 30 s a pod's alert fires, repeats after a minute and resolves after three; every tenth
pod also logs a burst of errors under a template of its own (log-template churn). A pod name
is used --reuse times over the run (pods that restart under the same name); --reuse 1 makes
every firing a new pod, so the run sees ten times the distinct fingerprints of --reuse 10 with
the same traffic and the same number active at any moment.

  soak_gen.py --days 30 --reuse 10 --alerts OUT.alerts.jsonl --logs OUT.logs.jsonl
"""
import argparse
import json
import time

T0 = 1795392000000  # 2026-11-23T00:00:00Z


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def word(n):
    # Letters only, so template mining keeps it in the template.
    out = ""
    while True:
        out += chr(ord("a") + n % 26)
        n //= 26
        if n == 0:
            return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--reuse", type=int, default=1)
    ap.add_argument("--every", type=int, default=30, help="seconds between pods")
    ap.add_argument("--alerts", required=True)
    ap.add_argument("--logs", required=True)
    a = ap.parse_args()
    pods = int(a.days * 86400 / a.every)
    pool = max(1, pods // a.reuse)
    alerts, logs = [], []
    for i in range(pods):
        t = T0 + i * a.every * 1000
        pod = "web-%d" % (i % pool)
        service = ("checkout-api", "search-api", "catalog-api")[i % 3]
        for at, status in ((t, "firing"), (t + 60000, "firing"), (t + 180000, "resolved")):
            alert = {
                "status": status,
                "labels": {"alertname": "KubePodNotReady", "namespace": "prod", "pod": pod,
                           "service": service, "severity": "warning"},
                "annotations": {"summary": "Pod %s is not ready" % pod},
                "startsAt": rfc3339(t),
                "endsAt": rfc3339(t + 180000) if status == "resolved" else "0001-01-01T00:00:00Z",
            }
            body = {"receiver": "noisegate", "status": status, "alerts": [alert], "version": "4"}
            alerts.append((at, json.dumps(body)))
        if i % 10 == 0:
            for k in range(8):
                at = t + 500 * k
                line = {"@timestamp": rfc3339(at), "log.level": "error", "service.name": service,
                        "message": "cannot reach shard %s replica" % word(i % pool),
                        "error.type": "ShardUnavailable"}
                logs.append((at, json.dumps(line)))
    for path, topic, msgs in ((a.alerts, "alerts.prometheus", alerts), (a.logs, "logs.app", logs)):
        msgs.sort(key=lambda m: m[0])
        with open(path, "w") as f:
            for offset, (at, payload) in enumerate(msgs):
                f.write(json.dumps({"topic": topic, "partition": 0, "offset": offset,
                                    "tstype": "create", "ts": at, "broker": 1, "key": None,
                                    "payload": payload}) + "\n")


if __name__ == "__main__":
    main()

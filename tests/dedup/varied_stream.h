// A varied rule set and stream for engine tests that compare two runs: topology, flapping,
// inhibition, silences, surges with a baseline, traces, versions, several correlate rules;
// and Lines(), which flattens what a sink captured into comparable lines.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {

// Every kind of state at once: topology, flapping, inhibition, silences, surges with a
// baseline, traces, versions, several correlate rules and repeats.
inline constexpr char kVariedRules[] = R"(
topology:
  services:
    web: {user_facing: true, depends_on: [api]}
    api: {user_facing: true, depends_on: [db]}
  components:
    - match: ['cluster="pg"']
      component: db
dedup:
  flapping: {changes: 4, within: 10m, stable_for: 5m}
  resolve_timeout: 30m
logs:
  surge: {min_count: 5, within: 1m, over_baseline: 3x, baseline_window: 30m, warmup: 10m}
silences:
  - matchers: ['namespace="dev"']
inhibit:
  - source: ['alertname="NodeDown"']
    target: ['severity=~"warning|critical"']
    equal: [node]
correlate:
  - name: nodes
    match: ['alertname=~"Node.*"']
    group_by: [node]
    group_wait: 30s
    close_after: 5m
  - name: impact
    group_by: [impacted_service]
    group_wait: 30s
    group_interval: 2m
    close_after: 10m
    max_duration: 2h
    max_members: 40
page:
  when:
    - ['impacted_user_facing="true"', 'severity="critical"']
    - ['alertname="NodeDown"']
    - {match: ['service="other"'], min_members: 3, within: 10m}
    - all:
        - match: ['signal="log_surge"']
        - match: ['alertname="PodCrash"', 'severity="warning"']
      within: 5m
  repeat_interval: 1h
)";

// A deterministic, varied stream: alerts that fire, repeat, resolve and flap; node outages
// that inhibit pod alerts; error logs that hum along and then surge, with traces and versions.
inline std::vector<Record> VariedStream() {
  std::vector<Record> out;
  uint64_t x = 0x9e3779b97f4a7c15;
  auto next = [&x](uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  const char* alerts[] = {"HighLatency", "ErrorRate", "PodCrash", "DiskFull", "NodeDown"};
  const char* sev[] = {"warning", "critical"};
  const char* services[] = {"web", "api", "other"};
  int64_t t = 0;
  for (int i = 0; i < 3000; ++i) {
    t += static_cast<int64_t>(next(4000));
    if (i % 250 == 249) t += 25 * kM;  // quiet spells, so incidents close and new ones open
    uint64_t kind = next(10);
    if (kind < 5) {
      std::string name = alerts[next(5)];
      Labels labels{
          {"alertname", name}, {"severity", sev[next(2)]}, {"node", "n" + std::to_string(next(3))}};
      if (name != "NodeDown") labels.push_back({"service", services[next(3)]});
      if (next(7) == 0) labels.push_back({"cluster", "pg"});
      if (next(20) == 0) labels.push_back({"namespace", "dev"});
      out.push_back(Alert(t, labels, next(3) == 0));
    } else {
      bool surge = (t / (10 * kM)) % 3 == 2;  // every third 10-minute block surges
      int burst = surge ? 4 : 1;
      for (int k = 0; k < burst; ++k) {
        Record r = Log(t, services[next(2)],
                       "timeout after " + std::to_string(next(5000)) + "ms calling db");
        if (next(3) == 0) r.trace_id = "tr-" + std::to_string(next(50));
        r.labels.Add("version", "v" + std::to_string(t / (40 * kM)));
        r.labels.Canonicalize();
        out.push_back(std::move(r));
      }
    }
  }
  return out;
}

// Flattens what a sink captured into comparable lines.
inline std::vector<std::string> Lines(const CaptureSink& s) {
  std::vector<std::string> out;
  for (const Decided& d : s.decisions) {
    out.push_back("d " + std::string(DecisionName(d.decision)) + " " + d.incident + " " + d.rule +
                  " " + ToHex(d.fingerprint));
  }
  for (const Sent& n : s.sent) {
    std::string imp;
    if (!n.impacted_names.empty()) {
      for (const std::string& name : n.impacted_names) imp += name + ",";
    } else {
      for (int i : n.impacted) imp += std::to_string(i) + ",";
    }
    std::string ev;
    for (const std::string& e : n.evidence) ev += e + ";";
    out.push_back("n " + std::to_string(static_cast<int>(n.action)) + " " +
                  std::to_string(static_cast<int>(n.route)) + " " + std::to_string(n.at) + " " +
                  n.incident + " " + n.reason + " " + std::to_string(n.members) + " " + imp + " " +
                  std::string(SeverityName(n.severity)) + " " + ev);
  }
  return out;
}

// Pod churn: every `every` ms a new pod's alert fires, repeats, and resolves 3 minutes
// later; every fifth pod also logs a burst of errors under a template of its own (words
// that template mining keeps: template churn). Nothing stays active at the end.
inline std::vector<Record> Churn(int64_t from, int64_t until, int64_t every) {
  std::vector<Record> out;
  int pod = 0;
  for (int64_t t = from; t < until; t += every, ++pod) {
    std::string name = "web-" + std::to_string(pod);
    Labels labels{{"alertname", "PodNotReady"},
                  {"severity", pod % 7 == 0 ? "critical" : "warning"},
                  {"service", pod % 2 ? "web" : "api"},
                  {"pod", name}};
    out.push_back(Alert(t, labels));
    out.push_back(Alert(t + kM, labels));
    out.push_back(Alert(t + 3 * kM, labels, /*resolved=*/true));
    if (pod % 5 == 0) {
      std::string word;
      for (int p = pod; p > 0 || word.empty(); p /= 26)
        word.push_back(static_cast<char>('a' + p % 26));
      for (int k = 0; k < 8; ++k) {
        out.push_back(Log(t + k * kS, "web", "cannot reach shard " + word + " replica"));
      }
    }
  }
  return out;
}

inline std::vector<Record> Merge(std::vector<Record> a, const std::vector<Record>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::stable_sort(a.begin(), a.end(),
                   [](const Record& x, const Record& y) { return x.time < y.time; });
  return a;
}

}  // namespace noisegate::dedup::testing

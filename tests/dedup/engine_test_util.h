// Helpers for engine tests: rules from YAML text, records built in code, and a sink that keeps
// everything the engine emits.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dedup/engine.h"
#include "rules/loader.h"

namespace noisegate::dedup::testing {

inline std::shared_ptr<const rules::CompiledRules> Rules(const std::string& yaml) {
  rules::LoadResult r = rules::LoadRulesString(yaml, "test.yaml");
  std::string all;
  for (const auto& d : r.diagnostics) all += d.ToString() + "\n";
  EXPECT_TRUE(r.rules != nullptr) << all;
  return r.rules;
}

constexpr int64_t kS = 1000, kM = 60 * kS;
constexpr int64_t kT0 = 1795392000000;  // 2026-11-23T00:00:00Z

using Labels = std::vector<std::pair<std::string, std::string>>;

inline Record Alert(int64_t t, Labels labels, bool resolved = false, std::string summary = "") {
  Record r;
  r.addr.topic = "alerts";
  r.time = EventTime{kT0 + t};
  r.kind = SignalKind::kAlert;
  r.state = resolved ? AlertState::kResolved : AlertState::kFiring;
  for (auto& [k, v] : labels) r.labels.Add(k, v);
  r.labels.Canonicalize();
  r.summary = summary.empty() ? std::string(r.labels.Get("alertname")) : summary;
  return r;
}

inline Record Log(int64_t t, const std::string& service, const std::string& message,
                  const std::string& level = "error") {
  Record r;
  r.addr.topic = "logs";
  r.time = EventTime{kT0 + t};
  r.kind = SignalKind::kLog;
  r.labels.Add("service", service);
  r.labels.Add("level", level);
  r.labels.Canonicalize();
  r.summary = message;
  return r;
}

struct Sent {
  NotifyAction action;
  rules::Action route;
  int64_t at;  // relative to kT0
  std::string incident;
  std::string reason;
  size_t members;
  std::vector<int> impacted;
  Severity severity;
  std::vector<std::string> evidence;
  std::vector<std::string> impacted_names;  // when the sink knows the topology
};

struct Decided {
  Decision decision;
  std::string incident;
  std::string rule;
  Fingerprint fingerprint;
};

class CaptureSink : public Sink {
 public:
  void OnDecision(const DecisionEvent& e) override {
    decisions.push_back(
        Decided{e.decision, std::string(e.incident), std::string(e.rule), e.fingerprint});
  }
  void OnNotification(const Notification& n) override {
    sent.push_back(Sent{n.action,
                        n.route,
                        n.at.ms - kT0,
                        n.incident->id,
                        std::string(n.reason),
                        n.incident->members.size(),
                        n.incident->impacted,
                        n.incident->severity,
                        n.incident->evidence,
                        {}});
    if (topology != nullptr) {
      for (int i : n.incident->impacted)
        sent.back().impacted_names.push_back(topology->node(i).name);
    }
  }
  std::vector<Decision> Kinds() const {
    std::vector<Decision> out;
    for (const auto& d : decisions) out.push_back(d.decision);
    return out;
  }
  std::vector<Decided> decisions;
  std::vector<Sent> sent;
  // Set, impacted services are also kept by name (indexes change when the rules do).
  const rules::Topology* topology = nullptr;
};

// What SaveChanges hands out, kept as a compacted changelog keeps it (the newest value of each
// entry); View() is what LoadEntries reads.
struct SavedEntries {
  std::map<std::pair<Engine::EntryKind, uint32_t>, std::string> entries;
  std::string globals;

  void SaveFrom(Engine& engine) {
    engine.SaveChanges(
        [&](Engine::EntryKind k, uint32_t slot, std::string_view b) {
          entries[{k, slot}] = std::string(b);
        },
        [&](Engine::EntryKind k, uint32_t slot) {
          entries.erase({k, slot});
        },
        &globals);
  }
  Engine::Entries View() const {
    Engine::Entries view;
    view.globals = globals;
    for (const auto& [key, value] : entries) {
      (key.first == Engine::EntryKind::kFingerprint ? view.fingerprints : view.incidents)
          .emplace_back(key.second, value);
    }
    return view;
  }
};

// An engine with its sink, fed in one call.
struct Harness {
  explicit Harness(const std::string& yaml) : rules(Rules(yaml)), engine(rules, &sink) {}
  Decided Feed(const Record& r) {
    engine.Process(r);
    return sink.decisions.back();
  }
  void AdvanceTo(int64_t t) { engine.AdvanceWatermark(EventTime{kT0 + t}); }
  std::shared_ptr<const rules::CompiledRules> rules;
  CaptureSink sink;
  Engine engine;
};

// Feeds `lines` copies of the log line `r`, a second apart from its time; returns the decision
// of the first that was not below threshold (the line that surged).
inline Decided FeedUntilSurged(Harness& h, Record r, int lines = 6) {
  const EventTime t0 = r.time;
  for (int i = 0; i < lines; ++i) {
    r.time = t0 + Millis{i * kS};
    Decided d = h.Feed(r);
    if (d.decision != Decision::kBelowThreshold) {
      for (int j = i + 1; j < lines; ++j) {
        r.time = t0 + Millis{j * kS};
        h.Feed(r);
      }
      return d;
    }
  }
  ADD_FAILURE() << r.labels.Get("service") << " never surged";
  return Decided{};
}

}  // namespace noisegate::dedup::testing

// Engine checkpoints: an engine restored from SaveState at any point of a stream goes on to
// emit exactly what the uninterrupted engine emits; corrupt or foreign state is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dedup/codec.h"
#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {
namespace {

// Every kind of state at once: topology, flapping, inhibition, silences, surges with a
// baseline, traces, versions, several correlate rules and repeats.
constexpr char kRules[] = R"(
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
  repeat_interval: 1h
)";

// A deterministic, varied stream: alerts that fire, repeat, resolve and flap; node outages
// that inhibit pod alerts; error logs that hum along and then surge, with traces and versions.
std::vector<Record> Stream() {
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

struct Output {
  std::vector<std::string> lines;
};

// Flattens what a sink captured into comparable lines.
std::vector<std::string> Lines(const CaptureSink& s) {
  std::vector<std::string> out;
  for (const Decided& d : s.decisions) {
    out.push_back("d " + std::string(DecisionName(d.decision)) + " " + d.incident + " " + d.rule +
                  " " + ToHex(d.fingerprint));
  }
  for (const Sent& n : s.sent) {
    std::string imp;
    for (int i : n.impacted) imp += std::to_string(i) + ",";
    std::string ev;
    for (const std::string& e : n.evidence) ev += e + ";";
    out.push_back("n " + std::to_string(static_cast<int>(n.action)) + " " +
                  std::to_string(static_cast<int>(n.route)) + " " + std::to_string(n.at) + " " +
                  n.incident + " " + n.reason + " " + std::to_string(n.members) + " " + imp + " " +
                  std::string(SeverityName(n.severity)) + " " + ev);
  }
  return out;
}

TEST(EngineSnapshot, RestoredEngineContinuesExactlyAsUninterrupted) {
  auto rules = Rules(kRules);
  std::vector<Record> stream = Stream();
  CaptureSink whole_sink;
  Engine whole(rules, &whole_sink);
  for (const Record& r : stream) whole.Process(r);
  whole.AdvanceWatermark(EventTime{stream.back().time.ms + 3 * 3600 * kS});
  std::vector<std::string> expected = Lines(whole_sink);
  // The stream must exercise what the checkpoint has to carry.
  ASSERT_GT(whole.stats().incidents_opened, 20u);
  size_t notifications = whole_sink.sent.size();
  ASSERT_GT(notifications, 20u);

  for (size_t cut :
       {size_t{1}, size_t{17}, size_t{400}, size_t{1234}, size_t{2500}, stream.size() - 1}) {
    CaptureSink sink;
    std::string state;
    {
      Engine first(rules, &sink);
      for (size_t i = 0; i < cut; ++i) first.Process(stream[i]);
      first.SaveState(&state);
    }
    Engine second(rules, &sink);
    Status st = second.LoadState(state);
    ASSERT_TRUE(st) << st.error().detail;
    // A second round trip gives the same bytes' worth of state.
    std::string again;
    second.SaveState(&again);
    EXPECT_EQ(again.size(), state.size()) << "cut at " << cut;
    for (size_t i = cut; i < stream.size(); ++i) second.Process(stream[i]);
    second.AdvanceWatermark(EventTime{stream.back().time.ms + 3 * 3600 * kS});
    std::vector<std::string> got = Lines(sink);
    // Decisions and notifications are kept apart in Lines(); compare them as wholes.
    ASSERT_EQ(got.size(), expected.size()) << "cut at " << cut;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], expected[i]) << "cut at " << cut << ", line " << i;
    }
  }
}

TEST(EngineSnapshot, EmptyEngineRoundTrips) {
  auto rules = Rules(kRules);
  CaptureSink sink;
  Engine a(rules, &sink);
  std::string state;
  a.SaveState(&state);
  Engine b(rules, &sink);
  EXPECT_TRUE(b.LoadState(state));
  b.Process(Alert(0, {{"alertname", "NodeDown"}, {"node", "n1"}}));
  b.AdvanceWatermark(EventTime{kT0 + 31 * kS});
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].route, rules::Action::kPage);
}

TEST(EngineSnapshot, RefusesStateCutShortOrCorrupt) {
  auto rules = Rules(kRules);
  std::vector<Record> stream = Stream();
  CaptureSink sink;
  Engine a(rules, &sink);
  for (size_t i = 0; i < 600; ++i) a.Process(stream[i]);
  std::string state;
  a.SaveState(&state);
  // Every prefix is refused with an error (and none crashes: run under ASan in the suite).
  for (size_t len = 0; len < state.size(); len += 1 + len / 64) {
    CaptureSink s;
    Engine b(rules, &s);
    EXPECT_FALSE(b.LoadState(std::string_view(state).substr(0, len))) << "prefix " << len;
  }
  CaptureSink s;
  Engine b(rules, &s);
  Status st = b.LoadState(state + "x");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().detail.find("trailing"), std::string::npos);
}

TEST(EngineSnapshot, RefusesStateOfOtherRules) {
  auto rules = Rules(kRules);
  CaptureSink sink;
  Engine a(rules, &sink);
  a.Process(Alert(0, {{"alertname", "NodeDown"}, {"node", "n1"}}));
  std::string state;
  a.SaveState(&state);
  std::string other_yaml = kRules;
  other_yaml.replace(other_yaml.find("name: impact"), 12, "name: impacts");
  auto other = Rules(other_yaml);
  Engine b(other, &sink);
  Status st = b.LoadState(state);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().detail.find("different rules"), std::string::npos) << st.error().detail;
}

TEST(RecordCodec, RoundTripsEveryField) {
  Record r = Log(1234, "api", "boom \"quoted\" \xff bytes");
  r.addr = RecordAddress{"logs.app", 3, 99887766, 2};
  r.trace_id = "abc";
  r.description = "stack";
  r.link = "http://x";
  r.input = 2;
  r.ends_at = EventTime{kT0 + 5};
  std::string bytes;
  Writer w(&bytes);
  EncodeRecord(r, w);
  Reader rd(bytes);
  Record back;
  ASSERT_TRUE(DecodeRecord(rd, &back));
  EXPECT_TRUE(rd.done());
  EXPECT_EQ(back.addr.topic, "logs.app");
  EXPECT_EQ(back.addr.partition, 3);
  EXPECT_EQ(back.addr.offset, 99887766);
  EXPECT_EQ(back.addr.index, 2);
  EXPECT_EQ(back.time, r.time);
  EXPECT_EQ(back.kind, SignalKind::kLog);
  EXPECT_EQ(back.input, 2);
  EXPECT_TRUE(back.labels == r.labels);
  EXPECT_EQ(back.summary, r.summary);
  EXPECT_EQ(back.description, "stack");
  EXPECT_EQ(back.link, "http://x");
  EXPECT_EQ(back.trace_id, "abc");
  EXPECT_EQ(back.ends_at, r.ends_at);
  for (size_t len = 0; len < bytes.size(); ++len) {
    Reader cut(std::string_view(bytes).substr(0, len));
    Record x;
    EXPECT_FALSE(DecodeRecord(cut, &x)) << len;
  }
}

}  // namespace
}  // namespace noisegate::dedup::testing

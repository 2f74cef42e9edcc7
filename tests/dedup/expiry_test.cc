// Bounded state: inert per-key state expires on event time, and expiring it changes no
// decision. Each test runs one stream through an engine that expires as early as it may
// (state.retention: 0s) and one that never does, and compares everything they emit.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/dedup/varied_stream.h"

namespace noisegate::dedup::testing {
namespace {

std::string WithRetention(const std::string& yaml, const std::string& retention) {
  return yaml + "state: {retention: " + retention + "}\n";
}

struct Outcome {
  std::vector<std::string> lines;
  EngineStats stats;
  StateSizes end;
  size_t peak_fingerprints = 0;
};

Outcome RunAll(const std::string& yaml, const std::vector<Record>& stream, int64_t after) {
  auto rules = Rules(yaml);
  CaptureSink sink;
  Engine engine(rules, &sink);
  Outcome run;
  for (const Record& r : stream) {
    engine.Process(r);
    run.peak_fingerprints = std::max(run.peak_fingerprints, engine.state_sizes().fingerprints);
  }
  engine.AdvanceWatermark(EventTime{stream.back().time.ms + after});
  run.lines = Lines(sink);
  run.stats = engine.stats();
  run.end = engine.state_sizes();
  return run;
}

void ExpectSameLines(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "line " << i;
}

TEST(StateExpiry, ExpiringInertStateChangesNoDecision) {
  std::vector<Record> stream = Merge(VariedStream(), Churn(0, 30 * 3600 * kS, 20 * kS));
  const int64_t after = 12 * 3600 * kS;
  Outcome keep = RunAll(WithRetention(kVariedRules, "10000d"), stream, after);
  Outcome expire = RunAll(WithRetention(kVariedRules, "0s"), stream, after);
  // The stream must exercise it: incidents, pages, many fingerprints that go inert.
  ASSERT_GT(keep.stats.incidents_opened, 50u);
  EXPECT_EQ(keep.stats.fingerprints_expired, 0u);
  EXPECT_GT(expire.stats.fingerprints_expired, 5000u);
  ExpectSameLines(expire.lines, keep.lines);
  // What was ever seen stays in one engine and is gone from the other.
  EXPECT_GT(keep.end.fingerprints, 5000u);
  EXPECT_LT(expire.end.fingerprints, 100u);
  EXPECT_LT(expire.end.log_signals, 50u);
  EXPECT_LT(expire.peak_fingerprints * 5, keep.peak_fingerprints);
  // The default retention (1h) changes nothing either.
  Outcome defaults = RunAll(kVariedRules, stream, after);
  ExpectSameLines(defaults.lines, keep.lines);
}

TEST(StateExpiry, RestoredEngineWithExpiredSlotsContinuesExactly) {
  const std::string yaml = WithRetention(kVariedRules, "0s");
  std::vector<Record> stream = Merge(VariedStream(), Churn(0, 20 * 3600 * kS, 30 * kS));
  const int64_t after = 6 * 3600 * kS;
  Outcome whole = RunAll(yaml, stream, after);
  auto rules = Rules(yaml);
  for (size_t cut : {stream.size() / 3, stream.size() * 2 / 3}) {
    CaptureSink sink;
    std::string state;
    {
      Engine first(rules, &sink);
      for (size_t i = 0; i < cut; ++i) first.Process(stream[i]);
      ASSERT_GT(first.stats().fingerprints_expired, 100u);
      first.SaveState(&state);
    }
    // Slots freed before the cut are reused after it exactly as in the uninterrupted run
    // (timers break ties by slot, so a different slot could reorder outputs).
    Engine second(rules, &sink);
    Status st = second.LoadState(state);
    ASSERT_TRUE(st) << st.error().detail;
    for (size_t i = cut; i < stream.size(); ++i) second.Process(stream[i]);
    second.AdvanceWatermark(EventTime{stream.back().time.ms + after});
    ExpectSameLines(Lines(sink), whole.lines);
  }
}

TEST(StateExpiry, MemoryFollowsWhatIsActiveNotWhatWasEverSeen) {
  // The same churn rate for one day and for ten: ten times the distinct fingerprints, all
  // long resolved by the end. Held state must not grow with them.
  const std::string yaml = WithRetention(kVariedRules, "1h");
  Outcome day = RunAll(yaml, Churn(0, 24 * 3600 * kS, 20 * kS), 0);
  Outcome ten = RunAll(yaml, Churn(0, 240 * 3600 * kS, 20 * kS), 0);
  ASSERT_GT(ten.stats.fingerprints_expired, 40000u);
  EXPECT_LE(ten.peak_fingerprints * 10, day.peak_fingerprints * 13);
  EXPECT_LE(ten.end.fingerprints * 10, day.end.fingerprints * 13);
  EXPECT_LE(ten.end.log_signals * 10, day.end.log_signals * 13 + 10);
  EXPECT_LE(ten.end.timers * 10, day.end.timers * 13 + 10);
}

TEST(StateExpiry, AlertInAnOpenIncidentIsKeptUntilTheIncidentCloses) {
  // Resolved early, but its incident stays open through another member: a re-fire must fold
  // into that incident, not open a second one (the incident is full, so only the member's
  // own state can bring it back).
  Harness h(R"(
state: {retention: 0s}
correlate:
  - name: all
    group_by: [service]
    group_wait: 30s
    close_after: 10m
    max_members: 2
page:
  when: [['severity="critical"']]
)");
  Labels a{{"alertname", "A"}, {"service", "web"}, {"severity", "critical"}};
  Labels b{{"alertname", "B"}, {"service", "web"}, {"severity", "warning"}};
  Decided first = h.Feed(Alert(0, a));
  h.Feed(Alert(kS, b));
  h.Feed(Alert(2 * kS, a, /*resolved=*/true));
  for (int64_t t = kM; t < 3 * 3600 * kS; t += kM) h.Feed(Alert(t, b));  // keeps it open
  Decided again = h.Feed(Alert(3 * 3600 * kS, a));
  EXPECT_EQ(again.decision, Decision::kGrouped);
  EXPECT_EQ(again.incident, first.incident);
  // Once the incident is closed, the resolved alert's state goes.
  h.Feed(Alert(3 * 3600 * kS + kS, a, true));
  h.Feed(Alert(3 * 3600 * kS + kS, b, true));
  size_t before = h.engine.state_sizes().fingerprints;
  h.AdvanceTo(5 * 3600 * kS);
  EXPECT_EQ(before, 2u);
  EXPECT_EQ(h.engine.state_sizes().fingerprints, 0u);
  EXPECT_EQ(h.engine.state_sizes().incidents, 0u);
}

TEST(StateExpiry, VersionsNotSeenForTheirRetentionAreForgotten) {
  Harness h(R"(
state: {version_retention: 1h}
correlate:
  - name: all
)");
  for (int v = 0; v < 50; ++v) {
    Record r = Log(v * 10 * kM, "web", "boom");
    r.labels.Add("version", "v" + std::to_string(v));
    r.labels.Canonicalize();
    h.Feed(r);
  }
  // Each version was seen once, ten minutes after the one before: about six are remembered.
  EXPECT_LE(h.engine.state_sizes().versions, 8u);
  EXPECT_GE(h.engine.state_sizes().versions, 5u);
}

}  // namespace
}  // namespace noisegate::dedup::testing

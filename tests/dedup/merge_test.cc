// Merging incidents: when the evidence that ties a signal to one open incident also ties it to
// another, and neither has notified yet, the two are one problem seen from two sides (callers'
// errors that blame a service before its own errors come; two places of one outage). The
// later one folds into the first: its members, its fingerprints' states, its places and groups.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/dedup/engine_test_util.h"
#include "tests/dedup/varied_stream.h"

namespace noisegate::dedup::testing {
namespace {

constexpr char kMergeRules[] = R"(
topology:
  services:
    web: {user_facing: true, depends_on: [api]}
    shop: {user_facing: true, depends_on: [cart]}
    api: {}
    cart: {}
logs:
  surge: {min_count: 3, within: 1m, over_baseline: 1x, warmup: 0s, quiet_for: 2m}
correlate:
  - name: user-impact
    group_by: [impacted_service]
    group_wait: 30s
    close_after: 5m
    join_within: 10m
    join_named: true
    join_colocated: {labels: [zone], within: 3m}
page:
  when:
    - ['signal="log_surge"', 'impacted_user_facing="true"']
  otherwise: ticket
)";

Record ZoneLog(int64_t t, const std::string& service, const std::string& message,
               const std::string& zone) {
  Record r = Log(t, service, message);
  r.labels.Add("zone", zone);
  r.labels.Canonicalize();
  return r;
}

// One outage of zone `zone` from `t`: web's errors blame api (elsewhere), cart fails in the
// zone, then api's own errors begin there. Returns the decisions of the lines that surged.
std::vector<Decided> ZoneOutage(Harness& h, int64_t t, const std::string& zone) {
  return {FeedUntilSurged(h, ZoneLog(t, "web", "upstream api unavailable", "elsewhere")),
          FeedUntilSurged(h, ZoneLog(t + 5 * kS, "cart", "disk read timed out", zone)),
          FeedUntilSurged(h, ZoneLog(t + 10 * kS, "api", "query timed out", zone))};
}

TEST(MergeTest, ASignalTiedToTwoPendingIncidentsMergesThemAndTheirSignalsFollow) {
  Harness h(kMergeRules);
  std::vector<Decided> d = ZoneOutage(h, 0, "z1");
  ASSERT_EQ(d[0].decision, Decision::kNew);
  ASSERT_EQ(d[1].decision, Decision::kNew);
  ASSERT_NE(d[1].incident, d[0].incident);
  EXPECT_EQ(d[2].decision, Decision::kGrouped);
  EXPECT_EQ(d[2].incident, d[0].incident);
  // cart's signal now belongs to the first incident.
  EXPECT_EQ(h.Feed(ZoneLog(20 * kS, "cart", "disk read timed out", "z1")).incident, d[0].incident);
  h.AdvanceTo(2 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  const Sent& page = h.sink.sent[0];
  EXPECT_EQ(page.incident, d[0].incident);
  EXPECT_EQ(page.route, rules::Action::kPage);
  EXPECT_EQ(page.at, 32 * kS);  // the first incident's group_wait, not the second's
  EXPECT_EQ(page.members, 3u);
  EXPECT_EQ(page.impacted.size(), 2u);
  bool merged = false;
  for (const std::string& e : page.evidence) {
    merged = merged || e.rfind("merged " + d[1].incident + ": place: ", 0) == 0;
  }
  EXPECT_TRUE(merged) << ::testing::PrintToString(page.evidence);
  // Once everything resolved, the one incident closes with one resolve.
  h.AdvanceTo(30 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].action, NotifyAction::kResolve);
  EXPECT_EQ(h.sink.sent[1].incident, d[0].incident);
}

TEST(MergeTest, AnIncidentThatNotifiedTakesNothingIn) {
  Harness h(kMergeRules);
  Decided web = FeedUntilSurged(h, ZoneLog(0, "web", "upstream api unavailable", "elsewhere"));
  Decided cart = FeedUntilSurged(h, ZoneLog(60 * kS, "cart", "disk read timed out", "z1"));
  Decided api = FeedUntilSurged(h, ZoneLog(70 * kS, "api", "query timed out", "z1"));
  EXPECT_EQ(api.incident, web.incident);
  h.AdvanceTo(3 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[0].incident, web.incident);
  EXPECT_EQ(h.sink.sent[1].incident, cart.incident);
}

// Outages one after another, each merging two incidents: an engine restored from a whole
// checkpoint or from its changelog entries, cut anywhere, goes on exactly as one that never
// stopped.
TEST(MergeTest, MergedIncidentsSurviveBothKindsOfCheckpoint) {
  // ZoneOutage's lines, six times, 20 minutes apart.
  std::vector<Record> stream;
  for (int k = 0; k < 6; ++k) {
    const int64_t t = k * 20 * kM;
    const std::string zone = "z" + std::to_string(k % 3);
    for (int i = 0; i < 6; ++i) {
      stream.push_back(ZoneLog(t + i * kS, "web", "upstream api unavailable", "elsewhere"));
      stream.push_back(ZoneLog(t + (5 + i) * kS, "cart", "disk read timed out", zone));
      stream.push_back(ZoneLog(t + (10 + i) * kS, "api", "query timed out", zone));
    }
  }
  std::stable_sort(stream.begin(), stream.end(),
                   [](const Record& a, const Record& b) { return a.time < b.time; });
  const EventTime end{stream.back().time.ms + 3 * 3600 * kS};
  auto rules = Rules(kMergeRules);
  CaptureSink whole_sink;
  Engine whole(rules, &whole_sink);
  for (const Record& r : stream) whole.Process(r);
  whole.AdvanceWatermark(end);
  const std::vector<std::string> expected = Lines(whole_sink);
  size_t merges = 0, pages = 0;
  for (const Sent& s : whole_sink.sent) {
    if (s.action != NotifyAction::kTrigger) continue;
    ++pages;
    for (const std::string& e : s.evidence) merges += e.rfind("merged ", 0) == 0;
  }
  ASSERT_EQ(pages, 6u);
  ASSERT_EQ(merges, 6u);

  for (bool entries : {false, true}) {
    for (size_t cut = 1; cut < stream.size(); cut += 5) {
      SCOPED_TRACE((entries ? "entries, cut at " : "whole state, cut at ") + std::to_string(cut));
      CaptureSink sink;
      std::string state;
      SavedEntries saved;
      {
        Engine first(rules, &sink);
        first.TrackChanges(/*all=*/false);
        for (size_t i = 0; i < cut; ++i) {
          first.Process(stream[i]);
          if (i % 3 == 0) saved.SaveFrom(first);
        }
        saved.SaveFrom(first);
        first.SaveState(&state);
      }
      Engine second(rules, &sink);
      Status st = entries ? second.LoadEntries(saved.View()) : second.LoadState(state);
      ASSERT_TRUE(st) << st.error().detail;
      for (size_t i = cut; i < stream.size(); ++i) second.Process(stream[i]);
      second.AdvanceWatermark(end);
      ASSERT_EQ(Lines(sink), expected);
    }
  }
}

}  // namespace
}  // namespace noisegate::dedup::testing

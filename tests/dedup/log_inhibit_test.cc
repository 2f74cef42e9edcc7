// Log surges as inhibition sources. An inhibit rule whose `source` takes `signal="log_surge"`
// is inhibited by a service's error surge as by an alert: the warning alerts of the component
// whose errors opened an incident join it (inhibited: they neither raise its severity nor make
// it page) instead of opening incidents of their own or chaining others; when the surge ends,
// those still firing become ordinary members. Rules that do not name log surges in `source`
// keep Alertmanager's meaning: only firing alerts inhibit.
#include <gtest/gtest.h>

#include <string>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {
namespace {

std::string InhibitRules(const std::string& source) {
  return R"(
logs:
  surge: {min_count: 5, within: 1m, over_baseline: 5x, baseline_window: 1h, warmup: 0s,
          quiet_for: 2m}
inhibit:
  - name: errors-explain-warnings
    source: )" +
         source + R"(
    target: ['signal="alert"', 'severity="warning"']
    equal: [service]
correlate:
  - name: r
    group_by: [alertname]
    group_wait: 30s
page:
  when:
    - ['severity="warning"']
    - ['signal="log_surge"']
)";
}

Record Latency(int64_t t, const std::string& service, bool resolved = false) {
  return Alert(t, {{"alertname", "HighLatency"}, {"service", service}, {"severity", "warning"}},
               resolved);
}

Decided Surge(Harness& h, int64_t t, const std::string& service) {
  return FeedUntilSurged(h, Log(t, service, "failed to query carts"));
}

TEST(LogInhibitTest, AServicesErrorSurgeInhibitsItsWarningAlertsIntoItsIncident) {
  Harness h(InhibitRules(R"(['signal="log_surge"'])"));
  Decided surge = Surge(h, 0, "checkout");
  ASSERT_EQ(surge.decision, Decision::kNew);
  Decided warning = h.Feed(Latency(10 * kS, "checkout"));
  EXPECT_EQ(warning.decision, Decision::kInhibited);
  EXPECT_EQ(warning.rule, "errors-explain-warnings");
  EXPECT_EQ(warning.incident, surge.incident);
  // Another service's warning is not inhibited (equal: [service]): it opens its own incident.
  Decided other = h.Feed(Latency(12 * kS, "search"));
  EXPECT_EQ(other.decision, Decision::kNew);
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[0].incident, surge.incident);
  EXPECT_EQ(h.sink.sent[0].members, 2u);  // the surge and the inhibited warning
  EXPECT_EQ(h.sink.sent[1].incident, other.incident);
}

TEST(LogInhibitTest, WhenTheSurgeEndsTheWarningThatStillFiresIsAnOrdinaryMember) {
  Harness h(InhibitRules(R"(['signal="log_surge"'])"));
  Decided surge = Surge(h, 0, "checkout");
  EXPECT_EQ(h.Feed(Latency(10 * kS, "checkout")).decision, Decision::kInhibited);
  // The last line was at 5 s: the surge ends quiet_for (2m) later.
  h.AdvanceTo(3 * kM);
  Decided again = h.Feed(Latency(4 * kM, "checkout"));
  EXPECT_EQ(again.decision, Decision::kGrouped);  // no longer inhibited, still its incident
  EXPECT_EQ(again.incident, surge.incident);
  // A warning of the same service that starts after the surge is not inhibited either.
  Decided later = h.Feed(
      Alert(5 * kM, {{"alertname", "DiskFull"}, {"service", "checkout"}, {"severity", "warning"}}));
  EXPECT_EQ(later.decision, Decision::kNew);
}

TEST(LogInhibitTest, ARuleThatDoesNotNameLogSurgesInItsSourceTakesAlertsOnly) {
  // The source matches the surge's labels (service), but says nothing of `signal`.
  Harness h(InhibitRules(R"(['service="checkout"'])"));
  Decided surge = Surge(h, 0, "checkout");
  ASSERT_EQ(surge.decision, Decision::kNew);
  Decided warning = h.Feed(Latency(10 * kS, "checkout"));
  EXPECT_EQ(warning.decision, Decision::kNew);
  EXPECT_NE(warning.incident, surge.incident);
}

TEST(LogInhibitTest, ALogSourceSurvivesACheckpointAndLeavesWhenItsSurgeEnds) {
  const std::string yaml = InhibitRules(R"(['signal="log_surge"'])");
  Harness h(yaml);
  Decided surge = Surge(h, 0, "checkout");
  std::string state;
  h.engine.SaveState(&state);
  Harness restored(yaml);
  ASSERT_TRUE(restored.engine.LoadState(state));
  Decided warning = restored.Feed(Latency(10 * kS, "checkout"));
  EXPECT_EQ(warning.decision, Decision::kInhibited);
  EXPECT_EQ(warning.incident, surge.incident);
  // The surge ends; its fingerprint expires later without tripping over a stale source.
  restored.AdvanceTo(48 * 60 * kM);
  EXPECT_EQ(restored.engine.state_sizes().inhibit_sources, 0u);
}

}  // namespace
}  // namespace noisegate::dedup::testing

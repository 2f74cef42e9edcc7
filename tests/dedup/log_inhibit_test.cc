// Log surges as inhibition sources. An inhibit rule whose `source` takes `signal="log_surge"`
// is inhibited by a service's error surge as by an alert: the warning alerts of the component
// whose errors opened an incident join it (inhibited: they neither raise its severity nor make
// it page) instead of opening incidents of their own or chaining others; once the surge has
// ended, those still firing are ordinary members from their next record. A surge inhibits
// only into its open incident. Rules that do not name log surges in `source` keep
// Alertmanager's meaning: only firing alerts inhibit.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {
namespace {

std::string InhibitRules(const std::string& source, const std::string& extra = "") {
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
    close_after: 5m
)" + extra +
         R"(
page:
  when:
    - ['severity="warning"']
  otherwise: ticket
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
  // The surge's incident holds the warning, which does not make it page (page.when takes
  // warnings; an inhibited member does not count) nor sets its severity.
  EXPECT_EQ(h.sink.sent[0].incident, surge.incident);
  EXPECT_EQ(h.sink.sent[0].members, 2u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);
  EXPECT_NE(h.sink.sent[0].severity, Severity::kWarning);
  EXPECT_EQ(h.sink.sent[1].incident, other.incident);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
}

TEST(LogInhibitTest, ASurgeThatNoCorrelateRuleTakesInhibitsNothing) {
  // Only alerts are correlated: the surge is dropped (decision `dropped`, rule correlate), and
  // a warning it inhibited would be in no incident, on no page and no ticket.
  Harness h(R"(
logs:
  surge: {min_count: 5, within: 1m, over_baseline: 5x, baseline_window: 1h, warmup: 0s}
inhibit:
  - source: ['signal="log_surge"']
    target: ['severity="warning"']
    equal: [service]
correlate:
  - name: alerts
    match: ['signal="alert"']
    group_by: [alertname]
)");
  Decided surge = FeedUntilSurged(h, Log(0, "checkout", "failed to query carts"));
  EXPECT_EQ(surge.decision, Decision::kDropped);
  EXPECT_EQ(h.Feed(Latency(10 * kS, "checkout")).decision, Decision::kNew);
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
  EXPECT_EQ(later.decision, Decision::kNew);  // (not inhibited)
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

// Through the per-entry checkpoint live writes: the restored engine still has the surge as a
// source; when the surge ends, it stops being one, and once the incident has closed its
// fingerprint expires (Evict checks that it is no source).
TEST(LogInhibitTest, ALogSourceSurvivesACheckpointAndLeavesWhenItsSurgeEnds) {
  const std::string yaml = InhibitRules(R"(['signal="log_surge"'])", "state: {retention: 10m}");
  Harness h(yaml);
  h.engine.TrackChanges(/*all=*/true);
  Decided surge = Surge(h, 0, "checkout");
  SavedEntries saved;
  saved.SaveFrom(h.engine);
  Harness restored(yaml);
  ASSERT_TRUE(restored.engine.LoadEntries(saved.View()));
  EXPECT_EQ(restored.engine.state_sizes().inhibit_sources, 1u);
  Decided warning = restored.Feed(Latency(10 * kS, "checkout"));
  EXPECT_EQ(warning.decision, Decision::kInhibited);
  EXPECT_EQ(warning.incident, surge.incident);
  // The surge ends quiet_for (2m) after its last line (5 s).
  restored.AdvanceTo(3 * kM);
  EXPECT_EQ(restored.engine.state_sizes().inhibit_sources, 0u);
  // The warning resolves, the incident closes (close_after 5m), its fingerprints expire.
  restored.Feed(Latency(4 * kM, "checkout", /*resolved=*/true));
  restored.AdvanceTo(60 * kM);
  EXPECT_EQ(restored.engine.stats().open_incidents, 0u);
  EXPECT_GE(restored.engine.stats().fingerprints_expired, 2u);
}

}  // namespace
}  // namespace noisegate::dedup::testing

// Engine behaviour: dedup, lifecycle, flapping, correlation windows, topology, inhibition,
// silences, policy, escalation, resolve and determinism. Each test pins one behaviour.
#include "dedup/engine.h"

#include <gtest/gtest.h>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup {
namespace {

using namespace testing;  // NOLINT

const char* kBase = R"(
correlate:
  - name: by-service
    group_by: [service]
    group_wait: 30s
    group_interval: 5m
    close_after: 10m
    max_duration: 6h
page:
  when:
    - ['severity="critical"']
  otherwise: ticket
  repeat_interval: 4h
)";

// kBase with flapping detection: `changes` state changes within 15m, stable for 10m.
std::string WithFlapping(int changes) {
  return std::string(kBase) + "dedup:\n  flapping: {changes: " + std::to_string(changes) +
         ", within: 15m, stable_for: 10m}\n";
}

TEST(EngineTest, RepeatsOfAFiringAlertAreDeduplicatedIntoOneIncident) {
  Harness h(kBase);
  auto a = Alert(0, {{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}});
  Decided first = h.Feed(a);
  EXPECT_EQ(first.decision, Decision::kNew);
  EXPECT_EQ(first.rule, "by-service");
  for (int i = 1; i <= 3; ++i) {
    a.time.ms += kM;
    Decided d = h.Feed(a);
    EXPECT_EQ(d.decision, Decision::kDeduplicated);
    EXPECT_EQ(d.incident, first.incident);
    EXPECT_EQ(d.fingerprint, first.fingerprint);
  }
  // One trigger, sent when group_wait ended, on the paging route.
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].action, NotifyAction::kTrigger);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[0].at, 30 * kS);
  EXPECT_EQ(h.sink.sent[0].incident, first.incident);
}

TEST(EngineTest, GroupWaitHoldsTheFirstNotificationAndGathersTheGroup) {
  Harness h(kBase);
  Decided a = h.Feed(Alert(0, {{"alertname", "A"}, {"service", "api"}, {"severity", "warning"}}));
  Decided b =
      h.Feed(Alert(10 * kS, {{"alertname", "B"}, {"service", "api"}, {"severity", "critical"}}));
  Decided c =
      h.Feed(Alert(20 * kS, {{"alertname", "C"}, {"service", "db"}, {"severity", "warning"}}));
  EXPECT_EQ(a.decision, Decision::kNew);
  EXPECT_EQ(b.decision, Decision::kGrouped);
  EXPECT_EQ(b.incident, a.incident);
  EXPECT_EQ(c.decision, Decision::kNew);  // another service, another group
  EXPECT_NE(c.incident, a.incident);
  EXPECT_TRUE(h.sink.sent.empty());
  h.AdvanceTo(60 * kS);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[0].incident, a.incident);
  EXPECT_EQ(h.sink.sent[0].members, 2u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kPage);  // B is critical
  EXPECT_EQ(h.sink.sent[0].severity, Severity::kCritical);
  EXPECT_EQ(h.sink.sent[1].incident, c.incident);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kTicket);
  EXPECT_EQ(h.sink.sent[1].at, 50 * kS);
}

TEST(EngineTest, ResolveIsSentAfterEveryMemberResolvedAndCloseAfterPassed) {
  Harness h(kBase);
  auto labels = Labels{{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}};
  Decided open = h.Feed(Alert(0, labels));
  h.AdvanceTo(kM);
  Decided res = h.Feed(Alert(2 * kM, labels, /*resolved=*/true));
  EXPECT_EQ(res.decision, Decision::kResolved);
  EXPECT_EQ(res.incident, open.incident);
  h.AdvanceTo(2 * kM + 10 * kM - 1);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  h.AdvanceTo(2 * kM + 10 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].action, NotifyAction::kResolve);
  EXPECT_EQ(h.sink.sent[1].incident, open.incident);
  EXPECT_EQ(h.sink.sent[1].at, 12 * kM);
  // After the close, the same alert firing again is a new incident with a new dedup_key.
  Decided again = h.Feed(Alert(20 * kM, labels));
  EXPECT_EQ(again.decision, Decision::kNew);
  EXPECT_NE(again.incident, open.incident);
}

TEST(EngineTest, AResolveBeforeGroupWaitIsABlipAndNobodyIsTold) {
  Harness h(kBase);
  auto labels = Labels{{"alertname", "Blip"}, {"service", "api"}, {"severity", "critical"}};
  h.Feed(Alert(0, labels));
  h.Feed(Alert(10 * kS, labels, true));
  h.AdvanceTo(kM * 60);
  EXPECT_TRUE(h.sink.sent.empty());
}

TEST(EngineTest, ReFiringWithinAnOpenIncidentRejoinsIt) {
  Harness h(kBase);
  auto labels = Labels{{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}};
  Decided open = h.Feed(Alert(0, labels));
  h.Feed(Alert(kM, labels, true));
  Decided again = h.Feed(Alert(3 * kM, labels));
  EXPECT_EQ(again.decision, Decision::kGrouped);
  EXPECT_EQ(again.incident, open.incident);
}

TEST(EngineTest, FlappingFingerprintIsHeldBackUntilStable) {
  Harness h(WithFlapping(4));
  auto labels = Labels{{"alertname", "Flappy"}, {"service", "api"}, {"severity", "warning"}};
  EXPECT_EQ(h.Feed(Alert(0, labels)).decision, Decision::kNew);                  // change 1
  EXPECT_EQ(h.Feed(Alert(1 * kM, labels, true)).decision, Decision::kResolved);  // change 2
  EXPECT_EQ(h.Feed(Alert(2 * kM, labels)).decision, Decision::kGrouped);         // change 3
  EXPECT_EQ(h.Feed(Alert(3 * kM, labels, true)).decision, Decision::kResolved);  // change 4
  Decided held = h.Feed(Alert(4 * kM, labels));
  EXPECT_EQ(held.decision, Decision::kFlapping);
  EXPECT_EQ(held.rule, "dedup.flapping");
  EXPECT_EQ(h.Feed(Alert(5 * kM, labels)).decision, Decision::kFlapping);
  // Stable (no state change) for 10 minutes since the last change at 4m: no longer flapping.
  EXPECT_NE(h.Feed(Alert(15 * kM, labels)).decision, Decision::kFlapping);
}

TEST(EngineTest, EscalationFromTicketToPageKeepsTheDedupKeyAndPagesAtOnce) {
  Harness h(kBase);
  Decided a =
      h.Feed(Alert(0, {{"alertname", "Slow"}, {"service", "api"}, {"severity", "warning"}}));
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);
  Decided b =
      h.Feed(Alert(2 * kM, {{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}}));
  EXPECT_EQ(b.decision, Decision::kGrouped);
  EXPECT_EQ(b.incident, a.incident);
  // Not group_interval (5m) after the ticket at 30s: the pager has not heard of it.
  h.AdvanceTo(2 * kM + 1);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[1].reason, "escalation");
  EXPECT_EQ(h.sink.sent[1].at, 2 * kM);
  EXPECT_EQ(h.sink.sent[1].incident, a.incident);
  // The resolve reaches both outputs that heard a trigger.
  h.Feed(Alert(6 * kM, {{"alertname", "Slow"}, {"service", "api"}, {"severity", "warning"}}, true));
  h.Feed(
      Alert(6 * kM, {{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}}, true));
  h.AdvanceTo(30 * kM);
  ASSERT_EQ(h.sink.sent.size(), 4u);
  EXPECT_EQ(h.sink.sent[2].action, NotifyAction::kResolve);
  EXPECT_EQ(h.sink.sent[2].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[3].action, NotifyAction::kResolve);
  EXPECT_EQ(h.sink.sent[3].route, rules::Action::kTicket);
}

TEST(EngineTest, UpdatesOfAPagedIncidentWaitForGroupInterval) {
  Harness h(R"(
correlate:
  - name: by-service
    group_by: [service]
    group_wait: 30s
    group_interval: 5m
page:
  when:
    - ['severity=~"error|critical"']
)");
  h.Feed(Alert(0, {{"alertname", "Errors"}, {"service", "api"}, {"severity", "error"}}));
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kPage);
  h.Feed(Alert(2 * kM, {{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}}));
  h.AdvanceTo(5 * kM + 29 * kS);  // group_interval after the page at 30s
  ASSERT_EQ(h.sink.sent.size(), 1u);
  h.AdvanceTo(5 * kM + 30 * kS);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].reason, "escalation");
  EXPECT_EQ(h.sink.sent[1].at, 5 * kM + 30 * kS);
}

TEST(EngineTest, RepeatIntervalResendsALongRunningIncident) {
  Harness h(kBase);
  auto labels = Labels{{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}};
  for (int64_t t = 0; t <= 5 * 60 * kM; t += 30 * kM) h.Feed(Alert(t, labels));
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].reason, "repeat");
  EXPECT_EQ(h.sink.sent[1].at, 30 * kS + 4 * 60 * kM);
  EXPECT_EQ(h.sink.sent[1].incident, h.sink.sent[0].incident);
}

TEST(EngineTest, MaxDurationSealsAnIncidentSoTheNextOutageStartsAnother) {
  Harness h(R"(
correlate:
  - name: r
    group_by: [service]
    max_duration: 1h
page: {when: [['severity="critical"']]}
)");
  Decided first =
      h.Feed(Alert(0, {{"alertname", "A"}, {"service", "api"}, {"severity", "critical"}}));
  Decided inside = h.Feed(Alert(30 * kM, {{"alertname", "B"}, {"service", "api"}}));
  Decided after = h.Feed(Alert(61 * kM, {{"alertname", "C"}, {"service", "api"}}));
  EXPECT_EQ(inside.incident, first.incident);
  EXPECT_EQ(after.decision, Decision::kNew);
  EXPECT_NE(after.incident, first.incident);
  // The sealed incident still deduplicates its own members.
  Decided repeat =
      h.Feed(Alert(62 * kM, {{"alertname", "A"}, {"service", "api"}, {"severity", "critical"}}));
  EXPECT_EQ(repeat.decision, Decision::kDeduplicated);
  EXPECT_EQ(repeat.incident, first.incident);
}

TEST(EngineTest, MaxMembersSealsAnIncident) {
  Harness h(R"(
correlate:
  - name: r
    group_by: [service]
    max_members: 2
)");
  Decided a = h.Feed(Alert(0, {{"alertname", "A"}, {"service", "api"}}));
  Decided b = h.Feed(Alert(1, {{"alertname", "B"}, {"service", "api"}}));
  Decided c = h.Feed(Alert(2, {{"alertname", "C"}, {"service", "api"}}));
  EXPECT_EQ(b.incident, a.incident);
  EXPECT_EQ(c.decision, Decision::kNew);
  EXPECT_NE(c.incident, a.incident);
}

const char* kTopology = R"(
topology:
  services:
    web: {user_facing: true, depends_on: [checkout]}
    checkout: {user_facing: true, depends_on: [payments]}
    payments: {depends_on: [payments-db]}
    search: {user_facing: true}
  components:
    - match: ['cluster="pg-payments"']
      component: payments-db
logs:
  surge: {min_count: 5, within: 1m, over_baseline: 5x, baseline_window: 1h, warmup: 0s}
correlate:
  - name: user-impact
    group_by: [impacted_service]
page:
  when:
    - ['impacted_user_facing="true"', 'severity="critical"']
    - ['signal="log_surge"', 'impacted_user_facing="true"']
)";

TEST(EngineTest, TopologyTiesADatabaseAlertAndItsCallersErrorsIntoOneIncident) {
  Harness h(kTopology);
  Decided db = h.Feed(Alert(
      0, {{"alertname", "PostgresDown"}, {"cluster", "pg-payments"}, {"severity", "critical"}}));
  EXPECT_EQ(db.decision, Decision::kNew);
  Decided last;
  for (int i = 0; i < 5; ++i) {
    last = h.Feed(Log(kS + i * 100, "checkout",
                      "upstream payments returned 503 for order " + std::to_string(1000 + i)));
  }
  EXPECT_EQ(last.decision, Decision::kGrouped);
  EXPECT_EQ(last.incident, db.incident);
  // An unrelated user-facing service is another incident.
  Decided other = h.Feed(
      Alert(2 * kS, {{"alertname", "Down"}, {"service", "search"}, {"severity", "critical"}}));
  EXPECT_NE(other.incident, db.incident);
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  const rules::Topology& topo = h.rules->topology;
  ASSERT_EQ(h.sink.sent[0].impacted.size(), 1u);
  EXPECT_EQ(topo.node(h.sink.sent[0].impacted[0]).name, "checkout");
}

TEST(EngineTest, ALogSignalPagesOnlyWhenItSurgesAboveItsOwnBaseline) {
  Harness h(kTopology);
  // A steady benign error, once every 15 s for two hours: never a surge (4/min < min_count 5
  // at first, then far below 5x its baseline).
  Decided d;
  int64_t t = 0;
  for (; t < 2 * 60 * kM; t += 15 * kS) {
    d = h.Feed(Log(t, "search", "cache miss for key user:" + std::to_string(t % 977)));
    ASSERT_EQ(d.decision, Decision::kBelowThreshold) << "at " << t;
  }
  EXPECT_EQ(d.rule, "logs.surge");
  // The same error explodes: 10 per second.
  for (int i = 0; i < 30; ++i)
    d = h.Feed(Log(t + i * 100, "search", "cache miss for key user:" + std::to_string(i)));
  EXPECT_EQ(d.decision, Decision::kDeduplicated);
  EXPECT_FALSE(d.incident.empty());
}

TEST(EngineTest, ASteadyErrorLearnsDuringWarmupAndNeverPages) {
  Harness h(R"(
logs:
  surge: {min_count: 20, within: 1m, over_baseline: 5x, baseline_window: 1h, warmup: 1h}
correlate:
  - name: r
    group_by: [service]
)");
  for (int64_t t = 0; t < 4 * 60 * kM; t += kS) {
    Decided d = h.Feed(Log(t, "api", "timeout after " + std::to_string(t % 3000) + "ms"));
    ASSERT_EQ(d.decision, Decision::kBelowThreshold) << "at " << t;
  }
}

TEST(EngineTest, InhibitionFollowsAlertmanagerSemantics) {
  Harness h(R"(
inhibit:
  - name: node-down
    source: ['alertname="NodeDown"']
    target: ['severity=~"warning|critical"']
    equal: [node]
correlate:
  - name: r
    group_by: [node]
)");
  Decided node =
      h.Feed(Alert(0, {{"alertname", "NodeDown"}, {"node", "n1"}, {"severity", "critical"}}));
  EXPECT_EQ(node.decision, Decision::kNew);  // no self-inhibition
  Decided pod = h.Feed(
      Alert(kS, {{"alertname", "PodDown"}, {"node", "n1"}, {"pod", "p"}, {"severity", "warning"}}));
  EXPECT_EQ(pod.decision, Decision::kInhibited);
  EXPECT_EQ(pod.rule, "node-down");
  EXPECT_EQ(pod.incident, node.incident);  // names the incident of the node that inhibited it
  Decided repeat = h.Feed(Alert(
      2 * kS, {{"alertname", "PodDown"}, {"node", "n1"}, {"pod", "p"}, {"severity", "warning"}}));
  EXPECT_EQ(repeat.decision, Decision::kInhibited);
  // Another node is not inhibited; nor is a target without the equal label (missing != "n1").
  EXPECT_EQ(
      h.Feed(Alert(3 * kS, {{"alertname", "PodDown"}, {"node", "n2"}, {"severity", "warning"}}))
          .decision,
      Decision::kNew);
  EXPECT_EQ(h.Feed(Alert(4 * kS, {{"alertname", "PodDown"}, {"severity", "warning"}})).decision,
            Decision::kNew);
  // Severity info does not match the target matchers.
  EXPECT_EQ(
      h.Feed(Alert(5 * kS, {{"alertname", "Info"}, {"node", "n1"}, {"severity", "info"}})).decision,
      Decision::kGrouped);
  // Once the source resolves, the target is no longer inhibited.
  h.Feed(
      Alert(6 * kS, {{"alertname", "NodeDown"}, {"node", "n1"}, {"severity", "critical"}}, true));
  Decided freed = h.Feed(Alert(
      7 * kS, {{"alertname", "PodDown"}, {"node", "n1"}, {"pod", "p"}, {"severity", "warning"}}));
  EXPECT_NE(freed.decision, Decision::kInhibited);
}

TEST(EngineTest, ASourceThatFiresAfterItsTargetsGroupedStillMutesThemAtNotifyTime) {
  Harness h(R"(
inhibit:
  - name: node-down
    source: ['alertname="NodeDown"']
    target: ['severity="warning"']
    equal: [node]
correlate:
  - name: pods
    match: ['alertname="PodDown"']
    group_by: [node]
  - name: nodes
    group_by: [node]
page: {when: [['severity=~"critical|warning"']]}
)");
  Decided pod =
      h.Feed(Alert(0, {{"alertname", "PodDown"}, {"node", "n1"}, {"severity", "warning"}}));
  EXPECT_EQ(pod.decision, Decision::kNew);  // no source yet
  Decided node =
      h.Feed(Alert(10 * kS, {{"alertname", "NodeDown"}, {"node", "n1"}, {"severity", "critical"}}));
  EXPECT_NE(node.incident, pod.incident);
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);  // only the node pages
  EXPECT_EQ(h.sink.sent[0].incident, node.incident);
  Decided repeat =
      h.Feed(Alert(2 * kM, {{"alertname", "PodDown"}, {"node", "n1"}, {"severity", "warning"}}));
  EXPECT_EQ(repeat.decision, Decision::kInhibited);
  EXPECT_EQ(repeat.rule, "node-down");
}

TEST(EngineTest, MissingEqualLabelsCountAsEmptyOnBothSides) {
  Harness h(R"(
inhibit:
  - source: ['alertname="ClusterDown"']
    target: ['alertname="ServiceDown"']
    equal: [zone]
correlate:
  - name: r
)");
  h.Feed(Alert(0, {{"alertname", "ClusterDown"}}));
  EXPECT_EQ(h.Feed(Alert(kS, {{"alertname", "ServiceDown"}})).decision, Decision::kInhibited);
  EXPECT_NE(h.Feed(Alert(kS, {{"alertname", "ServiceDown"}, {"zone", "a"}})).decision,
            Decision::kInhibited);
}

TEST(EngineTest, SilencesMuteInsideTheirWindowOnly) {
  Harness h(R"(
silences:
  - name: maintenance
    matchers: ['service="search"']
    starts: 2026-11-23T01:00:00Z
    ends: 2026-11-23T02:00:00Z
correlate:
  - name: r
    group_by: [alertname]
)");
  EXPECT_EQ(h.Feed(Alert(30 * kM, {{"alertname", "A"}, {"service", "search"}})).decision,
            Decision::kNew);
  Decided muted = h.Feed(Alert(70 * kM, {{"alertname", "B"}, {"service", "search"}}));
  EXPECT_EQ(muted.decision, Decision::kSilenced);
  EXPECT_EQ(muted.rule, "maintenance");
  EXPECT_EQ(h.Feed(Alert(121 * kM, {{"alertname", "C"}, {"service", "search"}})).decision,
            Decision::kNew);
}

TEST(EngineTest, RecurringTimeIntervalsMuteSilencesAndRules) {
  Harness h(R"(
time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: "00:00", end_time: "06:00"}]
silences:
  - name: batch-at-night
    matchers: ['job="batch"']
    time_intervals: [nights]
correlate:
  - name: r
    group_by: [alertname]
)");
  // kT0 is midnight UTC.
  EXPECT_EQ(h.Feed(Alert(60 * kM, {{"alertname", "A"}, {"job", "batch"}})).decision,
            Decision::kSilenced);
  EXPECT_EQ(h.Feed(Alert(7 * 60 * kM, {{"alertname", "B"}, {"job", "batch"}})).decision,
            Decision::kNew);
}

TEST(EngineTest, APagedIncidentGetsItsResolveEvenWhenItsMembersAreLaterSilenced) {
  Harness h(R"(
silences:
  - matchers: ['service="api"']
    starts: 2026-11-23T00:05:00Z
correlate:
  - name: r
    group_by: [service]
    close_after: 5m
page: {when: [['severity="critical"']]}
)");
  auto labels = Labels{{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}};
  h.Feed(Alert(0, labels));
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  h.Feed(Alert(10 * kM, labels, true));
  h.AdvanceTo(30 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].action, NotifyAction::kResolve);
}

TEST(EngineTest, DropRulesAndMissingRoutesAreExplained) {
  Harness h(R"(
drop:
  - name: heartbeat
    matchers: ['alertname="Watchdog"']
correlate:
  - name: only-prod
    match: ['env="prod"']
)");
  Decided d = h.Feed(Alert(0, {{"alertname", "Watchdog"}}));
  EXPECT_EQ(d.decision, Decision::kDropped);
  EXPECT_EQ(d.rule, "heartbeat");
  Decided none = h.Feed(Alert(0, {{"alertname", "X"}, {"env", "dev"}}));
  EXPECT_EQ(none.decision, Decision::kDropped);
  EXPECT_EQ(none.rule, "correlate");
}

// Drop rules see a log line's template, as every matcher does (and as `noisegate decode`
// shows it): ids masked, so one rule drops every line of one message shape.
TEST(EngineTest, ADropRuleMatchesALogLinesTemplate) {
  Harness h(R"(
drop:
  - name: retries
    matchers: ['template=~"retrying request <hex>.*"']
correlate:
  - name: all
)");
  Decided d = h.Feed(Log(0, "api", "retrying request 9f8e7d6c5b4a after 30ms"));
  EXPECT_EQ(d.decision, Decision::kDropped);
  EXPECT_EQ(d.rule, "retries");
  EXPECT_NE(h.Feed(Log(kS, "api", "timeout after 30ms")).decision, Decision::kDropped);
}

TEST(EngineTest, ADropRuleNeverSwallowsTheResolveOfAFiringAlert) {
  Harness h(R"(
inputs:
  - topic: alerts
    format: alertmanager
    fingerprint: [alertname]
drop:
  - matchers: ['severity="info"']
correlate:
  - name: r
    group_by: [alertname]
)");
  Record open = Alert(0, {{"alertname", "Mem"}, {"severity", "warning"}});
  open.input = 0;
  Decided o = h.Feed(open);
  // The source lowers the severity on recovery (as Datadog's "success" does).
  Record recovered = Alert(kM, {{"alertname", "Mem"}, {"severity", "info"}}, true);
  recovered.input = 0;
  Decided r = h.Feed(recovered);
  EXPECT_EQ(r.decision, Decision::kResolved);
  EXPECT_EQ(r.incident, o.incident);
  // A firing info alert is still dropped.
  Record info = Alert(2 * kM, {{"alertname", "Other"}, {"severity", "info"}});
  info.input = 0;
  EXPECT_EQ(h.Feed(info).decision, Decision::kDropped);
}

TEST(EngineTest, AnErrorThatSharesATraceWithAnIncidentJoinsIt) {
  Harness h(kTopology);
  Decided surge;
  for (int i = 0; i < 6; ++i) {
    Record l = Log(i * 100, "checkout", "upstream payments returned 503");
    l.trace_id = "trace-" + std::to_string(i);
    surge = h.Feed(l);
  }
  ASSERT_FALSE(surge.incident.empty());
  // One error in another service, far below any surge, on a request already failing.
  Record other = Log(kS, "search", "index shard unavailable");
  other.trace_id = "trace-4";
  Decided joined = h.Feed(other);
  EXPECT_EQ(joined.decision, Decision::kGrouped);
  EXPECT_EQ(joined.rule, "trace");
  EXPECT_EQ(joined.incident, surge.incident);
  Record unrelated = Log(kS, "search", "index shard unavailable");
  unrelated.trace_id = "trace-99";
  EXPECT_EQ(h.Feed(unrelated).decision, Decision::kBelowThreshold);
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  ASSERT_FALSE(h.sink.sent[0].evidence.empty());
  EXPECT_EQ(h.sink.sent[0].evidence[0], "trace trace-4 ties search errors to this incident");
}

TEST(EngineTest, ANewVersionJustBeforeASurgeIsNamedAsEvidence) {
  Harness h(kTopology);
  auto line = [](int64_t t, const std::string& version, const std::string& msg) {
    Record r = Log(t, "checkout", msg);
    r.labels.Add("version", version);  // replaces any version: the last one added wins
    r.labels.Canonicalize();
    return r;
  };
  h.Feed(line(0, "1.0", "steady noise"));  // the version running when the engine started
  h.Feed(line(10 * kM, "1.1", "steady noise"));
  Decided d;
  for (int i = 0; i < 6; ++i)
    d = h.Feed(line(10 * kM + 40 * kS + i, "1.1", "NullPointerException"));
  ASSERT_FALSE(d.incident.empty());
  h.AdvanceTo(12 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  ASSERT_EQ(h.sink.sent[0].evidence.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].evidence[0],
            "deploy: checkout 1.1 first seen 2026-11-23T00:10:00.000Z, 40s before its errors "
            "surged");
}

TEST(EngineTest, AnIncidentSilentAtGroupWaitPagesWhenItFiresAgain) {
  Harness h(kBase);
  auto labels = Labels{{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}};
  Decided open = h.Feed(Alert(0, labels));
  h.Feed(Alert(10 * kS, labels, true));  // a blip: nothing is sent at group_wait
  h.AdvanceTo(kM);
  ASSERT_TRUE(h.sink.sent.empty());
  Decided again = h.Feed(Alert(2 * kM, labels));  // fires again before the incident closed
  EXPECT_EQ(again.incident, open.incident);
  h.AdvanceTo(2 * kM + 1);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].action, NotifyAction::kTrigger);
  EXPECT_EQ(h.sink.sent[0].reason, "open");
  EXPECT_EQ(h.sink.sent[0].at, 2 * kM);
}

TEST(EngineTest, AFlappingAlertThatStaysFiringIsReleasedWhenStable) {
  Harness h(WithFlapping(3));
  auto labels = Labels{{"alertname", "Flappy"}, {"service", "api"}, {"severity", "critical"}};
  h.Feed(Alert(0, labels));
  h.Feed(Alert(10 * kS, labels, true));
  EXPECT_EQ(h.Feed(Alert(20 * kS, labels)).decision, Decision::kFlapping);  // 3 changes
  // No more records: Alertmanager re-sends an unchanged group only every few hours. The
  // first incident was a blip (resolved before group_wait) and closes; once stable (at
  // 10m20s) the held alert opens a new incident and pages after group_wait.
  h.AdvanceTo(11 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].action, NotifyAction::kTrigger);
  EXPECT_EQ(h.sink.sent[0].at, 10 * kM + 50 * kS);
}

TEST(EngineTest, FlappingEndsEvenWhenTheLastChangeWasAResolve) {
  Harness h(WithFlapping(4));
  auto labels = Labels{{"alertname", "Flappy"}, {"service", "api"}, {"severity", "warning"}};
  for (int i = 0; i < 4; ++i) h.Feed(Alert(i * kM, labels, i % 2 == 1));
  EXPECT_EQ(h.Feed(Alert(4 * kM, labels)).decision, Decision::kFlapping);
  h.Feed(Alert(5 * kM, labels, true));
  EXPECT_NE(h.Feed(Alert(3 * 60 * kM, labels)).decision, Decision::kFlapping);
}

TEST(EngineTest, FlappingIsStillDetectedAfterManyOldChanges) {
  Harness h(WithFlapping(4));
  auto labels = Labels{{"alertname", "Daily"}, {"service", "api"}, {"severity", "warning"}};
  int64_t t = 0;
  for (int i = 0; i < 20; ++i, t += 12 * 60 * kM) h.Feed(Alert(t, labels, i % 2 == 1));
  // Now it really flaps: four changes within minutes.
  for (int i = 0; i < 4; ++i) h.Feed(Alert(t + i * kM, labels, i % 2 == 1));
  EXPECT_EQ(h.Feed(Alert(t + 5 * kM, labels)).decision, Decision::kFlapping);
}

TEST(EngineTest, InhibitedMembersAloneDoNotMakeAnIncidentPage) {
  Harness h(R"(
inhibit:
  - source: ['alertname="NodeDown"']
    target: ['severity="warning"']
    equal: [node]
correlate:
  - name: r
    group_by: [node]
page: {when: [['severity=~"critical|warning"']]}
)");
  h.Feed(Alert(0, {{"alertname", "NodeDown"}, {"node", "n1"}, {"severity", "critical"}}));
  EXPECT_EQ(
      h.Feed(Alert(2 * kS, {{"alertname", "PodDown"}, {"node", "n1"}, {"severity", "warning"}}))
          .decision,
      Decision::kInhibited);
  h.Feed(
      Alert(10 * kS, {{"alertname", "NodeDown"}, {"node", "n1"}, {"severity", "critical"}}, true));
  h.AdvanceTo(kM);
  EXPECT_TRUE(h.sink.sent.empty());
}

TEST(EngineTest, SameInputGivesIdenticalOutput) {
  auto run = [] {
    Harness h(kTopology);
    for (int i = 0; i < 200; ++i) {
      h.Feed(Alert(i * 7 * kS,
                   {{"alertname", "A" + std::to_string(i % 7)},
                    {"service", i % 3 ? "checkout" : "search"},
                    {"severity", i % 5 ? "warning" : "critical"}},
                   i % 4 == 3));
      h.Feed(Log(i * 7 * kS + 1, i % 2 ? "checkout" : "payments", "boom " + std::to_string(i)));
    }
    h.engine.Finish();
    std::string out;
    for (const auto& d : h.sink.decisions) {
      out += std::to_string(static_cast<int>(d.decision)) + d.incident + d.rule + "\n";
    }
    for (const auto& s : h.sink.sent) out += s.incident + s.reason + std::to_string(s.at) + "\n";
    return out;
  };
  std::string a = run(), b = run();
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace noisegate::dedup

// When a log signal surges, and when its surge ends: a baseline learned during warm-up, an end
// once the rate stays under the threshold for quiet_for (not only after silence), and a
// baseline that does not learn from the surge itself.
#include <gtest/gtest.h>

#include <string>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {
namespace {

std::string SurgeRules(const std::string& warmup) {
  return R"(
logs:
  surge: {min_count: 20, within: 1m, over_baseline: 5x, baseline_window: 1h, warmup: )" +
         warmup + R"(, quiet_for: 5m}
correlate:
  - name: r
    group_by: [service]
    group_wait: 30s
    close_after: 10m
page:
  when:
    - ['signal="log_surge"']
)";
}

Record ApiError(int64_t t) {
  return Log(t, "api", "timeout after " + std::to_string(t % 3000) + "ms");
}

// A steady benign error at 1/s (60 a minute, over min_count) from the start, with a warm-up
// of 10 minutes, much shorter than the hour of baseline_window: at the end of warm-up its
// baseline is its full rate (an average grown from zero would be 15 % of it and the error
// would surge right after warm-up). Ten times the rate is still a surge.
TEST(SurgeTest, ABaselineLearnedDuringAShortWarmupIsTheFullRate) {
  Harness h(SurgeRules("10m"));
  int64_t t = 0;
  for (; t < 3 * 60 * kM; t += kS) {
    Decided d = h.Feed(ApiError(t));
    ASSERT_EQ(d.decision, Decision::kBelowThreshold) << "at " << t / kS << " s";
  }
  Decided d;
  for (int i = 0; i < 600; ++i) d = h.Feed(ApiError(t + i * 100));
  EXPECT_EQ(d.decision, Decision::kDeduplicated);
  EXPECT_FALSE(d.incident.empty());
}

// An error first seen after warm-up is new: its baseline grows from zero over
// baseline_window, so it surges when it climbs to min_count even slowly.
TEST(SurgeTest, ANewErrorThatClimbsSlowlyStillSurges) {
  Harness h(SurgeRules("0s"));
  h.Feed(Log(0, "web", "warm-up over"));
  // 10 a minute for 20 minutes, then 30 a minute.
  int64_t t = kM;
  for (; t < 21 * kM; t += 6 * kS) {
    ASSERT_EQ(h.Feed(ApiError(t)).decision, Decision::kBelowThreshold) << "at " << t / kS;
  }
  Decided d;
  for (int i = 0; i < 30; ++i) d = h.Feed(ApiError(t + i * 2 * kS));
  EXPECT_NE(d.decision, Decision::kBelowThreshold);
  EXPECT_FALSE(d.incident.empty());
}

// A surge ends quiet_for after its rate was last at the threshold, although the error goes on
// at a trickle: the incident resolves and the trickle is below the threshold again instead of
// being folded into it for hours.
TEST(SurgeTest, ASurgeEndsWhenItsRateStaysUnderTheThresholdForQuietFor) {
  Harness h(SurgeRules("0s"));
  Decided burst;
  for (int i = 0; i < 60; ++i) burst = h.Feed(ApiError(i * 500));  // 2/s for 30 s
  ASSERT_FALSE(burst.incident.empty());
  const int64_t last_above = 59 * 500;
  // Then, once the burst has left the 1-minute window, one line every 20 s (3 a minute,
  // under min_count 20) for an hour.
  Decided d;
  int64_t t = 2 * kM;
  for (; t < last_above + 5 * kM; t += 20 * kS) {
    d = h.Feed(ApiError(t));
    ASSERT_EQ(d.incident, burst.incident) << "at " << t / kS << " s: still part of the surge";
  }
  for (; t < 60 * kM; t += 20 * kS) {
    d = h.Feed(ApiError(t));
    ASSERT_EQ(d.decision, Decision::kBelowThreshold) << "at " << t / kS << " s";
  }
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[0].action, NotifyAction::kTrigger);
  EXPECT_EQ(h.sink.sent[1].action, NotifyAction::kResolve);
  EXPECT_EQ(h.sink.sent[1].at, last_above + 5 * kM + 10 * kM);  // quiet_for, then close_after
}

// An outage that goes on at a high rate for two hours stays one surge: the baseline does not
// learn from the surge, so the rate never falls under five times it.
TEST(SurgeTest, ALongSurgeDoesNotBecomeItsOwnBaseline) {
  Harness h(SurgeRules("10m"));
  int64_t t = 0;
  for (; t < 30 * kM; t += 10 * kS) h.Feed(ApiError(t));  // 6 a minute: the known rate
  Decided first;
  for (; t < 30 * kM + 2 * 60 * kM; t += kS) {  // 60 a minute for two hours
    Decided d = h.Feed(ApiError(t));
    if (first.incident.empty()) first = d;
    ASSERT_EQ(d.incident, first.incident) << "at " << t / kS << " s";
  }
  ASSERT_FALSE(first.incident.empty());
  h.AdvanceTo(t + kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);  // the trigger, no resolve while it lasts
  EXPECT_EQ(h.sink.sent[0].action, NotifyAction::kTrigger);
}

// A surge that stops dead leaves its lines in the window when it ends: the baseline must not
// learn them when the error comes back, or the next surge of the same size would not count.
TEST(SurgeTest, ASurgeThatStopsDeadTeachesTheBaselineNothing) {
  Harness h(SurgeRules("10m"));
  int64_t t = 0;
  for (; t < 30 * kM; t += 10 * kS) h.Feed(ApiError(t));  // 6 a minute: the known rate
  Decided first;
  for (int i = 0; i < 1200; ++i) first = h.Feed(ApiError(t + i * 100));  // 600 a minute, 2 min
  ASSERT_FALSE(first.incident.empty());
  t += 10 * kM;  // silence: the surge ends (quiet_for 5m) and its incident closes
  for (const int64_t end = t + 10 * kM; t < end; t += 10 * kS) {
    ASSERT_EQ(h.Feed(ApiError(t)).decision, Decision::kBelowThreshold) << "at " << t / kS;
  }
  Decided again;
  for (int i = 0; i < 60; ++i) again = h.Feed(ApiError(t + i * kS));  // 60 a minute
  EXPECT_NE(again.decision, Decision::kBelowThreshold);
  EXPECT_FALSE(again.incident.empty());
}

// An order id that is sometimes all digits, sometimes hex: one signal, so its lines surge
// together rather than split under the threshold.
TEST(SurgeTest, OneSlotOfIdsIsOneSignal) {
  Harness h(SurgeRules("0s"));
  Decided a = h.Feed(Log(0, "api", "payment failed for order 45888872"));
  Decided b = h.Feed(Log(kS, "api", "payment failed for order b33df7e3"));
  Decided c = h.Feed(Log(2 * kS, "api", "payment failed for order bceaedbb"));
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.fingerprint, c.fingerprint);
}

// template: omit: a signal is its fingerprint labels alone, however the messages name the
// entity that failed: ten tables failing at 3 a minute each are one surge of 30.
TEST(SurgeTest, WithTheTemplateOmittedOneExceptionTypeIsOneSignal) {
  std::string rules = SurgeRules("0s");
  rules.replace(rules.find("logs:\n"), 6, "logs:\n  template: omit\n");
  Harness h(rules);
  const char* tables[] = {"carts", "txns",  "users",  "orders", "items",
                          "skus",  "stock", "prices", "tax",    "refunds"};
  Decided d;
  for (int i = 0; i < 30; ++i) {
    Record r = Log(i * 2 * kS, "api", std::string("failed to query ") + tables[i % 10]);
    r.labels.Add("error_type", "SQLException");
    r.labels.Canonicalize();
    d = h.Feed(r);
  }
  EXPECT_EQ(d.decision, Decision::kDeduplicated);
  EXPECT_FALSE(d.incident.empty());

  Harness split(SurgeRules("0s"));  // with the template in the key: ten signals of 3
  for (int i = 0; i < 30; ++i) {
    d = split.Feed(Log(i * 2 * kS, "api", std::string("failed to query ") + tables[i % 10]));
  }
  EXPECT_EQ(d.decision, Decision::kBelowThreshold);
}

// A staging burst of a service's error is its own signal: production's lines of the same
// error are not folded into it, and do not surge by its count.
TEST(SurgeTest, StagingAndProductionLinesAreTwoSignals) {
  Harness h(SurgeRules("0s"));
  auto line = [](int64_t t, const char* ns) {
    Record r = ApiError(t);
    r.labels.Add("namespace", ns);
    r.labels.Canonicalize();
    return r;
  };
  Decided staging;
  for (int i = 0; i < 100; ++i) staging = h.Feed(line(i * 300, "staging"));
  ASSERT_FALSE(staging.incident.empty());
  Decided prod = h.Feed(line(30 * kS, "prod"));
  EXPECT_EQ(prod.decision, Decision::kBelowThreshold);
  EXPECT_NE(prod.fingerprint, staging.fingerprint);
}

// Changing what keys a log signal (here logs.fingerprint) makes every line reach a new signal
// with no baseline. A restore under such rules learns again for warm-up first, so a steady
// error does not page at once; after that a real surge still does.
TEST(SurgeTest, ANewLogIdentityLearnsAgainBeforeItSurges) {
  std::string state;
  int64_t t = 0;
  {
    Harness h(SurgeRules("10m"));
    for (; t < 60 * kM; t += kS) h.Feed(ApiError(t));
    h.engine.SaveState(&state);
  }
  std::string keyed_by_service = SurgeRules("10m");
  keyed_by_service.replace(keyed_by_service.find("logs:\n"), 6,
                           "logs:\n  fingerprint: [service, level]\n");
  Harness h(keyed_by_service);
  ASSERT_TRUE(h.engine.LoadState(state));
  for (; t < 2 * 60 * kM; t += kS) {
    Decided d = h.Feed(ApiError(t));
    ASSERT_EQ(d.decision, Decision::kBelowThreshold) << "at " << t / kS << " s";
  }
  Decided d;
  for (int i = 0; i < 600; ++i) d = h.Feed(ApiError(t + i * 100));
  EXPECT_EQ(d.decision, Decision::kDeduplicated);

  // Restored under the same rules, nothing is learned again: the state goes on as it was.
  std::string again;
  h.engine.SaveState(&again);
  Harness same(keyed_by_service);
  ASSERT_TRUE(same.engine.LoadState(again));
  EXPECT_EQ(same.Feed(ApiError(t + 60 * kS)).incident, d.incident);
}

}  // namespace
}  // namespace noisegate::dedup::testing

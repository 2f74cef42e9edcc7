// Evidence that ties a signal to an incident whose impacted services it does not overlap.
// caller_hops: a member on a component the signal's own calls, at most that many hops down. A
// web frontend (user-facing) calls a login service (user-facing) over a database: the
// database's failure impacts login only, but web's errors are the same outage.
// join_named: a member on the component the signal's message names, or whose own message
// names it. Two user-facing services blame one database in their stack traces' `Caused by:`.
#include <gtest/gtest.h>

#include <string>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {
namespace {

std::string TopologyRules(int hops) {
  return R"(
topology:
  services:
    web: {user_facing: true, depends_on: [login, search]}
    login: {user_facing: true, depends_on: [db]}
    search: {user_facing: true, depends_on: [index]}
    db: {}
    index: {}
correlate:
  - name: impact
    group_by: [impacted_service]
    group_wait: 30s
    caller_hops: )" +
         std::to_string(hops) + R"(
page:
  when:
    - ['severity="critical"']
)";
}

Record Down(int64_t t, const std::string& service) {
  return Alert(t, {{"alertname", "Down"}, {"service", service}, {"severity", "critical"}});
}
Record Errors(int64_t t, const std::string& service) {
  return Alert(t, {{"alertname", "HighErrorRate"}, {"service", service}, {"severity", "warning"}});
}

TEST(CorrelateTiesTest, ACallersErrorsJoinTheIncidentOfWhatItCalls) {
  Harness h(TopologyRules(1));
  Decided db = h.Feed(Down(0, "db"));                // impacts login
  Decided login = h.Feed(Errors(10 * kS, "login"));  // impacts login: overlaps
  Decided web = h.Feed(Errors(20 * kS, "web"));      // impacts web; web calls login
  EXPECT_EQ(login.incident, db.incident);
  EXPECT_EQ(web.incident, db.incident);
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].members, 3u);
  EXPECT_EQ(h.sink.sent[0].evidence,
            std::vector<std::string>{"topology: web calls login (caller_hops: 1)"});
}

TEST(CorrelateTiesTest, WithoutItTheCallerOpensAnIncidentOfItsOwn) {
  Harness h(TopologyRules(0));
  Decided db = h.Feed(Down(0, "db"));
  Decided login = h.Feed(Errors(10 * kS, "login"));
  Decided web = h.Feed(Errors(20 * kS, "web"));
  EXPECT_EQ(login.incident, db.incident);
  EXPECT_NE(web.incident, db.incident);
}

TEST(CorrelateTiesTest, OnlyFiringMembersTie) {
  Harness h(TopologyRules(1));
  Decided login = h.Feed(Errors(0, "login"));
  h.Feed(Alert(60 * kS,
               {{"alertname", "HighErrorRate"}, {"service", "login"}, {"severity", "warning"}},
               /*resolved=*/true));
  // login's incident waits out close_after: web's errors are another problem.
  Decided web = h.Feed(Errors(2 * kM, "web"));
  EXPECT_NE(web.incident, login.incident);
}

TEST(CorrelateTiesTest, OnlyCallersWithinTheHopsJoinAndNeverCallees) {
  Harness h(TopologyRules(1));
  // web calls db two hops down: with only db's alert in the incident, web's errors stay apart.
  Decided db = h.Feed(Down(0, "db"));
  Decided web = h.Feed(Errors(20 * kS, "web"));
  EXPECT_NE(web.incident, db.incident);
  // search is called by web, not a caller of it: a hub's incident does not take in every
  // failure below it.
  Decided search = h.Feed(Errors(30 * kS, "search"));
  EXPECT_NE(search.incident, web.incident);
  EXPECT_NE(search.incident, db.incident);
  // Two hops reach db from web.
  Harness two(TopologyRules(2));
  Decided db2 = two.Feed(Down(0, "db"));
  Decided web2 = two.Feed(Errors(20 * kS, "web"));
  EXPECT_EQ(web2.incident, db2.incident);
  two.AdvanceTo(kM);
  ASSERT_EQ(two.sink.sent.size(), 1u);
  EXPECT_EQ(two.sink.sent[0].evidence,
            std::vector<std::string>{"topology: web calls db (caller_hops: 2)"});
}

std::string NamedRules(bool join_named) {
  return R"(
topology:
  services:
    profile-api: {user_facing: true, depends_on: [users-db]}
    checkout-api: {user_facing: true, depends_on: [payments-api]}
    payments-api: {}
    users-db: {}
logs:
  surge: {min_count: 5, within: 1m, over_baseline: 5x, baseline_window: 1h, warmup: 0s}
correlate:
  - name: impact
    group_by: [impacted_service]
    group_wait: 30s
    join_named: )" +
         std::string(join_named ? "true" : "false") + R"(
page:
  when:
    - ['impacted_user_facing="true"', 'signal="log_surge"']
)";
}

// Six error lines of `service` a second apart from `t`, naming users-db in their stack trace
// only; the decision of the one that surges.
Decided Blame(Harness& h, int64_t t, const std::string& service, const std::string& message) {
  Record r = Log(t, service, message);
  r.description = message +
                  "\n\tat com.example.Repo.load\nCaused by: org.postgresql.util.PSQLException: "
                  "FATAL: terminating connection due to administrator command (users-db:5432)";
  return FeedUntilSurged(h, r);
}

TEST(CorrelateTiesTest, ServicesWhoseErrorsNameOneDatabaseShareAnIncident) {
  Harness h(NamedRules(true));
  Decided profile = Blame(h, 0, "profile-api", "ProfileRepository.load failed for user 42");
  Decided checkout = Blame(h, 10 * kS, "checkout-api", "account lookup failed for order 7");
  EXPECT_EQ(profile.decision, Decision::kNew);
  EXPECT_EQ(checkout.decision, Decision::kGrouped);
  EXPECT_EQ(checkout.incident, profile.incident);
  h.AdvanceTo(2 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[0].evidence,
            std::vector<std::string>{"named: checkout-api's errors name users-db (join_named)"});
}

TEST(CorrelateTiesTest, WithoutJoinNamedTheyPageApart) {
  Harness h(NamedRules(false));
  Decided profile = Blame(h, 0, "profile-api", "ProfileRepository.load failed for user 42");
  Decided checkout = Blame(h, 10 * kS, "checkout-api", "account lookup failed for order 7");
  EXPECT_EQ(checkout.decision, Decision::kNew);
  EXPECT_NE(checkout.incident, profile.incident);
  h.AdvanceTo(2 * kM);
  EXPECT_EQ(h.sink.sent.size(), 2u);
}

TEST(CorrelateTiesTest, AnAlertOnTheNamedComponentTakesTheErrorsThatNameIt) {
  // users-db impacts profile-api; checkout-api's errors name users-db, which its topology
  // does not say it calls.
  Harness h(NamedRules(true));
  Decided db = h.Feed(
      Alert(0, {{"alertname", "PostgresDown"}, {"service", "users-db"}, {"severity", "critical"}}));
  Decided checkout = Blame(h, 10 * kS, "checkout-api", "account lookup failed for order 7");
  EXPECT_EQ(checkout.incident, db.incident);
}

TEST(CorrelateTiesTest, TheyNeedImpactedServiceInGroupBy) {
  rules::LoadResult r = rules::LoadRulesString(R"(
correlate:
  - name: impact
    group_by: [cluster]
    caller_hops: 1
)",
                                               "test.yaml");
  ASSERT_EQ(r.rules, nullptr);
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "test.yaml:5:18: correlate[0].caller_hops: caller_hops joins a signal to an incident "
            "whose impacted services it does not overlap: it needs impacted_service in group_by");
  r = rules::LoadRulesString(R"(
correlate:
  - name: impact
    group_by: [impacted_service]
    caller_hops: 4
)",
                             "test.yaml");
  ASSERT_EQ(r.rules, nullptr);
  EXPECT_NE(r.diagnostics[0].ToString().find("test.yaml:5:18: correlate[0].caller_hops"),
            std::string::npos)
      << r.diagnostics[0].ToString();
  r = rules::LoadRulesString(R"(
correlate:
  - name: impact
    join_named: true
)",
                             "test.yaml");
  ASSERT_EQ(r.rules, nullptr);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "test.yaml:4:17: correlate[0].join_named: join_named joins a signal to an incident "
            "whose impacted services it does not overlap: it needs impacted_service in group_by");
}

}  // namespace
}  // namespace noisegate::dedup::testing

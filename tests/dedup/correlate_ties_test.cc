// caller_hops: a signal whose impacted services overlap no incident's still joins an incident
// with a member on a component its own calls, at most that many hops down. A web frontend
// (user-facing) calls a login service (user-facing) over a database: the database's failure
// impacts login only, but web's errors are the same outage.
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

TEST(CallerHopsTest, ACallersErrorsJoinTheIncidentOfWhatItCalls) {
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

TEST(CallerHopsTest, WithoutItTheCallerOpensAnIncidentOfItsOwn) {
  Harness h(TopologyRules(0));
  Decided db = h.Feed(Down(0, "db"));
  Decided login = h.Feed(Errors(10 * kS, "login"));
  Decided web = h.Feed(Errors(20 * kS, "web"));
  EXPECT_EQ(login.incident, db.incident);
  EXPECT_NE(web.incident, db.incident);
}

TEST(CallerHopsTest, OnlyCallersWithinTheHopsJoinAndNeverCallees) {
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

TEST(CallerHopsTest, ItNeedsImpactedServiceInGroupBy) {
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
}

}  // namespace
}  // namespace noisegate::dedup::testing

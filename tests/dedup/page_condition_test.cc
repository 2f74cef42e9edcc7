// page.when entries met by several members together: every clause of `all`, within a span;
// at least min_members members or min_components components. Clause bits survive a restore
// and are dropped when page.when changes.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dedup/page_policy.h"
#include "tests/dedup/engine_test_util.h"
#include "tests/dedup/page_condition_rules.h"

namespace noisegate::dedup::testing {
namespace {

// The first clause's member joins under kSymptomAndCause; the engine is checkpointed and
// restored under `when`.
std::unique_ptr<Harness> RestoredAfterDbDown(const std::string& when) {
  Harness first(ConditionRules(kSymptomAndCause));
  first.Feed(DbDown(0));
  first.AdvanceTo(kM);
  std::string state;
  first.engine.SaveState(&state);
  auto second = std::make_unique<Harness>(ConditionRules(when));
  EXPECT_TRUE(second->engine.LoadState(state));
  return second;
}

TEST(PageConditionTest, AllClausesWithinTheSpanPageAtOnce) {
  Harness h(ConditionRules(kSymptomAndCause));
  Decided a = h.Feed(DbDown(0));
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);  // the critical alert alone
  Decided b = h.Feed(Burn(4 * kM));
  EXPECT_EQ(b.incident, a.incident);
  h.AdvanceTo(4 * kM + 1);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[1].reason, "escalation");
  EXPECT_EQ(h.sink.sent[1].at, 4 * kM);
}

TEST(PageConditionTest, ClausesMetFurtherApartThanWithinDoNotPage) {
  Harness h(ConditionRules(kSymptomAndCause));
  Decided a = h.Feed(DbDown(0));
  Decided b = h.Feed(Burn(6 * kM));
  EXPECT_EQ(b.incident, a.incident);
  h.AdvanceTo(9 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);
  // A second critical alert within 5 minutes of the burn completes the entry.
  h.Feed(
      Alert(10 * kM, {{"alertname", "CacheDown"}, {"service", "cache"}, {"severity", "critical"}}));
  h.AdvanceTo(20 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[1].at, 10 * kM);
}

TEST(PageConditionTest, MinComponentsCountsDistinctComponentsNotMembers) {
  Harness h(ConditionRules(R"(
    - {match: ['severity="warning"'], min_components: 2}
)"));
  auto warn = [](int64_t t, const std::string& name, const std::string& service) {
    return Alert(t, {{"alertname", name}, {"service", service}, {"severity", "warning"}});
  };
  h.Feed(warn(0, "DbSlow", "db"));
  h.Feed(warn(kS, "DbConnections", "db"));
  h.AdvanceTo(2 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);  // two members, one component
  h.Feed(warn(3 * kM, "CacheEvictions", "cache"));
  h.AdvanceTo(3 * kM + 1);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
}

TEST(PageConditionTest, MinMembersWaitsForThatManyMembers) {
  Harness h(ConditionRules(R"(
    - {match: ['alertname="PodCrashLooping"'], min_members: 3}
)"));
  auto crash = [](int64_t t, int pod) {
    return Alert(t, {{"alertname", "PodCrashLooping"},
                     {"service", "web"},
                     {"pod", "web-" + std::to_string(pod)},
                     {"severity", "critical"}});
  };
  h.Feed(crash(0, 1));
  h.Feed(crash(kS, 2));
  h.AdvanceTo(kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);
  h.Feed(crash(2 * kM, 3));
  h.AdvanceTo(2 * kM + 1);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
}

// web alone, a Maintenance alert on a service inhibiting `target` there, and page.when `when`
// (entries as YAML list items indented by four spaces).
std::string MaintenanceRules(const std::string& target, const std::string& when) {
  return R"(
topology:
  services:
    web: {user_facing: true}
inhibit:
  - source: ['alertname="Maintenance"']
    target: ['alertname=")" +
         target + R"("']
    equal: [service]
correlate:
  - name: impact
    group_by: [impacted_service]
    group_wait: 30s
page:
  when:
)" + when;
}

TEST(PageConditionTest, InhibitedMembersDoNotCount) {
  Harness h(MaintenanceRules("PodCrashLooping", R"(
    - {match: ['alertname="PodCrashLooping"'], min_members: 2}
)"));
  h.Feed(Alert(0, {{"alertname", "Maintenance"}, {"service", "web"}, {"severity", "info"}}));
  for (int pod = 0; pod < 3; ++pod) {
    h.Feed(Alert(kS, {{"alertname", "PodCrashLooping"},
                      {"service", "web"},
                      {"pod", std::to_string(pod)},
                      {"severity", "critical"}}));
  }
  // A member that is not inhibited joins: the route is computed again, without the muted.
  h.Feed(Alert(2 * kS, {{"alertname", "Other"}, {"service", "web"}, {"severity", "warning"}}));
  h.AdvanceTo(10 * kM);
  ASSERT_FALSE(h.sink.sent.empty());
  for (const Sent& s : h.sink.sent) EXPECT_NE(s.route, rules::Action::kPage);
}

// The first clause's member joins, the engine is checkpointed and restored, the second
// arrives: under the same rules the restored member still counts; under another page.when
// its clause bits mean nothing and are dropped, so the entry needs a new critical alert.
TEST(PageConditionTest, ClauseBitsSurviveARestoreAndResetWhenPageWhenChanges) {
  for (bool change : {false, true}) {
    SCOPED_TRACE(change ? "page.when changed" : "same rules");
    std::string when = kSymptomAndCause;
    // (An entry before it moves its clauses' bits; a new span would not.)
    if (change) when = "\n    - ['alertname=\"Unrelated\"']" + when;
    auto restored = RestoredAfterDbDown(when);
    Harness& second = *restored;
    second.Feed(Burn(3 * kM));
    second.AdvanceTo(3 * kM + 1);
    ASSERT_EQ(second.sink.sent.size(), change ? 0u : 1u);
    if (!change) {
      EXPECT_EQ(second.sink.sent[0].route, rules::Action::kPage);
      continue;
    }
    second.Feed(Alert(
        4 * kM, {{"alertname", "CacheDown"}, {"service", "cache"}, {"severity", "critical"}}));
    second.AdvanceTo(4 * kM + 1);
    ASSERT_EQ(second.sink.sent.size(), 1u);
    EXPECT_EQ(second.sink.sent[0].route, rules::Action::kPage);
  }
}

// Tuning a condition's counts or span keeps what the members matched.
TEST(PageConditionTest, TuningWithinKeepsTheClauseBits) {
  std::string when = kSymptomAndCause;
  when.replace(when.find("within: 5m"), 10, "within: 6m");
  auto restored = RestoredAfterDbDown(when);
  Harness& second = *restored;
  second.Feed(Burn(5 * kM + 30 * kS));  // within 6m, not 5m
  second.AdvanceTo(6 * kM);
  ASSERT_EQ(second.sink.sent.size(), 1u);
  EXPECT_EQ(second.sink.sent[0].route, rules::Action::kPage);
}

// An incident that a condition paged keeps paging after page.when changes, although its
// members' bits are gone: a member that joins later recomputes the route.
TEST(PageConditionTest, AnIncidentAConditionPagedKeepsPagingUnderAnotherPageWhen) {
  const std::string two = R"(
    - {match: ['severity="warning"'], min_components: 2}
)";
  auto warn = [](int64_t t, const std::string& name, const std::string& service,
                 const std::string& severity = "warning") {
    return Alert(t, {{"alertname", name}, {"service", service}, {"severity", severity}});
  };
  Harness first(ConditionRules(two));
  first.Feed(warn(0, "DbSlow", "db"));
  first.Feed(warn(kS, "CacheSlow", "cache"));
  first.AdvanceTo(kM);
  ASSERT_EQ(first.sink.sent.size(), 1u);
  ASSERT_EQ(first.sink.sent[0].route, rules::Action::kPage);
  std::string state;
  first.engine.SaveState(&state);
  Harness second(ConditionRules("\n    - ['alertname=\"Unrelated\"']" + two));
  ASSERT_TRUE(second.engine.LoadState(state));
  second.Feed(warn(2 * kM, "WebInfo", "web", "info"));
  second.AdvanceTo(6 * 3600 * kS);
  for (const Sent& s : second.sink.sent) EXPECT_EQ(s.route, rules::Action::kPage);
  ASSERT_FALSE(second.sink.sent.empty());
}

// A member that paged alone keeps paging after page.when changes (its bit is gone, what it
// did is not).
TEST(PageConditionTest, AMemberThatPagedAloneStillPagesUnderAnotherPageWhen) {
  Harness first(ConditionRules(R"(
    - ['severity="critical"']
)"));
  first.Feed(DbDown(0));
  first.AdvanceTo(kM);
  ASSERT_EQ(first.sink.sent.size(), 1u);
  ASSERT_EQ(first.sink.sent[0].route, rules::Action::kPage);
  std::string state;
  first.engine.SaveState(&state);
  Harness second(ConditionRules(kSymptomAndCause));
  ASSERT_TRUE(second.engine.LoadState(state));
  // A warning joins: the incident is recomputed and stays a page (no second trigger).
  second.Feed(
      Alert(2 * kM, {{"alertname", "CacheSlow"}, {"service", "cache"}, {"severity", "warning"}}));
  second.AdvanceTo(3 * kM);
  for (const Sent& s : second.sink.sent) EXPECT_EQ(s.route, rules::Action::kPage);
}

// What the report says of an incident that did not page: how far it got.
TEST(PageConditionTest, TheShortfallSaysHowFarTheMembersGot) {
  auto rules = Rules(R"(
page:
  when:
    - ['severity="critical"']
    - {match: ['severity="warning"'], min_members: 2, min_components: 3}
    - all:
        - match: ['alertname="Burn"']
        - match: ['severity="warning"']
      within: 5m
correlate:
  - name: all
)");
  const rules::PageRule& page = rules->page;
  auto member = [](uint32_t clauses, int component, int64_t first_seen) {
    Member m;
    m.clauses = clauses;
    m.component = component;
    m.first_seen = EventTime{kT0 + first_seen};
    return m;
  };
  // Bits: 0 critical; 1 warning (entry 1); 2 Burn, 3 warning (entry 2).
  const EventTime now{kT0 + 20 * kM};
  std::vector<Member> members;
  members.push_back(member(0b1010, 4, 0));
  EXPECT_EQ(MetPageCondition(page, members, now), -1);
  EXPECT_EQ(PageShortfall(page, 0, members, now), "");  // nobody counts toward it
  EXPECT_EQ(PageShortfall(page, 1, members, now), "1 of 2 members, 1 of 3 components");
  EXPECT_EQ(PageShortfall(page, 2, members, now), "clause 1: 0 of 1 member");
  members.push_back(member(0b0100, -1, 10 * kM));  // a Burn, ten minutes later
  EXPECT_EQ(MetPageCondition(page, members, now), -1);
  EXPECT_EQ(PageShortfall(page, 2, members, now),
            "its members meet every clause, but not within 5m of one another");
  members.push_back(member(0b1010, 5, 12 * kM));
  EXPECT_EQ(MetPageCondition(page, members, now), 2);
  members.back().inhibited = true;
  EXPECT_EQ(MetPageCondition(page, members, now), -1);
  members.back().inhibited = false;
  members.push_back(member(0b1010, 6, 13 * kM));
  EXPECT_EQ(MetPageCondition(page, members, now), 1);  // the first entry met, in rule order
  members.push_back(member(0b0001, 7, 14 * kM));
  EXPECT_EQ(MetPageCondition(page, members, now), 0);
}

// A critical alert pages once it has fired for 5 minutes without a break; until then the
// incident is a ticket.
const std::string kFiringFor5m = R"(
    - {match: ['severity="critical"'], firing_for: 5m}
)";

Record Critical(int64_t t, bool resolved = false) {
  return Alert(t, {{"alertname", "DbDown"}, {"service", "db"}, {"severity", "critical"}}, resolved);
}

TEST(PageConditionTest, FiringForPagesWhenTheMemberHasFiredThatLongWithNoRecordArriving) {
  Harness h(ConditionRules(kFiringFor5m));
  h.Feed(Critical(0));
  h.AdvanceTo(4 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);  // at group_wait, not yet 5m
  EXPECT_EQ(h.sink.sent[0].at, 30 * kS);
  // Nothing arrives: time alone makes it page, at the minute it is due.
  h.AdvanceTo(20 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[1].reason, "escalation");
  EXPECT_EQ(h.sink.sent[1].at, 5 * kM);
}

TEST(PageConditionTest, FiringForIsMetBeforeGroupWaitPagesAtGroupWait) {
  Harness h(ConditionRules(R"(
    - {match: ['severity="critical"'], firing_for: 10s}
)"));
  h.Feed(Critical(0));
  h.AdvanceTo(5 * kM);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[0].reason, "open");
  EXPECT_EQ(h.sink.sent[0].at, 30 * kS);
}

// A flapper with critical severity: each episode is shorter than firing_for, so it never pages
// (its incident is a ticket), though it has fired for longer than that in all.
TEST(PageConditionTest, AFlapperWhoseEpisodesAreShorterThanFiringForNeverPages) {
  Harness h(ConditionRules(kFiringFor5m));
  for (int64_t episode = 0; episode < 6; ++episode) {
    const int64_t start = episode * 7 * kM;
    h.Feed(Critical(start));
    h.Feed(Critical(start + 2 * kM));
    h.Feed(Critical(start + 4 * kM, /*resolved=*/true));
  }
  h.AdvanceTo(60 * kM);
  ASSERT_FALSE(h.sink.sent.empty());
  for (const Sent& s : h.sink.sent) EXPECT_NE(s.route, rules::Action::kPage) << s.at;
  // The episode that lasts pages 5 minutes after it began.
  h.Feed(Critical(60 * kM));
  h.AdvanceTo(70 * kM);
  ASSERT_EQ(h.sink.sent.back().route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent.back().at, 65 * kM);
}

// When a member last began firing is state: after a checkpoint, the clock of firing_for runs
// from the re-fire, not from the member's first episode.
TEST(PageConditionTest, FiringForCountsFromTheLatestRefireAcrossARestore) {
  Harness first(ConditionRules(kFiringFor5m));
  first.Feed(Critical(0));
  first.Feed(Critical(2 * kM, /*resolved=*/true));
  first.Feed(Critical(3 * kM));
  first.AdvanceTo(4 * kM);
  std::string state;
  first.engine.SaveState(&state);
  Harness second(ConditionRules(kFiringFor5m));
  ASSERT_TRUE(second.engine.LoadState(state));
  // A new member makes the engine look again at when the incident may come to page.
  EXPECT_EQ(second.Feed(Burn(4 * kM + 30 * kS)).incident, first.sink.decisions.front().incident);
  second.AdvanceTo(7 * kM);
  for (const Sent& s : second.sink.sent) EXPECT_NE(s.route, rules::Action::kPage) << s.at;
  second.AdvanceTo(20 * kM);
  ASSERT_FALSE(second.sink.sent.empty());
  EXPECT_EQ(second.sink.sent.back().route, rules::Action::kPage);
  EXPECT_EQ(second.sink.sent.back().at, 8 * kM);
}

// An incident that paged keeps paging: its firing_for member resolving and firing again does
// not make it a ticket, nor page it a second time when it has fired that long again.
TEST(PageConditionTest, AnIncidentThatPagedOnFiringForKeepsPagingWhenItsMemberRefires) {
  Harness h(ConditionRules(kFiringFor5m));
  h.Feed(Critical(0));
  h.AdvanceTo(5 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  ASSERT_EQ(h.sink.sent[1].route, rules::Action::kPage);
  h.Feed(Critical(6 * kM, /*resolved=*/true));
  h.Feed(Critical(7 * kM));
  h.Feed(Burn(8 * kM));  // a new member: the route is computed again
  h.Feed(
      Alert(9 * kM, {{"alertname", "CacheDown"}, {"service", "cache"}, {"severity", "critical"}}));
  h.AdvanceTo(30 * kM);
  for (size_t i = 2; i < h.sink.sent.size(); ++i) {
    EXPECT_NE(h.sink.sent[i].action, NotifyAction::kTrigger)
        << h.sink.sent[i].reason << " at " << h.sink.sent[i].at;
  }
}

// Nor does muting a member that never counted: a later inhibition of another member (checked
// when the incident notifies, here at its repeat) leaves the page a page.
TEST(PageConditionTest, APageHeldSinceItsFiringForMemberResolvedSurvivesAnUnrelatedInhibition) {
  Harness h(MaintenanceRules("WebSlow", R"(
    - {match: ['alertname="WebDown"'], firing_for: 5m}
)"));
  auto web = [](int64_t t, const char* name, const char* severity, bool resolved = false) {
    return Alert(t, {{"alertname", name}, {"service", "web"}, {"severity", severity}}, resolved);
  };
  h.Feed(web(0, "WebDown", "critical"));
  h.AdvanceTo(5 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  ASSERT_EQ(h.sink.sent[1].route, rules::Action::kPage);
  h.Feed(web(6 * kM, "WebDown", "critical", /*resolved=*/true));
  h.Feed(web(6 * kM + 30 * kS, "WebSlow", "warning"));
  h.Feed(web(7 * kM, "Maintenance", "info"));  // mutes WebSlow when the incident next notifies
  for (int64_t t = 8 * kM; t < 5 * 60 * kM; t += kM) {
    h.Feed(web(t, "WebSlow", "warning"));
    h.Feed(web(t, "Maintenance", "info"));
  }
  h.Feed(web(4 * 60 * kM + 10 * kM, "WebDown", "critical"));  // fires again, for long enough
  h.AdvanceTo(5 * 60 * kM);
  ASSERT_GT(h.sink.sent.size(), 2u);  // (the repeat at 4h)
  for (size_t i = 2; i < h.sink.sent.size(); ++i) {
    if (h.sink.sent[i].action != NotifyAction::kTrigger) continue;
    EXPECT_EQ(h.sink.sent[i].route, rules::Action::kPage) << h.sink.sent[i].at;
    EXPECT_NE(h.sink.sent[i].reason, "escalation") << h.sink.sent[i].at;
  }
}

// A reload that shortens firing_for: an incident waiting for the old one pages at the new
// time, or at once when the new one is met already, with no record arriving.
TEST(PageConditionTest, AReloadThatShortensFiringForPagesAtTheNewTime) {
  for (auto [shorter, want] : {std::pair<std::string, int64_t>{"5m", 5 * kM}, {"3m", 4 * kM}}) {
    SCOPED_TRACE("firing_for " + shorter);
    Harness first(ConditionRules(R"(
    - {match: ['severity="critical"'], firing_for: 10m}
)"));
    first.Feed(Critical(0));
    first.AdvanceTo(4 * kM);
    std::string state;
    first.engine.SaveState(&state);
    Harness second(ConditionRules(
        "\n    - {match: ['severity=\"critical\"'], firing_for: " + shorter + "}\n"));
    ASSERT_TRUE(second.engine.LoadState(state));
    second.AdvanceTo(20 * kM);
    ASSERT_FALSE(second.sink.sent.empty());
    EXPECT_EQ(second.sink.sent[0].route, rules::Action::kPage);
    EXPECT_EQ(second.sink.sent[0].at, want);
  }
}

// Replay's end of input sends what group_wait holds back at its due time, routed as at that
// time: a firing_for met by then pages.
TEST(PageConditionTest, TheEndOfInputRoutesAtTheTimeItSends) {
  Harness h(ConditionRules(R"(
    - {match: ['severity="critical"'], firing_for: 10s}
)"));
  h.Feed(Critical(0));
  h.engine.Finish();
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].at, 30 * kS);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kPage);
}

// An alert that kept firing while inhibited has fired all along: when its inhibitor goes, its
// firing_for counts from when it began, not from then.
TEST(PageConditionTest, FiringForOfAnAlertReleasedByItsInhibitorCountsFromItsStart) {
  Harness h(MaintenanceRules("WebDown", R"(
    - {match: ['alertname="WebDown"'], firing_for: 5m}
)"));
  auto web_down = [](int64_t t) {
    return Alert(t, {{"alertname", "WebDown"}, {"service", "web"}, {"severity", "critical"}});
  };
  h.Feed(Alert(0, {{"alertname", "Maintenance"}, {"service", "web"}, {"severity", "info"}}));
  h.Feed(web_down(kS));
  h.Feed(Alert(3 * kM, {{"alertname", "Maintenance"}, {"service", "web"}, {"severity", "info"}},
               /*resolved=*/true));
  h.Feed(web_down(4 * kM));  // still firing, and no longer inhibited
  h.AdvanceTo(20 * kM);
  const Sent* page = nullptr;
  for (const Sent& s : h.sink.sent) {
    if (s.route == rules::Action::kPage && s.action == NotifyAction::kTrigger && !page) page = &s;
  }
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->at, 5 * kM + kS);
}

TEST(PageConditionTest, FiringForWithOtherClausesCountsOnlyMembersFiringThatLong) {
  // A critical alert firing for 2 minutes and web's error budget burning, within 5 minutes.
  Harness h(ConditionRules(R"(
    - all:
        - {match: ['severity="critical"'], firing_for: 2m}
        - match: ['alertname="ErrorBudgetBurn"']
      within: 5m
)"));
  h.Feed(DbDown(0));
  h.Feed(Burn(30 * kS));
  h.AdvanceTo(90 * kS);
  ASSERT_EQ(h.sink.sent.size(), 1u);
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kTicket);
  h.AdvanceTo(10 * kM);
  ASSERT_EQ(h.sink.sent.size(), 2u);
  EXPECT_EQ(h.sink.sent[1].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent[1].at, 2 * kM);
}

TEST(PageConditionTest, TheShortfallOfFiringForSaysHowLongItWaits) {
  auto rules = Rules(R"(
page:
  when:
    - {match: ['severity="critical"'], firing_for: 5m}
correlate:
  - name: all
)");
  Member m;
  m.clauses = 1;
  m.firing = true;
  m.first_seen = m.firing_since = EventTime{kT0};
  std::vector<Member> members;
  members.push_back(std::move(m));
  EXPECT_EQ(MetPageCondition(rules->page, members, EventTime{kT0 + 4 * kM}), -1);
  EXPECT_EQ(PageShortfall(rules->page, 0, members, EventTime{kT0 + 4 * kM}),
            "0 of 1 member firing for 5m");
  EXPECT_EQ(NextPageChange(rules->page, members, EventTime{kT0 + 4 * kM}), EventTime{kT0 + 5 * kM});
  EXPECT_EQ(MetPageCondition(rules->page, members, EventTime{kT0 + 5 * kM}), 0);
  members[0].firing = false;  // a resolved member waits for nothing
  EXPECT_EQ(NextPageChange(rules->page, members, EventTime{kT0 + 4 * kM}), kMaxTime);
  EXPECT_EQ(MetPageCondition(rules->page, members, EventTime{kT0 + 5 * kM}), -1);
  EXPECT_EQ(rules->page.when[0].ToString(), "{match: ['severity=\"critical\"'], firing_for: 5m}");
}

}  // namespace
}  // namespace noisegate::dedup::testing

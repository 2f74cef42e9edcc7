// Co-location (join_colocated): when a node is cut off, the services on it log errors about
// whatever they were talking to, a minute or two before the node's own alert arrives. Their
// impacted services do not overlap, so each would open an incident and page; the place ties
// them, and the node's alert joins them when it comes.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {
namespace {

std::string Rules(bool colocated, const std::string& within = "2m",
                  const std::string& node_rule_extra = "") {
  const std::string join =
      colocated ? "    join_colocated: {labels: [node], within: " + within + "}\n" : "";
  return R"(
topology:
  services:
    web: {user_facing: true, depends_on: [search]}
    profile: {user_facing: true, depends_on: [users-db]}
    search: {user_facing: true}
    users-db: {}
logs:
  surge: {min_count: 5, within: 1m, over_baseline: 5x, baseline_window: 1h, warmup: 0s}
inhibit:
  - source: ['alertname="NodeNotReady"']
    target: ['alertname="KubePodNotReady"']
    equal: [node]
correlate:
  - name: node-health
    match: ['alertname=~"Node.*"']
    group_by: [node]
    group_wait: 30s
)" + join +
         node_rule_extra +
         R"(  - name: impact
    group_by: [impacted_service]
    group_wait: 30s
)" + join +
         R"(page:
  when:
    - ['signal="log_surge"', 'impacted_user_facing="true"']
    - ['alertname="NodeNotReady"']
)";
}

// Six error lines of `service` on `node`, a second apart from `t`; the decision of the line
// that surged (the fifth).
Decided Surge(Harness& h, int64_t t, const std::string& service, const std::string& node) {
  Record r = Log(t, service, "upstream call timed out after 5000ms");
  r.labels.Add("node", node);
  r.labels.Canonicalize();
  return FeedUntilSurged(h, r);
}

Record NodeDown(int64_t t, const std::string& node) {
  return Alert(t, {{"alertname", "NodeNotReady"}, {"node", node}, {"severity", "critical"}});
}

std::set<std::string> Incidents(const CaptureSink& sink) {
  std::set<std::string> out;
  for (const Sent& s : sink.sent) out.insert(s.incident);
  return out;
}

// Restores `before`'s state into `after`: whole, or per entry (`before` tracks changes).
void Checkpoint(Harness& before, Harness& after, bool entries) {
  if (!entries) {
    std::string state;
    before.engine.SaveState(&state);
    ASSERT_TRUE(after.engine.LoadState(state));
    return;
  }
  std::map<uint32_t, std::string> fps, incidents;
  std::string globals;
  before.engine.SaveChanges(
      [&](Engine::EntryKind kind, uint32_t slot, std::string_view bytes) {
        (kind == Engine::EntryKind::kFingerprint ? fps : incidents)[slot] = bytes;
      },
      [](Engine::EntryKind, uint32_t) {}, &globals);
  Engine::Entries e;
  e.globals = globals;
  for (const auto& [slot, bytes] : fps) e.fingerprints.emplace_back(slot, bytes);
  for (const auto& [slot, bytes] : incidents) e.incidents.emplace_back(slot, bytes);
  ASSERT_TRUE(after.engine.LoadEntries(e));
}

TEST(ColocatedTest, ServicesFailingTogetherOnANodeShareAnIncidentAndItsAlertJoinsThem) {
  Harness h(Rules(true));
  Decided web = Surge(h, 0, "web", "node-1");                // surges at 4s
  Decided profile = Surge(h, 20 * kS, "profile", "node-1");  // at 24s: impacts profile only
  Decided node = h.Feed(NodeDown(90 * kS, "node-1"));        // node-health's signal
  Decided pod = h.Feed(Alert(100 * kS, {{"alertname", "KubePodNotReady"},
                                        {"node", "node-1"},
                                        {"service", "web"},
                                        {"severity", "warning"}}));
  EXPECT_EQ(web.decision, Decision::kNew);
  EXPECT_EQ(profile.decision, Decision::kGrouped);
  EXPECT_EQ(profile.incident, web.incident);
  EXPECT_EQ(node.decision, Decision::kGrouped);
  EXPECT_EQ(node.rule, "node-health");
  EXPECT_EQ(node.incident, web.incident);
  EXPECT_EQ(pod.decision, Decision::kInhibited);
  EXPECT_EQ(pod.incident, web.incident);
  h.AdvanceTo(10 * kM);
  EXPECT_EQ(Incidents(h.sink), std::set<std::string>{web.incident});
  ASSERT_FALSE(h.sink.sent.empty());
  EXPECT_EQ(h.sink.sent[0].route, rules::Action::kPage);
  EXPECT_EQ(h.sink.sent.back().evidence,
            (std::vector<std::string>{
                R"(place: profile began 20s after web on node="node-1" (join_colocated))",
                R"(place: NodeNotReady began 86s after web on node="node-1" (join_colocated))"}));
}

TEST(ColocatedTest, WithoutItEachPagesApart) {
  Harness h(Rules(false));
  Decided web = Surge(h, 0, "web", "node-1");
  Decided profile = Surge(h, 20 * kS, "profile", "node-1");
  Decided node = h.Feed(NodeDown(90 * kS, "node-1"));
  EXPECT_NE(profile.incident, web.incident);
  EXPECT_NE(node.incident, web.incident);
  EXPECT_NE(node.incident, profile.incident);
  h.AdvanceTo(10 * kM);
  EXPECT_EQ(Incidents(h.sink).size(), 3u);
}

TEST(ColocatedTest, OtherPlacesAndLaterSignalsStayApart) {
  Harness h(Rules(true));
  Decided web = Surge(h, 0, "web", "node-1");
  // Another node: another place.
  Decided profile = Surge(h, 20 * kS, "profile", "node-2");
  EXPECT_EQ(profile.decision, Decision::kNew);
  EXPECT_NE(profile.incident, web.incident);
  // web began at 4s on node-1: a node alert 2m1s later is past `within`.
  Decided node = h.Feed(NodeDown(125 * kS, "node-1"));
  EXPECT_EQ(node.decision, Decision::kNew);
  EXPECT_NE(node.incident, web.incident);
  // A longer window takes it.
  Harness wide(Rules(true, "3m"));
  Decided web2 = Surge(wide, 0, "web", "node-1");
  EXPECT_EQ(wide.Feed(NodeDown(125 * kS, "node-1")).incident, web2.incident);
}

TEST(ColocatedTest, TheNodeAlertFirstTakesTheServicesThatFailThere) {
  Harness h(Rules(true));
  Decided node = h.Feed(NodeDown(0, "node-1"));
  Decided web = Surge(h, 10 * kS, "web", "node-1");
  Decided profile = Surge(h, 20 * kS, "profile", "node-1");
  EXPECT_EQ(web.incident, node.incident);
  EXPECT_EQ(profile.incident, node.incident);
  h.AdvanceTo(10 * kM);
  EXPECT_EQ(Incidents(h.sink), std::set<std::string>{node.incident});
}

// Once the node's alert took web's errors, web's later signals are the node incident's own:
// a second error of web, after `within`, joins it by overlap instead of paging again. And
// the group keys go away with the incident.
TEST(ColocatedTest, LaterSignalsOfAJoinedGroupJoinAsTheirOwn) {
  Harness h(Rules(true));
  Decided node = h.Feed(NodeDown(0, "node-1"));
  Decided web = Surge(h, 10 * kS, "web", "node-1");
  ASSERT_EQ(web.incident, node.incident);
  EXPECT_EQ(h.engine.state_sizes().groups, 2u);  // node-health's node-1, and impact's
  Record later = Log(5 * kM, "web", "session store unreachable");
  later.labels.Add("node", "node-1");
  later.labels.Canonicalize();
  Decided second = FeedUntilSurged(h, later);
  EXPECT_EQ(second.decision, Decision::kGrouped);
  EXPECT_EQ(second.incident, node.incident);
  h.Feed(Alert(6 * kM,
               {{"alertname", "NodeNotReady"}, {"node", "node-1"}, {"severity", "critical"}},
               /*resolved=*/true));
  h.AdvanceTo(3 * 3600 * kS);
  EXPECT_EQ(Incidents(h.sink), std::set<std::string>{node.incident});
  EXPECT_EQ(h.engine.state_sizes().incidents, 0u);
  EXPECT_EQ(h.engine.state_sizes().groups, 0u);
}

// Once a signal of a rule joined another rule's incident by co-location, that incident is in
// the rule's group: its members tie the rule's later signals as any of its own would (web
// calls search, whose errors joined the node's incident).
TEST(ColocatedTest, AnIncidentAGroupJoinedTiesThatGroupsLaterSignals) {
  std::string yaml = Rules(true);
  const std::string at = "  - name: impact\n    group_by: [impacted_service]\n";
  yaml.insert(yaml.find(at) + at.size(), "    caller_hops: 1\n");
  Harness h(yaml);
  Decided node = h.Feed(NodeDown(0, "node-1"));
  Decided search = Surge(h, 10 * kS, "search", "node-1");
  Decided web = Surge(h, 60 * kS, "web", "node-2");
  EXPECT_EQ(search.incident, node.incident);
  EXPECT_EQ(web.incident, node.incident);
  EXPECT_EQ(web.decision, Decision::kGrouped);
}

// max_members is the incident's rule's, not that of the signal that joined it.
TEST(ColocatedTest, AJoinedIncidentKeepsItsOwnMemberLimit) {
  Harness h(Rules(true, "2m", "    max_members: 1\n"));
  Decided web = Surge(h, 0, "web", "node-1");
  Decided node = h.Feed(NodeDown(10 * kS, "node-1"));
  Decided profile = Surge(h, 20 * kS, "profile", "node-1");
  EXPECT_EQ(node.incident, web.incident);
  EXPECT_EQ(profile.incident, web.incident);
}

// The places an incident noted are in its checkpoint, whole and per entry: a node alert after
// a restart still joins.
TEST(ColocatedTest, PlacesSurviveACheckpoint) {
  for (bool entries : {false, true}) {
    SCOPED_TRACE(entries ? "entries" : "whole state");
    Harness before(Rules(true));
    before.engine.TrackChanges(true);
    Decided web = Surge(before, 0, "web", "node-1");
    Harness after(Rules(true));
    ASSERT_NO_FATAL_FAILURE(Checkpoint(before, after, entries));
    EXPECT_EQ(after.Feed(NodeDown(90 * kS, "node-1")).incident, web.incident);
  }
}

// Where a signal began that joined because its errors blame a member (a victim of that
// incident) is no evidence that its node is part of it: the node's alert opens its own
// incident, also after a checkpoint (Member::blames is in it, whole and per entry).
TEST(ColocatedTest, WhereAVictimBeganIsNoEvidenceOfThePlaceAcrossACheckpoint) {
  std::string rules = Rules(true);
  const std::string impact = "  - name: impact\n";
  rules.insert(rules.find(impact) + impact.size(), "    join_named: true\n");
  for (int mode : {0, 1, 2}) {
    SCOPED_TRACE(mode == 0 ? "no checkpoint" : mode == 1 ? "whole state" : "entries");
    Harness before(rules);
    before.engine.TrackChanges(true);
    Decided search = Surge(before, 0, "search", "node-2");
    Record blame = Log(20 * kS, "web", "search returned 503 for request 42");
    blame.labels.Add("node", "node-1");
    blame.labels.Canonicalize();
    ASSERT_EQ(FeedUntilSurged(before, blame).incident, search.incident);
    Harness after(rules);
    Harness* h = &before;
    if (mode != 0) {
      ASSERT_NO_FATAL_FAILURE(Checkpoint(before, after, /*entries=*/mode == 2));
      h = &after;
    }
    Decided node = h->Feed(NodeDown(60 * kS, "node-1"));
    EXPECT_EQ(node.decision, Decision::kNew);
    EXPECT_NE(node.incident, search.incident);
  }
}

// A zone cut off: web and profile run on two nodes of zone a, and node-5 there runs neither.
// Their lines and node-5's alert carry only the node; the inventory says where the nodes lie.
TEST(ColocatedTest, TheInventoryTiesSignalsOfOneZoneThatCarryOnlyTheirNode) {
  auto rules = [](bool inventory) {
    std::string yaml = Rules(true);
    const std::string by_node = "join_colocated: {labels: [node], within: 2m}";
    for (size_t at = yaml.find(by_node); at != std::string::npos; at = yaml.find(by_node, at)) {
      yaml.replace(at, by_node.size(), "join_colocated: {labels: [node, zone], within: 2m}");
    }
    if (inventory) {
      yaml.replace(yaml.find("topology:\n"), 10, R"(topology:
  places:
    node:
      node-1: {zone: a}
      node-2: {zone: a}
      node-5: {zone: a}
      node-9: {zone: b}
)");
    }
    return yaml;
  };
  for (bool inventory : {true, false}) {
    SCOPED_TRACE(inventory ? "with the inventory" : "without it");
    Harness h(rules(inventory));
    Decided web = Surge(h, 0, "web", "node-1");
    Decided profile = Surge(h, 20 * kS, "profile", "node-2");
    Decided node = h.Feed(NodeDown(90 * kS, "node-5"));
    Decided elsewhere = h.Feed(NodeDown(95 * kS, "node-9"));  // another zone
    EXPECT_NE(elsewhere.incident, web.incident);
    h.AdvanceTo(10 * kM);
    if (!inventory) {
      EXPECT_EQ(Incidents(h.sink).size(), 4u);
      continue;
    }
    EXPECT_EQ(profile.incident, web.incident);
    EXPECT_EQ(node.incident, web.incident);
    EXPECT_EQ(Incidents(h.sink).size(), 2u);
    const Sent* last = nullptr;
    for (const Sent& sent : h.sink.sent) {
      if (sent.incident == web.incident) last = &sent;
    }
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->evidence,
              (std::vector<std::string>{
                  R"(place: profile began 20s after web on zone="a" (join_colocated))",
                  R"(place: NodeNotReady began 86s after web on zone="a" (join_colocated))"}));
  }
}

TEST(ColocatedTest, BadSettingsNameTheirPlace) {
  auto error = [](const std::string& setting) {
    rules::LoadResult r = rules::LoadRulesString(R"(
correlate:
  - name: impact
    join_colocated: )" + setting + "\n",
                                                 "test.yaml");
    EXPECT_EQ(r.rules, nullptr) << setting;
    return r.diagnostics.empty() ? std::string() : r.diagnostics[0].ToString();
  };
  EXPECT_EQ(error("{labels: []}"),
            "test.yaml:4:30: correlate[0].join_colocated.labels: expected at least one label "
            "that names a place (node, zone, cluster)");
  EXPECT_EQ(error("{labels: [node], within: 0s}"),
            "test.yaml:4:46: correlate[0].join_colocated.within: must be longer than 0, like 30s");
  EXPECT_NE(error("{lables: [node]}").find("test.yaml:4:"), std::string::npos)
      << error("{lables: [node]}");
  EXPECT_NE(error("[node]").find("test.yaml:4:21: correlate[0].join_colocated"), std::string::npos)
      << error("[node]");
}

}  // namespace
}  // namespace noisegate::dedup::testing

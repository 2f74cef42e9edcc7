// State across rule changes: an engine restored under other rules keeps what the rules still
// name (by input topic, correlate rule name, topology node name, inhibit rule content), closes
// with a resolve what they no longer name, and keeps every dedup_key.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/dedup/varied_stream.h"

namespace noisegate::dedup::testing {
namespace {

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// Runs `stream[0, cut)` under `before`, restores the state under `after`, runs the rest and
// moves time on; returns what the second engine emitted (and the first, via `first_sink`).
// Event time moves on to `first_until` (relative to kT0) before the state is saved.
std::vector<std::string> RunAcross(const std::string& before, const std::string& after,
                                   const std::vector<Record>& stream, size_t cut, CaptureSink* sink,
                                   Engine** second_out = nullptr, int64_t first_until = 0) {
  std::string state;
  static std::shared_ptr<const rules::CompiledRules> first_rules, second_rules;
  first_rules = Rules(before);
  second_rules = Rules(after);
  {
    sink->topology = &first_rules->topology;
    Engine first(first_rules, sink);
    for (size_t i = 0; i < cut; ++i) first.Process(stream[i]);
    if (first_until > 0) first.AdvanceWatermark(EventTime{kT0 + first_until});
    first.SaveState(&state);
  }
  static std::unique_ptr<Engine> second;
  sink->topology = &second_rules->topology;
  second = std::make_unique<Engine>(second_rules, sink);
  Status st = second->LoadState(state);
  EXPECT_TRUE(st) << st.error().detail;
  for (size_t i = cut; i < stream.size(); ++i) second->Process(stream[i]);
  second->AdvanceWatermark(EventTime{stream.back().time.ms + 3 * 3600 * kS});
  if (second_out) *second_out = second.get();
  return Lines(*sink);
}

TEST(RulesChange, ReorderingKeepsEveryDecisionAndDedupKey) {
  // Topology nodes, inputs and inhibit rules in another order (named, so the explain lines
  // name them the same): nothing the engine decides may change.
  const std::string before = std::string(kVariedRules) + R"(
inputs:
  - {topic: alerts, format: alertmanager}
  - {topic: logs, format: json_log}
)";
  std::string after = Replace(before, R"(    web: {user_facing: true, depends_on: [api]}
    api: {user_facing: true, depends_on: [db]})",
                              R"(    api: {user_facing: true, depends_on: [db]}
    web: {user_facing: true, depends_on: [api]})");
  after = Replace(after, R"(  - {topic: alerts, format: alertmanager}
  - {topic: logs, format: json_log})",
                  R"(  - {topic: logs, format: json_log}
  - {topic: alerts, format: alertmanager})");
  after = Replace(after, R"(inhibit:
  - source: ['alertname="NodeDown"'])",
                  R"(inhibit:
  - name: never
    source: ['alertname="Nothing"']
    target: ['alertname="Nothing"']
  - source: ['alertname="NodeDown"'])");
  std::vector<Record> stream = VariedStream();
  CaptureSink whole_sink;
  auto whole_rules = Rules(before);
  whole_sink.topology = &whole_rules->topology;
  {
    Engine whole(whole_rules, &whole_sink);
    for (const Record& r : stream) whole.Process(r);
    whole.AdvanceWatermark(EventTime{stream.back().time.ms + 3 * 3600 * kS});
  }
  // The unnamed inhibit rule moved from inhibit[0] to inhibit[1]: its explain name moves too.
  std::vector<std::string> want = Lines(whole_sink);
  for (size_t cut : {stream.size() / 4, stream.size() / 2}) {
    CaptureSink sink;
    std::vector<std::string> got = RunAcross(before, after, stream, cut, &sink);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      std::string w = want[i];
      if (i >= cut && w.find(" inhibit[0] ") != std::string::npos) {
        w = Replace(w, " inhibit[0] ", " inhibit[1] ");
      }
      ASSERT_EQ(got[i], w) << "cut at " << cut << ", line " << i;
    }
  }
}

TEST(RulesChange, RemovedRuleClosesItsIncidentsWithAResolve) {
  const std::string before = R"(
correlate:
  - name: db
    match: ['service="db"']
    group_by: [service]
    group_wait: 30s
  - name: rest
    group_by: [service]
    group_wait: 30s
page:
  when: [['severity="critical"']]
)";
  // "db" renamed (a rename is a removal and a new rule), "rest" moved first.
  const std::string after = R"(
correlate:
  - name: rest
    group_by: [service]
    group_wait: 30s
  - name: database
    match: ['service="db"']
    group_by: [service]
    group_wait: 30s
page:
  when: [['severity="critical"']]
)";
  Labels db{{"alertname", "DbDown"}, {"service", "db"}, {"severity", "critical"}};
  Labels web{{"alertname", "WebDown"}, {"service", "web"}, {"severity", "critical"}};
  std::vector<Record> stream = {Alert(0, db), Alert(kS, web), Alert(5 * kM, db),
                                Alert(5 * kM, web)};
  CaptureSink sink;
  Engine* second = nullptr;
  RunAcross(before, after, stream, 2, &sink, &second, /*first_until=*/kM);
  ASSERT_EQ(sink.sent.size(), 4u) << "two triggers before, a resolve and a trigger after";
  const Sent& db_page = sink.sent[0];
  const Sent& web_page = sink.sent[1];
  EXPECT_EQ(db_page.action, NotifyAction::kTrigger);
  EXPECT_EQ(web_page.action, NotifyAction::kTrigger);
  // The incident of the removed rule is resolved as soon as time moves on, stamped with the
  // event time of the change...
  EXPECT_EQ(sink.sent[2].action, NotifyAction::kResolve);
  EXPECT_EQ(sink.sent[2].incident, db_page.incident);
  EXPECT_EQ(sink.sent[2].at, kM);
  // ... and the database's next alert opens an incident under the new rule, which pages.
  EXPECT_EQ(sink.sent[3].action, NotifyAction::kTrigger);
  EXPECT_NE(sink.sent[3].incident, db_page.incident);
  // The kept rule's incident goes on under its dedup_key: the repeat was grouped into it.
  Decided last = sink.decisions.back();
  EXPECT_EQ(last.incident, web_page.incident);
  EXPECT_EQ(last.decision, Decision::kDeduplicated);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->stats().open_incidents, 2u);
}

TEST(RulesChange, NewFingerprintLabelsPageNoSecondTimeAndResolveOnce) {
  const std::string before = R"(
correlate:
  - name: all
    group_by: [alertname]
    group_wait: 30s
    close_after: 10m
page:
  when: [['severity="critical"']]
)";
  // The pod label no longer identifies the alert: it gets a new fingerprint.
  const std::string after = "dedup: {fingerprint: [alertname, severity]}\n" + before;
  Labels a{{"alertname", "Down"}, {"severity", "critical"}, {"pod", "p1"}};
  std::vector<Record> stream;
  for (int64_t t = 0; t <= 6 * 3600 * kS; t += 10 * kM) stream.push_back(Alert(t, a));
  stream.push_back(Alert(6 * 3600 * kS + kM, a, /*resolved=*/true));
  CaptureSink sink;
  RunAcross(before, after, stream, 3, &sink);
  int triggers = 0, resolves = 0;
  for (const Sent& n : sink.sent) {
    EXPECT_EQ(n.incident, sink.sent[0].incident) << "a second incident was notified";
    if (n.reason == "repeat") continue;  // repeat_interval (4h): the same page, again
    (n.action == NotifyAction::kTrigger ? triggers : resolves)++;
    if (n.action == NotifyAction::kResolve) EXPECT_GT(n.at, 6 * 3600 * kS);
  }
  EXPECT_EQ(triggers, 1);
  EXPECT_EQ(resolves, 1);
}

}  // namespace
}  // namespace noisegate::dedup::testing

// Events and explain lines shaped as interfaces.md says (checked by parsing them back with
// simdjson): what a page carries, names and links.
#include "processor/output/render.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "dedup/engine.h"
#include "rules/loader.h"

namespace noisegate::processor {
namespace {

class KeepSink : public dedup::Sink {
 public:
  explicit KeepSink(const rules::CompiledRules& r) : rules_(r) {}
  void OnDecision(const dedup::DecisionEvent& e) override {
    explain.clear();
    RenderExplain(e, &explain);
    readable.clear();
    RenderExplain(e, &readable, /*readable=*/true);
  }
  void OnNotification(const dedup::Notification& n) override {
    std::string s;
    RenderNotification(n, rules_, &s);
    events.push_back(s);
  }
  std::string explain, readable;
  std::vector<std::string> events;

 private:
  const rules::CompiledRules& rules_;
};

// A page names the page.when entry the incident meets; a ticket names none.
TEST(RenderTest, APageNamesThePageWhenEntryItMeets) {
  auto lr = rules::LoadRulesString(R"(
topology:
  services:
    web: {user_facing: true, depends_on: [db, cache]}
correlate:
  - name: impact
    group_by: [impacted_service]
page:
  when:
    - ['alertname="Never"']
    - {match: ['severity="warning"'], min_components: 2}
)",
                                   "r.yaml");
  ASSERT_TRUE(lr.rules);
  KeepSink sink(*lr.rules);
  dedup::Engine engine(lr.rules, &sink);
  auto warn = [](int64_t t, const char* name, const char* service) {
    Record r;
    r.addr = RecordAddress{"alerts", 0, t, 0};
    r.time = EventTime{1795392000000 + t};
    r.labels.Add("alertname", name);
    r.labels.Add("service", service);
    r.labels.Add("severity", "warning");
    r.labels.Canonicalize();
    return r;
  };
  engine.Process(warn(0, "DbSlow", "db"));
  engine.AdvanceWatermark(EventTime{1795392000000 + 60000});
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].find("page_when"), std::string::npos) << sink.events[0];
  engine.Process(warn(61000, "CacheSlow", "cache"));
  engine.AdvanceWatermark(EventTime{1795392000000 + 62000});
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_NE(
      sink.events[1].find(
          R"("route":"page","reason":"escalation","page_when":"{match: ['severity=\"warning\"'], min_components: 2}")"),
      std::string::npos)
      << sink.events[1];
}

// An alert's explain line carries the sender's own fingerprint, when it has one, so that it can
// be found in Alertmanager's UI.
TEST(RenderTest, AnExplainLineCarriesTheSendersFingerprint) {
  auto lr = rules::LoadRulesString("correlate:\n  - name: all\n", "r.yaml");
  ASSERT_TRUE(lr.rules);
  KeepSink sink(*lr.rules);
  dedup::Engine engine(lr.rules, &sink);
  Record r;
  r.addr = RecordAddress{"alerts", 0, 1, 0};
  r.time = EventTime{1795392000000};
  r.labels.Add("alertname", "DbDown");
  r.labels.Canonicalize();
  r.source_fingerprint = "5e2a1f8c3b7d9e04";
  engine.Process(r);
  EXPECT_NE(sink.explain.find(R"("rule":"all","source_fingerprint":"5e2a1f8c3b7d9e04"})"),
            std::string::npos)
      << sink.explain;
  r.addr.offset = 2;
  r.source_fingerprint.clear();
  engine.Process(r);
  EXPECT_EQ(sink.explain.find("source_fingerprint"), std::string::npos) << sink.explain;
}

TEST(RenderTest, EventsHaveThePagerDutyEventsV2ShapeOfInterfacesMd) {
  auto lr = rules::LoadRulesString(R"(
topology:
  services:
    checkout: {user_facing: true, depends_on: [db]}
correlate:
  - name: impact
    group_by: [impacted_service]
page: {when: [['severity="critical"']]}
)",
                                   "r.yaml");
  ASSERT_TRUE(lr.rules);
  KeepSink sink(*lr.rules);
  dedup::Engine engine(lr.rules, &sink);
  Record r;
  r.addr = RecordAddress{"alerts", 1, 7, 0};
  r.time = EventTime{1795392000000};
  r.labels.Add("alertname", "DbDown");
  r.labels.Add("service", "db");
  r.labels.Add("severity", "critical");
  r.labels.Canonicalize();
  r.summary = "db is down";
  r.link = "http://prom/graph";
  engine.Process(r);
  EXPECT_EQ(sink.explain.substr(0, sink.explain.find("\"fingerprint\"")),
            R"({"topic":"alerts","partition":1,"offset":7,"index":0,"ts":1795392000000,)");
  EXPECT_NE(sink.explain.find(R"("decision":"new","rule":"impact"})"), std::string::npos);
  // Readable: the same line, naming the signal and saying what it said.
  EXPECT_EQ(sink.readable, sink.explain.substr(0, sink.explain.size() - 1) +
                               R"(,"name":"DbDown","summary":"db is down"})");
  engine.AdvanceWatermark(EventTime{1795392000000 + 60000});
  ASSERT_EQ(sink.events.size(), 1u);

  simdjson::ondemand::parser parser;
  simdjson::padded_string json(sink.events[0]);
  auto doc = parser.iterate(json);
  std::string_view action, key, summary, source, severity, ts, incident, rule, impacted0, root0;
  ASSERT_EQ(doc["event_action"].get_string().get(action), simdjson::SUCCESS);
  EXPECT_EQ(action, "trigger");
  ASSERT_EQ(doc["dedup_key"].get_string().get(key), simdjson::SUCCESS);
  EXPECT_EQ(key.substr(0, 3), "ng-");
  EXPECT_EQ(key.size(), 19u);
  auto payload = doc["payload"];
  ASSERT_EQ(payload["summary"].get_string().get(summary), simdjson::SUCCESS);
  EXPECT_EQ(summary, "checkout: db is down");
  ASSERT_EQ(payload["source"].get_string().get(source), simdjson::SUCCESS);
  EXPECT_EQ(source, "db");
  ASSERT_EQ(payload["severity"].get_string().get(severity), simdjson::SUCCESS);
  EXPECT_EQ(severity, "critical");
  ASSERT_EQ(payload["timestamp"].get_string().get(ts), simdjson::SUCCESS);
  EXPECT_EQ(ts, "2026-11-23T00:00:30.000Z");
  auto details = payload["custom_details"];
  ASSERT_EQ(details["incident"].get_string().get(incident), simdjson::SUCCESS);
  EXPECT_EQ(incident, key);
  ASSERT_EQ(details["rule"].get_string().get(rule), simdjson::SUCCESS);
  EXPECT_EQ(rule, "impact");
  ASSERT_EQ(details["impacted_services"].at(0).get_string().get(impacted0), simdjson::SUCCESS);
  EXPECT_EQ(impacted0, "checkout");
  ASSERT_EQ(details["root_candidates"].at(0).get_string().get(root0), simdjson::SUCCESS);
  EXPECT_EQ(root0, "db");
  int64_t alerts = 0, fps = 0;
  ASSERT_EQ(details["counts"]["alerts"].get_int64().get(alerts), simdjson::SUCCESS);
  EXPECT_EQ(alerts, 1);
  ASSERT_EQ(details["counts"]["fingerprints"].get_int64().get(fps), simdjson::SUCCESS);
  EXPECT_EQ(fps, 1);
  std::string_view status;
  ASSERT_EQ(details["members"].at(0)["status"].get_string().get(status), simdjson::SUCCESS);
  EXPECT_EQ(status, "firing");
  std::string_view href;
  ASSERT_EQ(doc["links"].at(0)["href"].get_string().get(href), simdjson::SUCCESS);
  EXPECT_EQ(href, "http://prom/graph");
}

// A node cut off: two services on it fail together, then the node's alert joins them. The
// page names the place as its source and first root candidate, and the node's alert as its
// lead once it has come.
// An alert on `node` (of `service`, unless empty), `t` ms after 2026-11-23T00:00:00Z.
Record NodeAlert(int64_t t, std::string_view name, std::string_view service, std::string_view node,
                 std::string_view severity, std::string_view summary) {
  Record r;
  r.time = EventTime{1795392000000 + t};
  r.labels.Add("alertname", name);
  if (!service.empty()) r.labels.Add("service", service);
  r.labels.Add("node", node);
  r.labels.Add("severity", severity);
  r.labels.Canonicalize();
  r.summary = summary;
  return r;
}

TEST(RenderTest, APlaceThatTiedSignalsIsTheRootAndItsAlertLeads) {
  auto lr = rules::LoadRulesString(R"(
topology:
  services:
    web: {user_facing: true, depends_on: [search]}
    profile: {user_facing: true}
    search: {user_facing: true}
correlate:
  - name: node
    match: ['alertname="NodeNotReady"']
    group_by: [node]
    join_colocated: {labels: [node]}
  - name: impact
    group_by: [impacted_service]
    join_colocated: {labels: [node]}
page: {when: [['severity=~"critical|warning"']]}
)",
                                   "r.yaml");
  ASSERT_TRUE(lr.rules) << (lr.diagnostics.empty() ? "" : lr.diagnostics[0].ToString());
  KeepSink sink(*lr.rules);
  dedup::Engine engine(lr.rules, &sink);
  auto alert = [](int64_t t, std::string_view name, std::string_view service,
                  std::string_view severity, std::string_view summary) {
    return NodeAlert(t, name, service, "node-1", severity, summary);
  };
  engine.Process(alert(0, "Errors", "web", "warning", "web: search timed out"));
  engine.Process(alert(5000, "Errors", "profile", "warning", "profile: db timed out"));
  // A service the topology does not know is not the place's own alert.
  engine.Process(alert(6000, "Errors", "batch", "warning", "batch: queue timed out"));
  engine.AdvanceWatermark(EventTime{1795392000000 + 40000});
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_NE(
      sink.events[0].find(
          R"x("summary":"profile, web: web: search timed out (+2 more signals)","source":"node-1")x"),
      std::string::npos)
      << sink.events[0];
  EXPECT_NE(sink.events[0].find(R"("component":"node-1")"), std::string::npos) << sink.events[0];
  EXPECT_NE(sink.events[0].find(R"("root_candidates":["node=\"node-1\"","profile","web"])"),
            std::string::npos)
      << sink.events[0];
  engine.Process(alert(50000, "NodeNotReady", "", "critical", "Node node-1 is NotReady"));
  engine.AdvanceWatermark(EventTime{1795392000000 + 400000});
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_NE(sink.events[1].find(
                R"x("summary":"profile, web: Node node-1 is NotReady (+3 more signals)")x"),
            std::string::npos)
      << sink.events[1];
  EXPECT_NE(sink.events[1].find(R"("class":"NodeNotReady")"), std::string::npos) << sink.events[1];
}

// A zone cut off: web on node-1 fails, node-1's alert ties by node, node-2's (which runs no
// service; its alert carries no zone) by the zone the place inventory gives it. The zone holds
// the other tied place, node-1: it is the page's source and first root candidate.
TEST(RenderTest, APlaceThatHoldsAnotherTiedPlaceComesFirst) {
  auto lr = rules::LoadRulesString(R"(
topology:
  services:
    web: {user_facing: true}
  places:
    node:
      node-1: {zone: z-a}
      node-2: {zone: z-a}
correlate:
  - name: node
    match: ['alertname="NodeNotReady"']
    group_by: [node]
    join_colocated: {labels: [node, zone]}
  - name: impact
    group_by: [impacted_service]
    join_colocated: {labels: [node, zone]}
page: {when: [['severity=~"critical|warning"']]}
)",
                                   "r.yaml");
  ASSERT_TRUE(lr.rules) << (lr.diagnostics.empty() ? "" : lr.diagnostics[0].ToString());
  KeepSink sink(*lr.rules);
  dedup::Engine engine(lr.rules, &sink);
  auto alert = [](int64_t t, std::string_view name, std::string_view service,
                  std::string_view node) {
    return NodeAlert(t, name, service, node, "critical",
                     std::string(name) + " on " + std::string(node));
  };
  engine.Process(alert(0, "Errors", "web", "node-1"));
  engine.Process(alert(5000, "NodeNotReady", "", "node-1"));
  engine.Process(alert(6000, "NodeNotReady", "", "node-2"));
  engine.AdvanceWatermark(EventTime{1795392000000 + 40000});
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_NE(sink.events[0].find(R"("source":"z-a")"), std::string::npos) << sink.events[0];
  EXPECT_NE(sink.events[0].find(R"("root_candidates":["zone=\"z-a\"","node=\"node-1\"","web"])"),
            std::string::npos)
      << sink.events[0];
}

// A log line's readable explain names its template: the message with its entities masked,
// which is what its signal counts.
TEST(RenderTest, AReadableExplainLineOfALogNamesItsTemplate) {
  auto lr = rules::LoadRulesString("correlate: [{name: all}]\n", "r.yaml");
  ASSERT_TRUE(lr.rules);
  KeepSink sink(*lr.rules);
  dedup::Engine engine(lr.rules, &sink);
  Record r;
  r.kind = SignalKind::kLog;
  r.addr = RecordAddress{"logs", 0, 1, 0};
  r.time = EventTime{1795392000000};
  r.labels.Add("service", "api");
  r.labels.Add("level", "error");
  r.labels.Canonicalize();
  r.summary = "timeout after 3120ms calling 10.0.0.7";
  engine.Process(r);
  EXPECT_NE(sink.readable.find(R"("summary":"timeout after 3120ms calling 10.0.0.7"})"),
            std::string::npos)
      << sink.readable;
  EXPECT_NE(sink.readable.find(R"("name":"timeout after)"), std::string::npos) << sink.readable;
  EXPECT_EQ(sink.readable.find(R"("name":"timeout after 3120ms)"), std::string::npos)
      << sink.readable;
}

TEST(RenderTest, DeadLetterPayloadIsCutAt64KiB) {
  std::string big(200000, 'x');
  std::string out;
  RenderDeadLetter("t", 0, 1, 0, "too_large", "big", big, &out);
  EXPECT_LT(out.size(), 66000u);
  EXPECT_NE(out.find("\"reason\":\"too_large\""), std::string::npos);
}

// A page links the members' runbooks first (each once), then where they come from, and shows
// their graphs as PagerDuty images; a page with no graph has no `images` at all. The links
// survive a checkpoint of the incident.
TEST(RenderTest, APageLinksRunbooksFirstAndShowsGraphs) {
  auto lr = rules::LoadRulesString(R"(
correlate:
  - name: all
    group_by: [service]
page: {when: [['severity="critical"']]}
)",
                                   "r.yaml");
  ASSERT_TRUE(lr.rules);
  auto alert = [](int64_t t, std::string_view name) {
    Record r;
    r.addr = RecordAddress{"alerts", 0, t, 0};
    r.time = EventTime{1795392000000 + t};
    r.labels.Add("alertname", name);
    r.labels.Add("service", "db");
    r.labels.Add("severity", "critical");
    r.labels.Canonicalize();
    r.link = "http://prom/graph?" + std::string(name);
    return r;
  };
  KeepSink sink(*lr.rules);
  {
    dedup::Engine engine(lr.rules, &sink);
    Record plain = alert(0, "DbSlow");
    engine.Process(plain);
    engine.AdvanceWatermark(EventTime{1795392000000 + 60000});
    ASSERT_EQ(sink.events.size(), 1u);
    EXPECT_EQ(sink.events[0].find("\"images\""), std::string::npos) << sink.events[0];
  }
  sink.events.clear();
  std::string state;
  {
    dedup::Engine engine(lr.rules, &sink);
    Record a = alert(0, "DbDown"), b = alert(1, "DbDiskFull"), c = alert(2, "DbReplicaLag");
    a.runbook = "https://runbooks/db-down";
    b.runbook = "https://runbooks/db-disk";
    b.image = "https://grafana/render/disk.png";
    c.runbook = "https://runbooks/db-down";  // the same runbook: linked once
    engine.Process(a);
    engine.Process(b);
    engine.Process(c);
    engine.SaveState(&state);
  }
  dedup::Engine restored(lr.rules, &sink);
  ASSERT_TRUE(restored.LoadState(state));
  restored.AdvanceWatermark(EventTime{1795392000000 + 60000});
  ASSERT_EQ(sink.events.size(), 1u);
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(sink.events[0]);
  auto doc = parser.iterate(json);
  std::vector<std::string> links;
  for (auto link : doc["links"].get_array()) {
    std::string_view href, text;
    ASSERT_EQ(link["href"].get_string().get(href), simdjson::SUCCESS);
    ASSERT_EQ(link["text"].get_string().get(text), simdjson::SUCCESS);
    links.push_back(std::string(href) + " " + std::string(text));
  }
  EXPECT_EQ(links, (std::vector<std::string>{
                       "https://runbooks/db-down Runbook: DbDown",
                       "https://runbooks/db-disk Runbook: DbDiskFull",
                       "http://prom/graph?DbDown DbDown",
                       "http://prom/graph?DbDiskFull DbDiskFull",
                       "http://prom/graph?DbReplicaLag DbReplicaLag",
                   }));
  std::string_view src, href, alt;
  auto image = doc["images"].at(0);
  ASSERT_EQ(image["src"].get_string().get(src), simdjson::SUCCESS);
  EXPECT_EQ(src, "https://grafana/render/disk.png");
  ASSERT_EQ(image["href"].get_string().get(href), simdjson::SUCCESS);
  EXPECT_EQ(href, "http://prom/graph?DbDiskFull");
  ASSERT_EQ(image["alt"].get_string().get(alt), simdjson::SUCCESS);
  EXPECT_EQ(alt, "DbDiskFull");
}

// routing: an incident's PagerDuty routing key is that of the first entry its opening signal
// matches, for its whole life (a later member of another team, a checkpoint and a rules change
// keep it); custom_details.routing lists the members' routing label values.
TEST(RenderTest, AnIncidentKeepsTheRoutingKeyItOpenedWith) {
  const std::string rules = R"(
correlate:
  - name: all
page: {when: [['severity="critical"']]}
routing:
  labels: [team]
  keys:
    - {match: ['team="db"'], routing_key: R-db}
    - {routing_key: R-all}
)";
  auto lr = rules::LoadRulesString(rules, "r.yaml");
  ASSERT_TRUE(lr.rules);
  auto alert = [](int64_t t, std::string_view name, std::string_view team) {
    Record r;
    r.addr = RecordAddress{"alerts", 0, t, 0};
    r.time = EventTime{1795392000000 + t};
    r.labels.Add("alertname", name);
    r.labels.Add("team", team);
    r.labels.Add("severity", "critical");
    r.labels.Canonicalize();
    return r;
  };
  KeepSink sink(*lr.rules);
  std::string state;
  {
    dedup::Engine engine(lr.rules, &sink);
    engine.Process(alert(0, "DbDown", "db"));
    engine.Process(alert(1, "WebErrors", "web"));
    engine.SaveState(&state);
  }
  // The db team's key changes meanwhile: the open incident keeps the one it opened with.
  auto changed = rules::LoadRulesString(
      std::string(rules).replace(rules.find("R-db"), 4, "R-db-new"), "r.yaml");
  ASSERT_TRUE(changed.rules);
  KeepSink after(*changed.rules);
  dedup::Engine restored(changed.rules, &after);
  ASSERT_TRUE(restored.LoadState(state));
  restored.AdvanceWatermark(EventTime{1795392000000 + 60000});
  ASSERT_EQ(after.events.size(), 1u);
  const std::string& page = after.events[0];
  EXPECT_NE(page.find(R"("dedup_key":"ng-)"), std::string::npos);
  EXPECT_NE(page.find(R"(,"routing_key":"R-db","payload":)"), std::string::npos) << page;
  EXPECT_NE(page.find(R"("routing":{"team":["db","web"]})"), std::string::npos) << page;
  // Without a routing section, neither appears.
  auto plain = rules::LoadRulesString(rules.substr(0, rules.find("routing:")), "r.yaml");
  ASSERT_TRUE(plain.rules);
  KeepSink none(*plain.rules);
  dedup::Engine engine(plain.rules, &none);
  engine.Process(alert(0, "DbDown", "db"));
  engine.AdvanceWatermark(EventTime{1795392000000 + 60000});
  ASSERT_EQ(none.events.size(), 1u);
  EXPECT_EQ(none.events[0].find("routing"), std::string::npos) << none.events[0];
}

}  // namespace
}  // namespace noisegate::processor

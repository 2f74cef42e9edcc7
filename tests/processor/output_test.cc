// The edges' formats: JSON escaping, envelopes read tolerantly, events shaped as interfaces.md
// says (checked by parsing them back with simdjson).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>

#include "dedup/engine.h"
#include "processor/output/json_writer.h"
#include "processor/output/render.h"
#include "processor/replay/dump_reader.h"
#include "rules/loader.h"

namespace noisegate::processor {
namespace {

std::string Esc(std::string_view s) {
  std::string out;
  JsonWriter::Escape(s, &out);
  return out;
}

TEST(JsonWriterTest, EscapesControlCharactersQuotesAndBackslashes) {
  EXPECT_EQ(Esc("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Esc("caf\xc3\xa9 \xf0\x9f\x94\xa5"), "\"caf\xc3\xa9 \xf0\x9f\x94\xa5\"");
  EXPECT_EQ(Esc("bad \xff\xfe"), "\"bad \xef\xbf\xbd\xef\xbf\xbd\"");
  EXPECT_EQ(Esc("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");                  // overlong '/'
  EXPECT_EQ(Esc("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // surrogate
  EXPECT_EQ(Esc("cut \xe2\x82"), "\"cut \xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST(DumpReaderTest, ParsesAKcatEnvelopeWithHeadersAndEscapes) {
  DumpMessage m;
  std::string err;
  ASSERT_TRUE(ParseEnvelope(
      R"({"topic":"t","partition":2,"offset":42,"tstype":"create","ts":1732406400123,"broker":1,)"
      R"("headers":["a","b",{"x":[1,2]}],"key":"k","payload":"{\"a\":\"\u00e9\\n\ud83d\udd25\"}"})",
      &m, &err))
      << err;
  EXPECT_EQ(m.topic, "t");
  EXPECT_EQ(m.partition, 2);
  EXPECT_EQ(m.offset, 42);
  ASSERT_TRUE(m.ts.has_value());
  EXPECT_EQ(*m.ts, 1732406400123);
  EXPECT_EQ(m.key, "k");
  EXPECT_EQ(m.payload, "{\"a\":\"\xc3\xa9\\n\xf0\x9f\x94\xa5\"}");
}

TEST(DumpReaderTest, KeepsInvalidUtf8PayloadBytesSoTheMessageReachesTheDeadLetters) {
  DumpMessage m;
  std::string err;
  ASSERT_TRUE(
      ParseEnvelope("{\"topic\":\"t\",\"offset\":1,\"key\":null,\"payload\":\"x\xff\"}", &m, &err));
  EXPECT_EQ(m.payload, "x\xff");
  EXPECT_TRUE(m.key_null);
  EXPECT_FALSE(m.ts.has_value());
}

// The payload scan looks 16 bytes at a time for the next quote or backslash: escapes at every
// offset of a block, and a string that ends mid-block, come out whole.
TEST(DumpReaderTest, PayloadEscapesAtEveryOffset) {
  for (size_t at = 0; at < 40; ++at) {
    const std::string plain(at, 'p');
    DumpMessage m;
    std::string err;
    ASSERT_TRUE(
        ParseEnvelope(R"({"topic":"t","offset":1,"payload":")" + plain + R"(\"x\\y"})", &m, &err))
        << at << ": " << err;
    EXPECT_EQ(m.payload, plain + "\"x\\y") << at;
  }
}

TEST(DumpReaderTest, ANullTimestampIsNoTimestamp) {
  DumpMessage m;
  std::string err;
  ASSERT_TRUE(
      ParseEnvelope(R"({"topic":"t","offset":3,"ts":null,"key":null,"payload":"{}"})", &m, &err))
      << err;
  EXPECT_FALSE(m.ts.has_value());
  EXPECT_EQ(m.payload, "{}");
}

TEST(DumpReaderTest, ALineCutShortKeepsItsAddress) {
  DumpMessage m;
  std::string err;
  EXPECT_FALSE(
      ParseEnvelope(R"({"topic":"t","partition":1,"offset":9,"ts":5,"payload":"{\"al)", &m, &err));
  EXPECT_TRUE(m.addressed);
  EXPECT_EQ(m.topic, "t");
  EXPECT_EQ(m.offset, 9);
}

TEST(DumpReaderTest, RejectsWhatIsNotAnEnvelope) {
  DumpMessage m;
  std::string err;
  EXPECT_FALSE(ParseEnvelope("not json", &m, &err));
  EXPECT_FALSE(ParseEnvelope(R"({"topic":"t","payload":"x"})", &m, &err));  // no offset
  EXPECT_FALSE(ParseEnvelope(R"({"topic":"t","offset":1,"payload":"x"} trailing)", &m, &err));
  EXPECT_FALSE(ParseEnvelope(R"({"topic":"t","offset":1,"payload":"unterminated})", &m, &err));
}

// A dump that interleaves two channels, with a blank line, an unreadable one, one whose
// envelope lists its fields in another order, one cut short past its address and a CRLF
// ending: each channel's reader gets exactly its own messages, with their line numbers.
TEST(DumpReaderTest, EachChannelOfAnInterleavedDumpReadsItsOwnLines) {
  const std::string path = ::testing::TempDir() + "/interleaved.jsonl";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"topic":"a","partition":0,"offset":0,"payload":"a0"}
{"topic":"a","partition":0,"offset":1,"payload":"a1"}
{"topic":"b","partition":1,"offset":0,"payload":"b0"}

{"topic":"a","partition":0,"offset":2,"payload":"a2"}
not an envelope
{"topic":"a","partition":0,"offset":3,"payload":"a3"})"
               "\r\n"
               R"({"payload":"b1","offset":1,"partition":1,"topic":"b"}
{"topic":"b","partition":1,"offset":2,"payload":"cut
{"topic":"a","partition":0,"offset":4,"payload":"a4"})",
               f);
    std::fclose(f);
  }
  std::vector<DumpChannel> channels;
  std::string error;
  std::vector<std::string> skipped;
  std::shared_ptr<const DumpBytes> bytes;
  ASSERT_TRUE(ScanDump(
      path, std::nullopt, &channels, &error,
      [&](const std::string& why) { skipped.push_back(why); }, &bytes))
      << error;
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find(":6: "), std::string::npos) << skipped[0];
  ASSERT_EQ(channels.size(), 2u);
  auto read = [&](const DumpChannel& c) {
    std::string got, why;
    DumpReader reader(path, std::nullopt, bytes);
    EXPECT_TRUE(reader.Open(c, &error)) << error;
    DumpMessage m;
    while (reader.Next(&m, &why)) {
      EXPECT_EQ(why, "");
      got += std::to_string(m.line) + ":" + m.topic + "/" + std::to_string(m.offset) + "=" +
             (m.addressed ? "cut" : m.payload) + " ";
    }
    return got;
  };
  EXPECT_EQ(read(channels[0]), "1:a/0=a0 2:a/1=a1 5:a/2=a2 7:a/3=a3 10:a/4=a4 ");
  EXPECT_EQ(read(channels[1]), "3:b/0=b0 8:b/1=b1 9:b/2=cut ");
}

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

}  // namespace
}  // namespace noisegate::processor

// The replay driver: event-time merge across files, oversized messages, outputs on disk, the
// diff of two rule versions.
#include "processor/replay/replay.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "rules/loader.h"

namespace noisegate::processor {
namespace {

namespace fs = std::filesystem;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ng_replay_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  static std::string Read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::string Envelope(const std::string& topic, int64_t offset, int64_t ts,
                              const std::string& payload_json_string, int32_t partition = 0) {
    return R"({"topic":")" + topic + R"(","partition":)" + std::to_string(partition) +
           R"(,"offset":)" + std::to_string(offset) + R"(,"ts":)" + std::to_string(ts) +
           R"(,"key":null,"payload":)" + payload_json_string + "}\n";
  }
  // Two alertmanager inputs; pages what `page_when` matches.
  static std::shared_ptr<const rules::CompiledRules> Rules(
      const std::string& page_when = R"('severity="critical"')",
      const std::string& close_after = "5m", const std::string& group_wait = "0s") {
    auto r = rules::LoadRulesString(R"(
inputs:
  - {topic: a, format: alertmanager}
  - {topic: b, format: alertmanager}
correlate:
  - name: all
    group_by: [alertname]
    group_wait: )" + group_wait + R"(
    close_after: )" + close_after + R"(
page: {when: [[)" + page_when + "]]}\n",
                                    "r.yaml");
    EXPECT_TRUE(r.rules);
    return r.rules;
  }
  static std::string Alert(const std::string& name, const std::string& severity,
                           const std::string& status = "firing") {
    return R"("{\"alerts\":[{\"status\":\")" + status + R"(\",\"labels\":{\"alertname\":\")" +
           name + R"(\",\"severity\":\")" + severity +
           R"(\"},\"startsAt\":\"2026-11-23T00:00:00Z\"}]}")";
  }
  // Replays `files` with every output on; returns the outputs, concatenated.
  std::string Outputs(const std::vector<std::string>& files) {
    ReplayOptions opt;
    for (const std::string& f : files) opt.dumps.push_back({f, std::nullopt});
    opt.pages_path = (dir_ / "pages.jsonl").string();
    opt.tickets_path = (dir_ / "tickets.jsonl").string();
    opt.dlq_path = (dir_ / "dlq.jsonl").string();
    opt.explain_path = (dir_ / "explain.jsonl").string();
    std::ostringstream log;
    auto res = RunReplay(Rules(), opt, log);
    EXPECT_TRUE(res) << res.error().detail;
    return "pages:\n" + Read(opt.pages_path) + "tickets:\n" + Read(opt.tickets_path) + "dlq:\n" +
           Read(opt.dlq_path) + "explain:\n" + Read(opt.explain_path) +
           "late: " + std::to_string(res ? res->late : 0) + "\n";
  }
  fs::path dir_;
};

TEST_F(ReplayTest, MergesFilesInEventTimeOrder) {
  std::string a = Write("a.jsonl", Envelope("a", 0, 1000, Alert("A1", "warning")) +
                                       Envelope("a", 1, 3000, Alert("A2", "warning")));
  std::string b = Write("b.jsonl", Envelope("b", 0, 2000, Alert("B1", "warning")) +
                                       Envelope("b", 1, 4000, Alert("B2", "warning")));
  ReplayOptions opt;
  opt.dumps = {{a, std::nullopt}, {b, std::nullopt}};
  opt.explain_path = (dir_ / "explain.jsonl").string();
  std::ostringstream log;
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(res) << res.error().detail;
  std::string explain = Read(opt.explain_path);
  size_t p1 = explain.find("\"ts\":1000"), p2 = explain.find("\"ts\":2000"),
         p3 = explain.find("\"ts\":3000"), p4 = explain.find("\"ts\":4000");
  ASSERT_NE(p4, std::string::npos);
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
  EXPECT_LT(p3, p4);
  EXPECT_EQ(res->records, 4u);
}

// A capture of two topics of three partitions each, as kcat writes it in four ways: in time
// order, partition after partition (a backlog), one file per partition, and a partition split
// over two files given in the wrong order. Replay reads each partition in its own order and
// merges them as live does: the same pages, tickets, dead letters and explain lines.
TEST_F(ReplayTest, ACaptureReplaysTheSameInWhateverOrderItWasWritten) {
  struct Message {
    std::string topic;
    int32_t partition;
    int64_t offset, ts;
    std::string line;
  };
  std::vector<Message> messages;
  std::map<std::pair<std::string, int32_t>, int64_t> next_offset;
  const char* names[] = {"Disk", "Cpu", "Down", "Latency", "Errors"};
  for (int i = 0; i < 120; ++i) {
    std::string topic = i % 2 ? "a" : "b";
    int32_t partition = (i / 2) % 3;
    int64_t offset = next_offset[{topic, partition}]++;
    int64_t ts = 1000 + 7000 * (i / 3);  // three messages share each time stamp
    std::string name = names[(i * 7) % 5];
    std::string payload = i % 17 == 5   ? "\"not json\""
                          : i % 11 == 3 ? Alert(name, "warning", "resolved")
                                        : Alert(name, i % 4 ? "warning" : "critical");
    messages.push_back(
        {topic, partition, offset, ts, Envelope(topic, offset, ts, payload, partition)});
  }
  std::string in_time, backlog;
  std::map<std::pair<std::string, int32_t>, std::string> per_partition;
  for (const Message& m : messages) {
    in_time += m.line;
    per_partition[{m.topic, m.partition}] += m.line;
  }
  std::vector<std::string> split_files;
  for (const auto& [address, lines] : per_partition) {
    backlog += lines;
    split_files.push_back(
        Write(address.first + "-" + std::to_string(address.second) + ".jsonl", lines));
  }
  // Partition b/1 in two files, the later half given first.
  std::string first_half, second_half;
  for (const Message& m : messages) {
    if (m.topic != "b" || m.partition != 1) continue;
    (m.offset < 6 ? first_half : second_half) += m.line;
  }
  std::string rest;
  for (const auto& [address, lines] : per_partition) {
    if (address != std::make_pair(std::string("b"), 1)) rest += lines;
  }
  const std::string expected = Outputs({Write("in_time.jsonl", in_time)});
  EXPECT_NE(expected.find("\"event_action\":\"trigger\""), std::string::npos) << expected;
  EXPECT_NE(expected.find("\"decision\":\"dead_letter\""), std::string::npos) << expected;
  EXPECT_NE(expected.find("late: 0"), std::string::npos) << expected;
  EXPECT_EQ(Outputs({Write("backlog.jsonl", backlog)}), expected);
  EXPECT_EQ(Outputs(split_files), expected);
  EXPECT_EQ(Outputs({Write("second.jsonl", second_half), Write("rest.jsonl", rest),
                     Write("first.jsonl", first_half)}),
            expected);
}

// A resolve due at the last record's time is sent; one due later only with --until, at the
// time it was due.
TEST_F(ReplayTest, WhatIsDueAtTheEndIsSentAndUntilRunsTimeOn) {
  auto pages = [&](int64_t last_ts, std::optional<int64_t> until_after) {
    std::string a =
        Write("a.jsonl", Envelope("a", 0, 1000, Alert("Down", "critical")) +
                             Envelope("a", 1, 2000, Alert("Down", "critical", "resolved")) +
                             Envelope("a", 2, last_ts, Alert("Other", "warning")));
    ReplayOptions opt;
    opt.dumps = {{a, std::nullopt}};
    opt.pages_path = (dir_ / "pages.jsonl").string();
    opt.until_after_ms = until_after;
    std::ostringstream log;
    auto res = RunReplay(Rules(R"('severity="critical"')", "1m"), opt, log);
    EXPECT_TRUE(res);
    return Read(opt.pages_path);
  };
  const std::string resolve = "\"event_action\":\"resolve\"";
  EXPECT_NE(pages(62'000, std::nullopt).find(resolve), std::string::npos);  // due at 62 s
  EXPECT_EQ(pages(61'999, std::nullopt).find(resolve), std::string::npos);
  EXPECT_EQ(pages(3'000, 58'999).find(resolve), std::string::npos);
  std::string until = pages(3'000, 59'000);
  EXPECT_NE(until.find(resolve), std::string::npos) << until;
}

TEST_F(ReplayTest, AnOversizedMessageGoesToTheDeadLettersAndTheReplayGoesOn) {
  std::string huge =
      "\"{\\\"alerts\\\":[],\\\"pad\\\":\\\"" + std::string(1 << 20, 'x') + "\\\"}\"";
  std::string a = Write(
      "a.jsonl", Envelope("a", 0, 1000, huge) + Envelope("a", 1, 2000, Alert("After", "critical")));
  ReplayOptions opt;
  opt.dumps = {{a, std::nullopt}};
  opt.dlq_path = (dir_ / "dlq.jsonl").string();
  opt.pages_path = (dir_ / "pages.jsonl").string();
  std::ostringstream log;
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(res);
  std::string dlq = Read(opt.dlq_path);
  EXPECT_NE(dlq.find("\"offset\":0,\"index\":0,\"reason\":\"too_large\""), std::string::npos);
  EXPECT_LT(dlq.size(), 70000u);  // payload cut at 64 KiB
  EXPECT_EQ(res->dead_letter_reasons["too_large"], 1u);
  EXPECT_NE(Read(opt.pages_path).find("After"), std::string::npos);
}

// `--topic a=FILE`: a line per message, an empty line too (Kafka carries empty values, and
// live dead-letters them); the newline that ends the file ends no message.
TEST_F(ReplayTest, AnEmptyLineOfATopicFileIsAnEmptyMessage) {
  const std::string alert =
      R"({"alerts":[{"status":"firing","labels":{"alertname":"Down","severity":"critical"},)"
      R"("startsAt":"2026-11-23T00:00:00Z"}]})";
  std::string a = Write("a.txt", alert + "\n\r\n" + alert + "\n");
  ReplayOptions opt;
  opt.dumps = {{a, std::string("a")}};
  opt.dlq_path = (dir_ / "dlq.jsonl").string();
  opt.explain_path = (dir_ / "explain.jsonl").string();
  std::ostringstream log;
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(res) << res.error().detail;
  std::string dlq = Read(opt.dlq_path);
  EXPECT_NE(dlq.find(R"("topic":"a","partition":0,"offset":1,"index":0,"reason":"empty")"),
            std::string::npos)
      << dlq;
  EXPECT_EQ(std::count(dlq.begin(), dlq.end(), '\n'), 1) << dlq;
  EXPECT_EQ(res->dead_letter_reasons["empty"], 1u);
  std::string explain = Read(opt.explain_path);
  EXPECT_NE(explain.find(R"("offset":2)"), std::string::npos) << explain;  // the line after it
  EXPECT_EQ(explain.find(R"("offset":3)"), std::string::npos) << explain;  // no line past the end
}

TEST_F(ReplayTest, EnvelopeOptionWrapsPagesKeyedByDedupKey) {
  std::string a = Write("a.jsonl", Envelope("a", 0, 1000, Alert("Down", "critical")));
  ReplayOptions opt;
  opt.dumps = {{a, std::nullopt}};
  opt.pages_path = (dir_ / "pages.jsonl").string();
  opt.envelope = true;
  std::ostringstream log;
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(res);
  std::string pages = Read(opt.pages_path);
  EXPECT_EQ(
      pages.rfind(
          R"({"topic":"noisegate.pages","partition":0,"offset":0,"tstype":"create","ts":1000,)", 0),
      0u)
      << pages;
  EXPECT_NE(pages.find(R"("key":"ng-)"), std::string::npos);
  EXPECT_NE(pages.find(R"("payload":"{\"event_action\":\"trigger\")"), std::string::npos);
}

TEST_F(ReplayTest, DiffShowsWhatChangedPerIncident) {
  std::string a = Write("a.jsonl", Envelope("a", 0, 1000, Alert("Down", "critical")) +
                                       Envelope("a", 1, 2000, Alert("Slow", "warning")));
  ReplayOptions opt;
  opt.dumps = {{a, std::nullopt}};
  opt.keep_members = true;  // as `replay --diff` sets it
  std::ostringstream log;
  auto run = [&](const std::shared_ptr<const rules::CompiledRules>& rules) {
    auto res = RunReplay(rules, opt, log);
    EXPECT_TRUE(res);
    return *res;
  };
  ReplaySummary base = run(Rules());
  {
    std::ostringstream diff;
    EXPECT_FALSE(PrintDiff("x", base, "y", run(Rules()), diff)) << diff.str();
    EXPECT_NE(diff.str().find("changed 0"), std::string::npos) << diff.str();
  }
  {  // the warning now pages: the same incident, routed to a page instead of a ticket
    std::ostringstream diff;
    EXPECT_TRUE(PrintDiff("old.yaml", base, "new.yaml",
                          run(Rules(R"('severity=~"critical|warning"')")), diff));
    EXPECT_NE(diff.str().find("route ticket -> page"), std::string::npos) << diff.str();
    EXPECT_NE(diff.str().find("alertname=Slow"), std::string::npos) << diff.str();
    EXPECT_EQ(diff.str().find("only under"), std::string::npos) << diff.str();
  }
  {  // group_wait 90s: both incidents page and ticket 90 s later
    std::ostringstream diff;
    EXPECT_TRUE(PrintDiff("old.yaml", base, "new.yaml",
                          run(Rules(R"('severity="critical"')", "5m", "90s")), diff));
    EXPECT_NE(diff.str().find("(+1m30s)"), std::string::npos) << diff.str();
    EXPECT_NE(diff.str().find("changed 2"), std::string::npos) << diff.str();
  }
  {  // nothing pages any more, nothing tickets either: both incidents are only under A
    std::ostringstream diff;
    auto none = rules::LoadRulesString(R"(
inputs:
  - {topic: a, format: alertmanager}
drop:
  - matchers: ['alertname=~".+"']
correlate:
  - {name: all, group_by: [alertname]}
)",
                                       "none.yaml");
    ASSERT_TRUE(none.rules);
    EXPECT_TRUE(PrintDiff("old.yaml", base, "none.yaml", run(none.rules), diff));
    EXPECT_NE(diff.str().find("pages only under A"), std::string::npos) << diff.str();
    EXPECT_NE(diff.str().find("tickets only under A"), std::string::npos) << diff.str();
  }
}

// With --diff, the report carries the comparison: a section listing each changed incident
// (linking to its card) and a line on the card saying what changed.
TEST_F(ReplayTest, TheReportShowsTheDiff) {
  std::string a = Write("a.jsonl", Envelope("a", 0, 1000, Alert("Down", "critical")) +
                                       Envelope("a", 1, 2000, Alert("Slow", "warning")));
  ReplayOptions other;
  other.dumps = {{a, std::nullopt}};
  other.keep_members = true;
  std::ostringstream log;
  auto b = RunReplay(Rules(R"('severity=~"critical|warning"')"), other, log);
  ASSERT_TRUE(b);
  ReplayOptions opt = other;
  opt.report_path = (dir_ / "report.html").string();
  opt.compare_with = &*b;
  opt.name = "old.yaml";
  opt.compare_name = "new.yaml";
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(res) << res.error().detail;
  ASSERT_TRUE(res->diff);
  EXPECT_TRUE(res->diff->any());
  ASSERT_EQ(res->diff->entries.size(), 1u);
  const DiffEntry& e = res->diff->entries[0];
  EXPECT_EQ(e.kind, DiffEntry::Kind::kChanged);
  std::string html = Read(opt.report_path);
  EXPECT_NE(html.find("<h2 id=\"diff\">Compared with <code>new.yaml</code>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"#" + e.a_id + "\">"), std::string::npos) << html;
  EXPECT_NE(html.find("route ticket -&gt; page"), std::string::npos);
  // The card of the changed incident says so, and is found by searching "diff-changed".
  size_t card = html.find("<section class=\"incident\" id=\"" + e.a_id + "\"");
  ASSERT_NE(card, std::string::npos);
  size_t end = html.find("</section>", card);
  EXPECT_NE(html.substr(card, end - card).find("diff-changed"), std::string::npos);
  EXPECT_NE(html.substr(card, end - card).find("class=\"diff\">Under <code>new.yaml</code>"),
            std::string::npos);

  // The same rules on both sides: the report says there is no difference.
  opt.compare_with = &*res;
  auto same = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->diff->any());
  EXPECT_NE(Read(opt.report_path).find("<b>No differences.</b>"), std::string::npos);
}

// The report holds what the input says, escaped: a label value cannot become markup.
TEST_F(ReplayTest, TheReportEscapesWhatTheInputSays) {
  std::string a =
      Write("a.jsonl", Envelope("a", 0, 1000, Alert("<img src=x onerror=alert(1)>", "critical")));
  ReplayOptions opt;
  opt.dumps = {{a, std::nullopt}};
  opt.report_path = (dir_ / "report.html").string();
  std::ostringstream log;
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(res) << res.error().detail;
  std::string html = Read(opt.report_path);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("Paged: "), std::string::npos);
}

TEST_F(ReplayTest, AMissingDumpIsAnError) {
  ReplayOptions opt;
  opt.dumps = {{(dir_ / "nope.jsonl").string(), std::nullopt}};
  std::ostringstream log;
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().detail.find("cannot open"), std::string::npos);
}

// A captured silences topic replays as live applied it: the silence mutes what fires after
// it, at its place in event time, whichever file it is in and however the files are ordered.
TEST_F(ReplayTest, ACapturedSilencesTopicMutesWhatFiresAfterTheSilence) {
  auto r = rules::LoadRulesString(R"(
inputs:
  - {topic: a, format: alertmanager}
  - {topic: noisegate.silences, format: silences}
correlate:
  - name: all
    group_by: [alertname]
page: {when: [['severity="critical"']]}
)",
                                  "r.yaml");
  ASSERT_TRUE(r.rules);
  const int64_t t0 = 1795392000000;  // 2026-11-23T00:00:00Z
  // Written at t0+60s by the API: mutes DiskFull from then until 01:00.
  const std::string silence =
      R"("{\"id\":\"s-1\",\"matchers\":[{\"name\":\"alertname\",\"value\":\"Disk.*\",)"
      R"(\"isRegex\":true,\"isEqual\":true}],\"startsAt\":\"2026-11-23T00:01:00Z\",)"
      R"(\"endsAt\":\"2026-11-23T01:00:00Z\",\"createdBy\":\"alice\",\"comment\":\"INC-1\"}")";
  const std::string alerts = Envelope("a", 0, t0, Alert("CpuHigh", "critical")) +
                             Envelope("a", 1, t0 + 120000, Alert("DiskFull", "critical")) +
                             Envelope("a", 2, t0 + 7200000, Alert("DiskFullAgain", "critical"));
  // (And a tombstone, the API forgetting an id long expired: no dead letter.)
  const std::string silences = Envelope("noisegate.silences", 0, t0 + 60000, silence) +
                               Envelope("noisegate.silences", 1, t0 + 61000, "null");
  for (bool silences_first : {false, true}) {
    std::string f1 = Write("alerts.jsonl", alerts), f2 = Write("silences.jsonl", silences);
    ReplayOptions opt;
    opt.dumps.push_back({silences_first ? f2 : f1, std::nullopt});
    opt.dumps.push_back({silences_first ? f1 : f2, std::nullopt});
    opt.pages_path = (dir_ / "pages.jsonl").string();
    opt.explain_path = (dir_ / "explain.jsonl").string();
    opt.dlq_path = (dir_ / "dlq.jsonl").string();
    std::ostringstream log;
    auto res = RunReplay(r.rules, opt, log);
    ASSERT_TRUE(res) << res.error().detail;
    const std::string pages = Read(opt.pages_path), explain = Read(opt.explain_path);
    EXPECT_EQ(Read(opt.dlq_path), "");
    EXPECT_NE(pages.find("CpuHigh"), std::string::npos) << pages;
    EXPECT_EQ(pages.find(R"("source":"DiskFull")"), std::string::npos) << "silenced: " << pages;
    EXPECT_NE(pages.find("DiskFullAgain"), std::string::npos) << "after its end: " << pages;
    EXPECT_NE(explain.find(R"("decision":"silenced","rule":"silence s-1")"), std::string::npos)
        << explain;
    EXPECT_EQ(explain.find("noisegate.silences"), std::string::npos)
        << "a silence is no signal and has no explain line: " << explain;
  }
}

}  // namespace
}  // namespace noisegate::processor

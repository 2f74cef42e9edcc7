// The replay driver: event-time merge across files, oversized messages, outputs on disk, the
// diff of two rule versions.
#include "processor/replay/replay.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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
                              const std::string& payload_json_string) {
    return R"({"topic":")" + topic + R"(","partition":0,"offset":)" + std::to_string(offset) +
           R"(,"ts":)" + std::to_string(ts) + R"(,"key":null,"payload":)" + payload_json_string +
           "}\n";
  }
  // Two alertmanager inputs; pages what `page_when` matches.
  static std::shared_ptr<const rules::CompiledRules> Rules(
      const std::string& page_when = R"('severity="critical"')") {
    auto r = rules::LoadRulesString(R"(
inputs:
  - {topic: a, format: alertmanager}
  - {topic: b, format: alertmanager}
correlate:
  - name: all
    group_by: [alertname]
    group_wait: 0s
page: {when: [[)" + page_when + "]]}\n",
                                    "r.yaml");
    EXPECT_TRUE(r.rules);
    return r.rules;
  }
  static std::string Alert(const std::string& name, const std::string& severity) {
    return R"("{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\")" + name +
           R"(\",\"severity\":\")" + severity + R"(\"},\"startsAt\":\"2026-11-23T00:00:00Z\"}]}")";
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

TEST_F(ReplayTest, DiffShowsPagesThatOnlyOneRuleVersionSends) {
  std::string a = Write("a.jsonl", Envelope("a", 0, 1000, Alert("Down", "critical")) +
                                       Envelope("a", 1, 2000, Alert("Slow", "warning")));
  ReplayOptions opt;
  opt.dumps = {{a, std::nullopt}};
  opt.keep_members = true;  // as `replay --diff` sets it
  std::ostringstream log, out;
  auto base = RunReplay(Rules(), opt, log);
  auto pages_warnings = RunReplay(Rules(), opt, log);
  ASSERT_TRUE(base && pages_warnings);
  EXPECT_FALSE(PrintDiff("x", *base, "y", *pages_warnings, out)) << out.str();
  auto more = RunReplay(Rules(R"('severity=~"critical|warning"')"), opt, log);
  ASSERT_TRUE(more);
  std::ostringstream diff;
  EXPECT_TRUE(PrintDiff("old.yaml", *base, "new.yaml", *more, diff));
  EXPECT_NE(diff.str().find("pages only under B"), std::string::npos) << diff.str();
  EXPECT_NE(diff.str().find("alertname=Slow"), std::string::npos) << diff.str();
  EXPECT_EQ(diff.str().find("pages only under A"), std::string::npos) << diff.str();
}

TEST_F(ReplayTest, AMissingDumpIsAnError) {
  ReplayOptions opt;
  opt.dumps = {{(dir_ / "nope.jsonl").string(), std::nullopt}};
  std::ostringstream log;
  auto res = RunReplay(Rules(), opt, log);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().detail.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace noisegate::processor

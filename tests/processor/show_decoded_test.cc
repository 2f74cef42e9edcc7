// `noisegate decode`: every record of a payload with its own labels, the computed ones
// matchers see, severity and times; dead letters with their reason; envelopes of a dump.
#include "processor/replay/show_decoded.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "rules/loader.h"

namespace noisegate::processor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRules[] = R"(
inputs:
  - {topic: am, format: alertmanager}
  - {topic: dd, format: datadog}
  - {topic: logs, format: json_log}
  - {topic: silences, format: silences}
topology:
  services:
    checkout-api: {user_facing: true, depends_on: [payments-api]}
    payments-api: {}
  places:
    node:
      ip-10-1-2-3: {zone: eu-west-1b}
correlate:
  - name: all
)";

// The Kafka timestamp a body read with --topic gets: 2026-11-24T03:05:00Z.
constexpr int64_t kBodyTs = 1795489500000;

std::string Testdata(const std::string& name) {
  return std::string(NG_SOURCE_DIR) + "/tests/processor/decode/testdata/" + name;
}

struct Shown {
  bool ok = false;
  std::string out, err;
};

Shown Show(const std::vector<DecodeSource>& sources, bool json = false) {
  auto loaded = rules::LoadRulesString(kRules, "r.yaml");
  EXPECT_NE(loaded.rules, nullptr);
  DecodeShowOptions opt;
  opt.json = json;
  opt.max_message_bytes = 1 << 20;
  opt.body_ts = kBodyTs;
  std::ostringstream out, err;
  Shown s;
  s.ok = ShowDecoded(*loaded.rules, sources, opt, out, err);
  s.out = out.str();
  s.err = err.str();
  return s;
}

TEST(ShowDecodedTest, AlertsShowTheirLabelsAndWhatTheTopologyAddsToThem) {
  Shown s = Show({{Testdata("alertmanager_webhook.json"), "am"}});
  ASSERT_TRUE(s.ok) << s.err;
  EXPECT_THAT(s.out, HasSubstr("topic am, partition 0, offset 0: 2 records"));
  // The crash-looping pod of payments-api: a warning, impacting checkout-api, at the time
  // the broker would stamp on the message (as live takes it).
  EXPECT_THAT(s.out, HasSubstr("[0] firing  2026-11-24T03:05:00.000Z  severity warning"));
  EXPECT_THAT(s.out, HasSubstr("alertname=\"KubePodCrashLooping\""));
  EXPECT_THAT(s.out, HasSubstr("computed: signal=\"alert\", component=\"payments-api\", "
                               "impacted_service=\"checkout-api\", impacted_user_facing=\"true\""));
  // Its node's zone, from the place inventory.
  EXPECT_THAT(s.out, HasSubstr("placed:   zone=\"eu-west-1b\""));
  EXPECT_THAT(s.out, HasSubstr("[1] resolved"));
}

TEST(ShowDecodedTest, ADatadogPayloadShowsTheLabelsToWriteMatchersFor) {
  Shown s = Show({{Testdata("datadog_triggered.json"), "dd"}});
  ASSERT_TRUE(s.ok) << s.err;
  EXPECT_THAT(s.out, HasSubstr("alert_id=\"98765432\""));
  EXPECT_THAT(s.out, HasSubstr("severity critical"));
}

TEST(ShowDecodedTest, LogLinesShowTheirTemplateAndJsonModeIsOneObjectPerRecord) {
  Shown s = Show({{Testdata("json_log_ecs.json"), "logs"}}, /*json=*/true);
  ASSERT_TRUE(s.ok) << s.err;
  EXPECT_THAT(s.out, HasSubstr("\"kind\":\"log\""));
  EXPECT_THAT(s.out, HasSubstr("\"signal\":\"log_surge\",\"template\":\""));
  EXPECT_THAT(s.out, HasSubstr("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""));
  EXPECT_THAT(s.out, HasSubstr("\"placed\":{}"));  // its node is not in the inventory
  EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 1);
}

TEST(ShowDecodedTest, WhatCannotBeDecodedIsShownWithItsReason) {
  const std::string path = ::testing::TempDir() + "/broken.json";
  std::ofstream(path) << R"({"receiver":"x","status":"firing","alerts":[{"labels":{}}]})";
  Shown s = Show({{path, "am"}});
  ASSERT_TRUE(s.ok) << s.err;
  EXPECT_THAT(s.out, HasSubstr("0 records, 1 dead letter"));
  EXPECT_THAT(s.out, HasSubstr("DEAD LETTER missing_field"));
}

TEST(ShowDecodedTest, ADumpIsReadEnvelopeByEnvelopeUnderEachTopic) {
  const std::string path = ::testing::TempDir() + "/dump.jsonl";
  std::ofstream(path)
      << R"({"topic":"am","partition":2,"offset":7,"ts":1795392000000,"payload":"{\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\",\"service\":\"checkout-api\",\"severity\":\"critical\"},\"startsAt\":\"2026-11-23T00:00:00Z\"}]}"})"
      << "\n"
      << R"({"topic":"nowhere","partition":0,"offset":1,"payload":"{}"})"
      << "\n";
  Shown s = Show({{path, std::nullopt}});
  ASSERT_TRUE(s.ok) << s.err;
  EXPECT_THAT(s.out, HasSubstr(path + ":1: topic am, partition 2, offset 7: 1 record"));
  EXPECT_THAT(s.out, HasSubstr("impacted_service=\"checkout-api\""));
  EXPECT_THAT(s.out, HasSubstr(path + ":2: topic nowhere"));
  EXPECT_THAT(s.out, HasSubstr("DEAD LETTER"));
  EXPECT_THAT(s.out, Not(HasSubstr("skipped")));
}

TEST(ShowDecodedTest, AFileThatCannotBeReadFails) {
  Shown s = Show({{"/nonexistent/file.json", "am"}});
  EXPECT_FALSE(s.ok);
  EXPECT_THAT(s.err, HasSubstr("/nonexistent/file.json"));
}

TEST(ShowDecodedTest, ASilenceShowsItsMatchersWindowAndAuthor) {
  const std::string path = ::testing::TempDir() + "silence.json";
  std::ofstream(path) << R"({"id":"s-1","matchers":[{"name":"alertname","value":"Disk.*",
    "isRegex":true,"isEqual":true},{"name":"env","value":"prod","isRegex":false,"isEqual":false}],
    "startsAt":"2026-11-24T03:00:00Z","endsAt":"2026-11-24T05:00:00Z","createdBy":"alice",
    "comment":"INC-42"})";
  Shown s = Show({{path, "silences"}});
  ASSERT_TRUE(s.ok) << s.err;
  EXPECT_THAT(s.out, HasSubstr("[0] silence s-1  2026-11-24T03:05:00.000Z"));
  EXPECT_THAT(s.out, HasSubstr(R"(matchers: alertname=~"Disk.*", env!="prod")"));
  EXPECT_THAT(s.out, HasSubstr("from 2026-11-24T03:00:00.000Z until 2026-11-24T05:00:00.000Z, "
                               "by alice"));
  EXPECT_THAT(s.out, HasSubstr("comment:  INC-42"));
  Shown j = Show({{path, "silences"}}, /*json=*/true);
  ASSERT_TRUE(j.ok) << j.err;
  EXPECT_THAT(j.out, HasSubstr(R"("kind":"silence")"));
  EXPECT_THAT(j.out, HasSubstr(R"("id":"s-1")"));
}

}  // namespace
}  // namespace noisegate::processor

// Tests of the `datadog` decoder: monitor notifications mapped to labels (tags included),
// severity, state and event time, and its required fields.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "processor/decode/dead_letter.h"
#include "tests/processor/decode/decode_test_util.h"

namespace noisegate::processor {
namespace {

using decode_test::Harness;
using decode_test::kT0;
using decode_test::LabelMap;
using decode_test::ReadFixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(DatadogDecoder, TriggeredNotificationMapsToAFiringAlert) {
  Harness h("datadog");
  h.Run(ReadFixture("datadog_triggered.json"));
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record& r = h.out[0];
  EXPECT_EQ(r.state, AlertState::kFiring);
  EXPECT_THAT(LabelMap(r.labels),
              ElementsAre(Pair("alert_id", "98765432"),
                          Pair("alertname", "High error rate on checkout"), Pair("env", "prod"),
                          Pair("host", "ip-10-0-1-17"), Pair("monitor", "true"),  // bare tag
                          Pair("service", "checkout"),   // from alert_scope
                          Pair("severity", "critical"),  // P1 beats alert_type error
                          Pair("source", "datadog"), Pair("team", "payments"),
                          Pair("url", "https://checkout.example.org/health")));
  EXPECT_EQ(r.summary, "High error rate on checkout");
  EXPECT_THAT(r.description, HasSubstr("Error rate on checkout is 7.2"));
  EXPECT_EQ(r.link, "https://app.datadoghq.com/event/event?id=7311839526512345678");
  EXPECT_EQ(r.time.ms, kT0 + 60000);  // last_updated, a string of epoch ms
}

TEST(DatadogDecoder, RecoveryIsResolvedAndNamedLikeItsTrigger) {
  Harness h("datadog");
  h.Run(ReadFixture("datadog_triggered.json"));
  ASSERT_EQ(h.out.size(), 1u);
  const std::string trigger_name(h.out[0].labels.Get("alertname"));

  h.Run(ReadFixture("datadog_recovered.json"));
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record& r = h.out[0];
  EXPECT_EQ(r.state, AlertState::kResolved);
  EXPECT_EQ(r.labels.Get("alertname"), trigger_name);
  EXPECT_THAT(
      LabelMap(r.labels),
      ElementsAre(Pair("alert_id", "98765432"), Pair("alertname", "High error rate on checkout"),
                  Pair("env", "prod"), Pair("service", "checkout"), Pair("severity", "info"),
                  Pair("source", "datadog"), Pair("team", "payments")));
  EXPECT_EQ(r.description, "Error rate on checkout is back to 0.4.");  // event_msg
  EXPECT_EQ(r.time.ms, kT0 + 600000);                                  // date in epoch seconds
}

TEST(DatadogDecoder, OnlyNotificationPrefixesAreStrippedFromTitles) {
  Harness h("datadog");
  h.Run(R"({"alert_id":"1","alert_transition":"Triggered","date":1795489200000,
            "title":"[prod] [db] primary down"})");
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].labels.Get("alertname"), "[prod] [db] primary down");

  h.Run(R"({"alert_id":"1","alert_transition":"Re-Triggered","date":1795489200000,
            "title":"[P2] [Re-Triggered on {host:a}] [prod] primary down"})");
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].labels.Get("alertname"), "[prod] primary down");
  EXPECT_EQ(h.out[0].summary, "[prod] primary down");
}

TEST(DatadogDecoder, AlertTypeMapsToSeverity) {
  Harness h("datadog");
  for (auto [type, severity] : {std::pair{"error", "error"},
                                {"warning", "warning"},
                                {"info", "info"},
                                {"success", "info"},
                                {"other", ""}}) {
    h.Run(std::string(R"({"alert_id":"1","alert_transition":"Warn","alert_type":")") + type +
              R"(","priority":"normal"})",
          kT0);
    ASSERT_EQ(h.out.size(), 1u);
    EXPECT_EQ(h.out[0].labels.Get("severity"), severity) << type;
  }
}

TEST(DatadogDecoder, EventIdStandsInForAMissingAlertId) {
  Harness h("datadog");
  h.Run(R"({"id":"555","alert_transition":"No Data"})", kT0);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].labels.Get("alert_id"), "555");
  EXPECT_EQ(h.out[0].state, AlertState::kFiring);
}

TEST(DatadogDecoder, RequiredFieldsAndTypes) {
  Harness h("datadog");
  h.Run(R"({"alert_transition":"Triggered","title":"x"})", kT0);
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("alert_id"));

  h.Run(R"({"alert_id":"1","title":"x"})", kT0);
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("alert_transition"));

  h.Run(R"({"alert_id":"1","alert_transition":"Triggered"})");
  h.ExpectRejected(reason::kBadTimestamp);

  h.Run(R"({"alert_id":"1","alert_transition":"Triggered","date":"$DATE"})");
  h.ExpectRejected(reason::kBadTimestamp);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("date"));

  h.Run(R"({"alert_id":"1","alert_transition":"Triggered","tags":{"env":"prod"}})", kT0);
  h.ExpectRejected(reason::kWrongType);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("tags"));

  h.Run(R"({"alerts":[]})");
  h.ExpectRejected(reason::kUnsupportedShape);
}

}  // namespace
}  // namespace noisegate::processor

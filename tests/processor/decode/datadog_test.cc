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

// The webhook integration's default payload (id, last_updated, event_type, title, date, org,
// body): the transition, the scope and the monitor come from the title; `id` is this one
// notification's, so the recovery (another id) resolves the trigger by the monitor's name.
TEST(DatadogDecoder, TheDefaultPayloadIsReadFromItsTitle) {
  Harness h("datadog");
  h.Run(R"({"id":"7311839526512345678","last_updated":"1795392060000",)"
        R"("event_type":"query_alert_monitor",)"
        R"("title":"[Triggered on {host:ip-10-0-1-17,env:prod}] High error rate on checkout",)"
        R"("date":"1795392060000","org":{"id":"11287","name":"Acme"},)"
        R"("body":"%%%\nError rate on checkout is 7.2\n%%%"})");
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record trigger = h.out[0];
  EXPECT_EQ(trigger.state, AlertState::kFiring);
  EXPECT_THAT(LabelMap(trigger.labels),
              ElementsAre(Pair("alert_id", "High error rate on checkout"),
                          Pair("alertname", "High error rate on checkout"), Pair("env", "prod"),
                          Pair("host", "ip-10-0-1-17"), Pair("severity", "error"),
                          Pair("source", "datadog")));
  EXPECT_EQ(trigger.time.ms, 1795392060000);

  h.Run(R"({"id":"7311839526599999999","last_updated":"1795392660000",)"
        R"("event_type":"query_alert_monitor",)"
        R"("title":"[Recovered on {host:ip-10-0-1-17,env:prod}] High error rate on checkout",)"
        R"("date":"1795392660000","org":{"id":"11287","name":"Acme"},"body":"back to 0.4"})");
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].state, AlertState::kResolved);
  EXPECT_EQ(h.out[0].labels.Get("alert_id"), trigger.labels.Get("alert_id"));
  EXPECT_EQ(h.out[0].labels.Get("host"), trigger.labels.Get("host"));
  EXPECT_EQ(h.out[0].labels.Get("severity"), "info");

  // A P1 warning of another group of the monitor.
  h.Run(R"({"id":"1","title":"[P1] [Warn on {host:ip-10-0-1-18}] High error rate on checkout",)"
        R"("date":"1795392060000"})");
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].labels.Get("host"), "ip-10-0-1-18");
  EXPECT_EQ(h.out[0].labels.Get("severity"), "critical");
  EXPECT_EQ(h.out[0].state, AlertState::kFiring);
}

// `id` alone is one notification's id, never the monitor's.
TEST(DatadogDecoder, AnEventIdDoesNotStandForTheMonitor) {
  Harness h("datadog");
  h.Run(R"({"id":"555","alert_transition":"No Data"})", kT0);
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("alert_id"));
}

TEST(DatadogDecoder, RequiredFieldsAndTypes) {
  Harness h("datadog");
  h.Run(R"({"alert_transition":"Triggered","alert_type":"error"})", kT0);
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

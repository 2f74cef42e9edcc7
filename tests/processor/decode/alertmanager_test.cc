// Tests of the `alertmanager` and `grafana` decoders: field mapping, states, event time, record
// indexes, and per-record dead letters.
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

TEST(AlertmanagerDecoder, WebhookMapsEveryAlertToARecordInOrder) {
  Harness h("alertmanager");
  h.Run(ReadFixture("alertmanager_webhook.json"));
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 2u);

  const Record& a = h.out[0];
  EXPECT_EQ(a.addr.topic, "alerts.test");
  EXPECT_EQ(a.addr.partition, 3);
  EXPECT_EQ(a.addr.offset, 42);
  EXPECT_EQ(a.addr.index, 0);
  EXPECT_EQ(a.input, 7);
  EXPECT_EQ(a.kind, SignalKind::kAlert);
  EXPECT_EQ(a.state, AlertState::kFiring);
  EXPECT_THAT(LabelMap(a.labels),
              ElementsAre(Pair("alertname", "KubePodCrashLooping"), Pair("cluster", "prod-eu-1"),
                          Pair("container", "api"), Pair("namespace", "payments"),
                          Pair("pod", "api-7d9f8b6c5-x2q4z"), Pair("service", "payments-api"),
                          Pair("severity", "warning")));
  EXPECT_EQ(a.summary, "Pod is crash looping.");
  EXPECT_EQ(a.description,
            "Pod payments/api-7d9f8b6c5-x2q4z (api) is in waiting state (reason: "
            "\"CrashLoopBackOff\").");
  // Go's encoder writes '&' as \u0026: the link must be unescaped.
  EXPECT_EQ(a.link,
            "http://prometheus-k8s-0:9090/graph?g0.expr=kube_pod_container_status_waiting_reason&"
            "g0.tab=1");
  EXPECT_EQ(a.time.ms, kT0 + 123);  // startsAt
  EXPECT_EQ(a.ends_at, kMinTime);   // "0001-01-01T00:00:00Z" means no end
  EXPECT_EQ(a.source_fingerprint, "5e2a1f8c3b7d9e04");

  const Record& b = h.out[1];
  EXPECT_EQ(b.addr.index, 1);
  EXPECT_EQ(b.state, AlertState::kResolved);
  EXPECT_THAT(LabelMap(b.labels),
              ElementsAre(Pair("alertname", "NodeNotReady"), Pair("cluster", "prod-eu-1"),
                          Pair("node", "ip-10-1-2-3"), Pair("severity", "critical")));
  EXPECT_EQ(b.summary, "Node ip-10-1-2-3 has been unready for more than 15 minutes.");  // message
  EXPECT_EQ(b.description, "");
  // A resolved alert happens at its endsAt: 03:05:30.5+01:00 = 02:05:30.500Z.
  const int64_t ends = kT0 - (54 * 60 + 29) * 1000 - 500;
  EXPECT_EQ(b.time.ms, ends);
  EXPECT_EQ(b.ends_at.ms, ends);
  EXPECT_EQ(b.source_fingerprint, "a11c0ffee0ddba11");
}

// The sender's fingerprint is only kept to find the alert in its UI: one that is no string is
// passed over, never a reason to refuse the alert.
TEST(AlertmanagerDecoder, AFingerprintThatIsNoStringIsPassedOver) {
  Harness h("alertmanager");
  h.Run(
      R"({"alerts":[{"labels":{"alertname":"A"},"startsAt":"2026-11-24T03:00:00Z","fingerprint":{"x":1}},
                      {"labels":{"alertname":"B"},"startsAt":"2026-11-24T03:00:00Z","fingerprint":7}]})");
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason;
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].source_fingerprint, "");
  EXPECT_EQ(h.out[1].source_fingerprint, "");
}

TEST(AlertmanagerDecoder, KafkaTimestampIsEveryRecordsEventTime) {
  Harness h("alertmanager");
  h.Run(ReadFixture("alertmanager_webhook.json"), kT0 + 999);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].time.ms, kT0 + 999);
  EXPECT_EQ(h.out[1].time.ms, kT0 + 999);
  // The payload's endsAt is still the alert's end.
  EXPECT_EQ(h.out[1].ends_at.ms, kT0 - (54 * 60 + 29) * 1000 - 500);
  EXPECT_EQ(h.out[1].state, AlertState::kResolved);
}

TEST(AlertmanagerDecoder, ApiAlertsWithoutStatusResolveOnceEndsAtHasPassed) {
  const std::string payload = ReadFixture("alertmanager_api_alerts.json");
  Harness h("alertmanager");

  // At 03:02 (Kafka time) the first alert still runs until 03:04; the second ended at 02:58.
  h.Run(payload, kT0 + 2 * 60 * 1000);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].state, AlertState::kFiring);
  EXPECT_EQ(h.out[1].state, AlertState::kResolved);
  EXPECT_EQ(h.out[0].ends_at.ms, kT0 + 4 * 60 * 1000);
  EXPECT_EQ(h.out[0].time.ms, kT0 + 2 * 60 * 1000);

  // At 03:05 both have ended.
  h.Run(payload, kT0 + 5 * 60 * 1000);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].state, AlertState::kResolved);
  EXPECT_EQ(h.out[1].state, AlertState::kResolved);

  // Without a Kafka timestamp "now" is the alert's own start: endsAt lies ahead, so firing.
  h.Run(payload);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].state, AlertState::kFiring);
  EXPECT_EQ(h.out[0].time.ms, kT0);
  EXPECT_EQ(h.out[1].time.ms, kT0 - 10 * 60 * 1000);
  // Summary falls back to the description, then to the alertname label.
  EXPECT_THAT(h.out[0].summary, HasSubstr("predicted to run out of space"));
  EXPECT_EQ(h.out[1].summary, "InstanceDown");
  EXPECT_EQ(h.out[1].link, "");
}

TEST(AlertmanagerDecoder, AcceptsABareAlertObject) {
  Harness h("alertmanager");
  h.Run(R"({"labels":{"alertname":"Watchdog","severity":"none"},
            "annotations":{"summary":"always firing"},
            "startsAt":"2026-11-24T03:00:00Z","generatorURL":"http://p/graph"})");
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].addr.index, 0);
  EXPECT_THAT(LabelMap(h.out[0].labels),
              ElementsAre(Pair("alertname", "Watchdog"), Pair("severity", "none")));
  EXPECT_EQ(h.out[0].summary, "always firing");
  EXPECT_EQ(h.out[0].link, "http://p/graph");
  EXPECT_EQ(h.out[0].time.ms, kT0);
  EXPECT_EQ(h.out[0].state, AlertState::kFiring);
}

TEST(AlertmanagerDecoder, LabelValuesAreTextAndEmptyOrNullLabelsAreAbsent) {
  Harness h("alertmanager");
  h.Run(R"({"labels":{"alertname":"X","gone":null,
                      "empty":"","alertname":"Y","esc\u0061ped":"a\"b"},
            "startsAt":"2026-11-24T03:00:00Z"})");
  ASSERT_EQ(h.out.size(), 1u) << h.dead[0].detail;
  EXPECT_THAT(LabelMap(h.out[0].labels),
              ElementsAre(Pair("alertname", "Y"),  // a repeated key: the last one wins
                          Pair("escaped", "a\"b")));
}

TEST(AlertmanagerDecoder, ALabelThatIsNotAStringIsAWrongType) {
  // Alertmanager's model and API take strings only; a number would match `code="500"` by
  // accident of its spelling (500.0, 5e2).
  for (const char* value : {"500", "0.25", "true"}) {
    Harness h("alertmanager");
    h.Run(std::string(R"({"labels":{"alertname":)") + value +
          R"(},"startsAt":"2026-11-24T03:00:00Z"})");
    EXPECT_EQ(h.out.size(), 0u) << value;
    ASSERT_EQ(h.dead.size(), 1u) << value;
    EXPECT_EQ(h.dead[0].reason, "wrong_type");
    EXPECT_THAT(h.dead[0].detail, HasSubstr("labels.alertname")) << h.dead[0].detail;
  }
}

TEST(AlertmanagerDecoder, BadAlertsAreDeadLetteredByIndexAndTheOthersKept) {
  Harness h("alertmanager");
  h.Run(R"({"version":"4","status":"firing","alerts":[
      {"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-24T03:00:00Z"},
      {"status":"firing","labels":"alertname=B","startsAt":"2026-11-24T03:00:00Z"},
      {"status":"firing","annotations":{"summary":"no labels"},"startsAt":"2026-11-24T03:00:00Z"},
      {"status":"firing","labels":{"alertname":"D"},"startsAt":"yesterday"},
      {"status":"firing","labels":{},"startsAt":"2026-11-24T03:00:00Z"},
      42,
      {"status":"firing","labels":{"alertname":"G","nested":{"a":1}},
       "startsAt":"2026-11-24T03:00:00Z"},
      {"status":"resolved","labels":{"alertname":"H"},"startsAt":"2026-11-24T03:00:00Z"},
      {"status":"firing","labels":{"alertname":"I"}},
      {"status":"firing","labels":{"alertname":"J"},"startsAt":"2026-11-24T03:00:00Z"}
    ]})");
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].addr.index, 0);
  EXPECT_EQ(h.out[0].labels.Get("alertname"), "A");
  EXPECT_EQ(h.out[1].addr.index, 9);
  EXPECT_EQ(h.out[1].labels.Get("alertname"), "J");

  ASSERT_EQ(h.dead.size(), 8u);
  auto expect_dead = [&](size_t i, int32_t index, std::string_view reason,
                         std::string_view detail_part) {
    SCOPED_TRACE(i);
    EXPECT_EQ(h.dead[i].index, index);
    EXPECT_EQ(h.dead[i].reason, reason);
    EXPECT_THAT(h.dead[i].detail, HasSubstr(std::string(detail_part)));
  };
  expect_dead(0, 1, reason::kWrongType, "labels");
  expect_dead(1, 2, reason::kMissingField, "labels");
  expect_dead(2, 3, reason::kBadTimestamp, "startsAt");
  expect_dead(3, 4, reason::kMissingField, "labels");
  expect_dead(4, 5, reason::kWrongType, "alerts[]");
  expect_dead(5, 6, reason::kWrongType, "labels.nested");
  expect_dead(6, 7, reason::kBadTimestamp, "endsAt");  // resolved, but when?
  expect_dead(7, 8, reason::kBadTimestamp, "startsAt");
}

// A webhook over its max_alerts says how many alerts of the group it left out: they are not
// lost silently. The alerts it holds are read as ever.
TEST(AlertmanagerDecoder, AlertsTheSenderLeftOutAreADeadLetterAfterTheAlerts) {
  const std::string alerts =
      R"("alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-24T03:00:00Z"},
                   {"status":"firing","labels":{"alertname":"B"},"startsAt":"2026-11-24T03:00:00Z"}])";
  for (std::string_view format : {"alertmanager", "grafana"}) {
    SCOPED_TRACE(format);
    Harness h(format);
    h.Run(R"({"receiver":"noisegate","truncatedAlerts":3,)" + alerts + "}");
    ASSERT_EQ(h.out.size(), 2u);
    EXPECT_EQ(h.out[1].labels.Get("alertname"), "B");
    ASSERT_EQ(h.dead.size(), 1u);
    EXPECT_EQ(h.dead[0].index, 2);
    EXPECT_EQ(h.dead[0].reason, reason::kAlertsLeftOut);
    EXPECT_THAT(h.dead[0].detail, HasSubstr("left 3 alert(s)"));
    // After the alerts too, and none left out: nothing.
    h.Run("{" + alerts + R"(,"truncatedAlerts":1})");
    ASSERT_EQ(h.dead.size(), 1u);
    EXPECT_EQ(h.dead[0].index, 2);
    h.Run("{" + alerts + R"(,"truncatedAlerts":1e2})");  // any JSON number
    ASSERT_EQ(h.dead.size(), 1u);
    EXPECT_THAT(h.dead[0].detail, HasSubstr("left 100 alert(s)"));
    h.Run("{" + alerts + R"(,"truncatedAlerts":0})");
    EXPECT_TRUE(h.dead.empty());
    EXPECT_EQ(h.out.size(), 2u);
  }
}

TEST(AlertmanagerDecoder, MissingStartsAtIsFineWithAKafkaTimestamp) {
  Harness h("alertmanager");
  h.Run(R"({"alerts":[{"status":"firing","labels":{"alertname":"I"}}]})", kT0);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].time.ms, kT0);
}

TEST(AlertmanagerDecoder, WrongMessageShapesRejectTheWholeMessage) {
  Harness h("alertmanager");
  h.Run(R"({"alerts":{"labels":{"alertname":"A"}}})");
  h.ExpectRejected(reason::kWrongType);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("alerts"));

  h.Run(R"({"alerts":null})");
  h.ExpectRejected(reason::kWrongType);

  h.Run(R"({"receiver":"x","status":"firing"})");
  h.ExpectRejected(reason::kUnsupportedShape);

  h.Run(R"("just a string")");
  h.ExpectRejected(reason::kUnsupportedShape);

  h.Run("12345");
  h.ExpectRejected(reason::kUnsupportedShape);

  h.Run("null");
  h.ExpectRejected(reason::kUnsupportedShape);
}

TEST(AlertmanagerDecoder, EmptyAlertsArrayGivesNothing) {
  Harness h("alertmanager");
  h.Run(R"({"version":"4","alerts":[]})");
  EXPECT_EQ(h.out.size(), 0u);
  EXPECT_TRUE(h.dead.empty());
}

TEST(GrafanaDecoder, WebhookMapsGrafanaFieldsAndLinks) {
  Harness h("grafana");
  h.Run(ReadFixture("grafana_webhook.json"));
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 2u);

  const Record& a = h.out[0];
  EXPECT_EQ(a.state, AlertState::kFiring);
  EXPECT_THAT(
      LabelMap(a.labels),
      ElementsAre(Pair("alertname", "High memory usage"), Pair("grafana_folder", "Payments"),
                  Pair("team", "payments"), Pair("zone", "eu-west-1a")));
  EXPECT_EQ(a.summary, "checkout memory above 90% in eu-west-1a");
  EXPECT_EQ(a.description, "Memory usage of checkout is above 90%.");
  // generatorURL is empty: the panel is the next best link.
  EXPECT_EQ(a.link, "https://grafana.example.org/d/mem01?viewPanel=4");
  EXPECT_EQ(a.time.ms, kT0 + 10 * 60 * 1000 + 3157);  // 04:10:03.157+01:00
  EXPECT_EQ(a.ends_at, kMinTime);

  const Record& b = h.out[1];
  EXPECT_EQ(b.state, AlertState::kResolved);
  EXPECT_EQ(b.link, "https://grafana.example.org/alerting/grafana/d1rdpdv7k/view");
  EXPECT_EQ(b.summary, "High CPU usage");  // no annotations: the alertname
  EXPECT_EQ(b.time.ms, kT0 + 12 * 60 * 1000 + 3157);
  EXPECT_EQ(b.ends_at.ms, kT0 + 12 * 60 * 1000 + 3157);
}

// Grafana's legacy (pre-unified alerting) webhook: one rule's notification.
// Runbooks (Prometheus' runbook_url annotation, or runbook) and Grafana's graphs reach the page.
TEST(GrafanaDecoder, RunbooksAndGraphsAreKeptForThePage) {
  Harness am("alertmanager");
  am.Run(R"([{"labels":{"alertname":"A"},"annotations":{"runbook_url":"https://rb/a",
              "runbook":"https://rb/other"},"startsAt":"2026-11-24T03:05:00Z"},
             {"labels":{"alertname":"B"},"annotations":{"runbook":"https://rb/b"},
              "startsAt":"2026-11-24T03:05:00Z"},
             {"labels":{"alertname":"C"},"imageURL":"https://g/c.png",
              "startsAt":"2026-11-24T03:05:00Z"}])");
  ASSERT_EQ(am.out.size(), 3u) << am.dead[0].detail;
  EXPECT_EQ(am.out[0].runbook, "https://rb/a");
  EXPECT_EQ(am.out[1].runbook, "https://rb/b");
  EXPECT_EQ(am.out[2].image, "") << "imageURL is Grafana's";
  Harness grafana("grafana");
  grafana.Run(R"({"alerts":[{"status":"firing","labels":{"alertname":"C"},
                  "imageURL":"https://g/c.png","startsAt":"2026-11-24T03:05:00Z"}]})");
  ASSERT_EQ(grafana.out.size(), 1u);
  EXPECT_EQ(grafana.out[0].image, "https://g/c.png");
  grafana.Run(R"({"ruleName":"Legacy","state":"alerting","imageUrl":"https://g/l.png"})",
              1795489200000);
  ASSERT_EQ(grafana.out.size(), 1u) << grafana.dead[0].detail;
  EXPECT_EQ(grafana.out[0].image, "https://g/l.png");
  // They only add a link: one that is no string is passed over, the alert is kept.
  am.Run(R"([{"labels":{"alertname":"A"},"annotations":{"runbook_url":{"x":1},"runbook":7},
              "startsAt":"2026-11-24T03:05:00Z"}])");
  ASSERT_EQ(am.out.size(), 1u) << am.dead[0].detail;
  EXPECT_EQ(am.out[0].runbook, "");
  grafana.Run(R"({"alerts":[{"status":"firing","labels":{"alertname":"C"},"imageURL":["x"],
                  "startsAt":"2026-11-24T03:05:00Z"}]})");
  ASSERT_EQ(grafana.out.size(), 1u) << grafana.dead[0].detail;
  EXPECT_EQ(grafana.out[0].image, "");
}

TEST(GrafanaDecoder, TheLegacyWebhookIsOneAlertPerRule) {
  Harness h("grafana");
  const std::string firing = ReadFixture("grafana_legacy.json");
  h.Run(firing, kT0);
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record& r = h.out[0];
  EXPECT_EQ(r.state, AlertState::kFiring);
  EXPECT_THAT(LabelMap(r.labels),
              ElementsAre(Pair("alertname", "Checkout latency alert"), Pair("rule_id", "7"),
                          Pair("service", "checkout-api"), Pair("severity", "critical")));
  EXPECT_EQ(r.summary, "Checkout latency is above 2 s");
  EXPECT_EQ(r.link, "https://grafana.example.org/d/abc123/checkout?panelId=2&fullscreen&orgId=1");
  EXPECT_EQ(r.time.ms, kT0);

  std::string ok = firing;
  ok.replace(ok.find("\"state\": \"alerting\""), 19, "\"state\": \"ok\"");
  h.Run(ok, kT0 + 60000);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].state, AlertState::kResolved);
  EXPECT_EQ(h.out[0].labels.Get("alertname"), "Checkout latency alert");

  // Without a Kafka timestamp it has no time; without ruleName no name; an unknown state.
  h.Run(firing);
  h.ExpectRejected(reason::kBadTimestamp);
  h.Run(R"({"ruleId":7,"state":"alerting"})", kT0);
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("ruleName"));
  h.Run(R"({"ruleName":"x","state":"sleepy"})", kT0);
  h.ExpectRejected(reason::kWrongType);
  // The alertmanager format does not read it.
  Harness am("alertmanager");
  am.Run(firing, kT0);
  am.ExpectRejected(reason::kUnsupportedShape);
}

TEST(GrafanaDecoder, DashboardUrlIsTheLastLinkFallback) {
  Harness h("grafana");
  h.Run(R"({"alerts":[{"status":"firing","labels":{"alertname":"A"},
            "startsAt":"2026-11-24T03:00:00Z","generatorURL":"","panelURL":"",
            "dashboardURL":"https://g/d/x"}]})");
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].link, "https://g/d/x");
}

TEST(GrafanaDecoder, AlertmanagerFormatIgnoresGrafanaLinks) {
  Harness h("alertmanager");
  h.Run(ReadFixture("grafana_webhook.json"));
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].link, "");
  EXPECT_EQ(h.out[0].summary, "checkout memory above 90% in eu-west-1a");
}

}  // namespace
}  // namespace noisegate::processor

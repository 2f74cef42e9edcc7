// Alertmanager's alert list on the intake (GET /api/v2/alerts), against librdkafka's mock
// cluster: what the alert inputs received lately and still fires, filtered by matchers, with
// the silences that mute it and the open incidents that list it. The real client (amtool
// alert query) and a real broker: tests/kafka/live_test.sh silences.
#include "processor/intake/alerts_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "processor/admin/host.h"
#include "tests/processor/intake/intake_fixture.h"

namespace noisegate::processor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kAlertRules =
    std::string(kInputs) + "  - {topic: noisegate.silences, format: silences}\n" + kCorrelate;

class AlertsApiTest : public IntakeTest {
 protected:
  void SetUp() override {
    IntakeTest::SetUp();
    for (const char* t : {"noisegate.pages", "noisegate.tickets"}) {
      rd_kafka_mock_topic_create(mc_, t, 1, 1);
    }
  }
  // Alertmanager's postable alert: firing since a minute ago, or resolved a minute ago.
  static std::string Alert(const std::string& name, const std::string& host, bool firing) {
    const int64_t now = WallMs();
    return R"([{"labels":{"alertname":")" + name + R"(","host":")" + host +
           R"(","severity":"critical"},"annotations":{"summary":")" + name + " on " + host +
           R"("},"startsAt":")" + FormatRfc3339(EventTime{now - 120'000}) + R"(","endsAt":")" +
           FormatRfc3339(EventTime{firing ? now + 300'000 : now - 60'000}) + R"("}])";
  }
  void Post(const std::string& body) {
    IntakeServer::Response r = Call("POST", "/api/v2/alerts", body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The `"fingerprint":"..."` values of a list, in its order.
  static std::vector<std::string> Fingerprints(const std::string& body) {
    std::vector<std::string> out;
    const std::string key = R"("fingerprint":")";
    for (size_t at = body.find(key); at != std::string::npos; at = body.find(key, at + 1)) {
      out.push_back(body.substr(at + key.size(), 16));
    }
    return out;
  }
  void Publish(const std::string& topic, const std::string& value) {
    std::string detail;
    ASSERT_EQ(server_->producer().Publish(topic, value, WallMs(), &detail),
              IntakeProducer::Outcome::kStored)
        << detail;
  }
};

TEST_F(AlertsApiTest, ListsWhatStillFiresWithItsSilencesAndOpenIncidents) {
  Start({}, kAlertRules);
  Post(Alert("DiskFull", "a", true));
  Post(Alert("DiskFull", "b", true));
  Post(Alert("DiskFull", "b", false));  // resolved since: not listed
  Post(Alert("CpuHigh", "a", true));
  // Received two hours ago: out of the window (1h), although it would still fire.
  std::string detail;
  ASSERT_EQ(server_->producer().Publish("alerts.prometheus", Alert("OldNews", "a", true),
                                        WallMs() - 7'200'000, &detail),
            IntakeProducer::Outcome::kStored)
      << detail;

  // By alertname: what amtool alert query prints.
  IntakeServer::Response all = Call("GET", "/api/v2/alerts");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.content_type, "application/json");
  ASSERT_EQ(Fingerprints(all.body).size(), 2u) << all.body;
  EXPECT_LT(all.body.find(R"("alertname":"CpuHigh")"), all.body.find(R"("alertname":"DiskFull")"));
  EXPECT_THAT(all.body, Not(HasSubstr(R"("host":"b")")));
  EXPECT_THAT(all.body, Not(HasSubstr("OldNews")));
  // Every alert's receiver is noisegate; booleans as Alertmanager reads them.
  EXPECT_EQ(Fingerprints(Call("GET", "/api/v2/alerts", "", "receiver=noise.*").body).size(), 2u);
  EXPECT_EQ(Call("GET", "/api/v2/alerts", "", "receiver=team-a").body, "[]\n");
  EXPECT_EQ(Call("GET", "/api/v2/alerts", "", "active=0").body, "[]\n");
  EXPECT_EQ(Fingerprints(Call("GET", "/api/v2/alerts", "", "active=YES").body).size(), 2u);
  // An empty value is no value (go-openapi's binding); of several, the last one counts.
  EXPECT_EQ(Fingerprints(Call("GET", "/api/v2/alerts", "", "active=&receiver=").body).size(), 2u);
  EXPECT_EQ(
      Fingerprints(Call("GET", "/api/v2/alerts", "", "receiver=team-a&receiver=noisegate").body)
          .size(),
      2u);

  IntakeServer::Response disk = Call(
      "GET", "/api/v2/alerts", "", "filter=alertname%3D%22DiskFull%22&filter=host%3D~%22a%7Cc%22");
  ASSERT_EQ(disk.status, 200) << disk.body;
  std::vector<std::string> fps = Fingerprints(disk.body);
  ASSERT_EQ(fps.size(), 1u) << disk.body;
  EXPECT_THAT(disk.body, HasSubstr(R"("labels":{"alertname":"DiskFull","host":"a",)"));
  EXPECT_THAT(disk.body, HasSubstr(R"("annotations":{"summary":"DiskFull on a"})"));
  EXPECT_THAT(disk.body, HasSubstr(R"("status":{"state":"active","silencedBy":[])"));
  EXPECT_THAT(disk.body, HasSubstr(R"("noisegate":{"topic":"alerts.prometheus","incidents":[]})"));

  // An open incident lists it on its page; one resolved since does not count.
  Publish(
      "noisegate.pages",
      R"({"event_action":"trigger","dedup_key":"ng-open","payload":{"custom_details":{"members":[{"fingerprint":")" +
          fps[0] + R"("}]}}})");
  Publish(
      "noisegate.tickets",
      R"({"event_action":"trigger","dedup_key":"ng-closed","payload":{"custom_details":{"members":[{"fingerprint":")" +
          fps[0] + R"("}]}}})");
  Publish("noisegate.tickets", R"({"event_action":"resolve","dedup_key":"ng-closed"})");
  // The same incident ticketed before it paged: its ticket does not hide the page's members.
  Publish(
      "noisegate.tickets",
      R"({"event_action":"trigger","dedup_key":"ng-open","payload":{"custom_details":{"members":[]}}})");
  disk = Call("GET", "/api/v2/alerts", "", "filter=alertname%3DDiskFull");
  EXPECT_THAT(disk.body, HasSubstr(R"("incidents":["ng-open"])")) << disk.body;

  // A silence: the alert is suppressed by it, and hidden with silenced=false.
  const int64_t now = WallMs();
  IntakeServer::Response s =
      Call("POST", "/api/v2/silences",
           R"({"matchers":[{"name":"host","value":"a","isRegex":false,"isEqual":true},)"
           R"({"name":"alertname","value":"Disk.*","isRegex":true,"isEqual":true}],"startsAt":")" +
               FormatRfc3339(EventTime{now}) + R"(","endsAt":")" +
               FormatRfc3339(EventTime{now + 3'600'000}) + R"(","createdBy":"a","comment":"c"})");
  ASSERT_EQ(s.status, 200) << s.body;
  const std::string id = s.body.substr(s.body.find(R"("silenceID":")") + 13, 36);
  disk = Call("GET", "/api/v2/alerts", "", "filter=alertname%3DDiskFull");
  EXPECT_THAT(disk.body, HasSubstr(R"("status":{"state":"suppressed","silencedBy":[")" + id +
                                   R"("],"inhibitedBy":[])"))
      << disk.body;
  all = Call("GET", "/api/v2/alerts", "", "silenced=false");
  ASSERT_EQ(Fingerprints(all.body).size(), 1u) << all.body;
  EXPECT_THAT(all.body, HasSubstr(R"("alertname":"CpuHigh")"));
}

TEST_F(AlertsApiTest, ABadFilterIsA400) {
  Start({}, kAlertRules);
  IntakeServer::Response r = Call("GET", "/api/v2/alerts", "", "filter=alertname%3D~%22%28%22");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("bad filter"));
}

}  // namespace
}  // namespace noisegate::processor

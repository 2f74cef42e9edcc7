// Alertmanager's silences API on the intake, against librdkafka's mock cluster: a silence is
// on the silences topic, keyed by its id, before it is answered; reads come from the topic;
// expiring writes the same id ending now; what Alertmanager refuses is refused. The real
// client (amtool) and a real broker: tests/kafka/live_test.sh silences.
#include "processor/intake/silences_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "processor/admin/host.h"
#include "tests/processor/intake/intake_fixture.h"

namespace noisegate::processor {
namespace {

using ::testing::HasSubstr;

const std::string kSilenceRules =
    std::string(kInputs) + "  - {topic: noisegate.silences, format: silences}\n" + kCorrelate;

class SilencesApiTest : public IntakeTest {
 protected:
  // A postable silence of `matchers` (JSON), from `from` to `to` minutes from now.
  static std::string Postable(const std::string& matchers, int from, int to,
                              const std::string& id = "") {
    const int64_t now = WallMs();
    return std::string("{") + (id.empty() ? "" : R"("id":")" + id + R"(",)") + R"("matchers":)" +
           matchers + R"(,"startsAt":")" + FormatRfc3339(EventTime{now + from * 60'000}) +
           R"(","endsAt":")" + FormatRfc3339(EventTime{now + to * 60'000}) +
           R"(","createdBy":"alice","comment":"INC-42"})";
  }
  static std::string IdOf(const IntakeServer::Response& r) {
    const std::string key = R"("silenceID":")";
    size_t at = r.body.find(key);
    if (at == std::string::npos) return "";
    at += key.size();
    return r.body.substr(at, r.body.find('"', at) - at);
  }
};

constexpr const char* kDisk =
    R"([{"name":"alertname","value":"DiskFull","isRegex":false,"isEqual":true}])";

TEST_F(SilencesApiTest, ASilenceIsOnTheTopicKeyedByItsIdBeforeItIsAnswered) {
  Start({}, kSilenceRules);
  IntakeServer::Response r = Call("POST", "/api/v2/silences", Postable(kDisk, -5, 60));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const std::string id = IdOf(r);
  ASSERT_EQ(id.size(), 36u) << r.body;
  EXPECT_EQ(id[14], '4') << "a version 4 UUID: " << id;
  std::vector<std::string> stored = Stored("noisegate.silences");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored[0], HasSubstr(R"("id":")" + id + "\""));
  EXPECT_THAT(stored[0], HasSubstr(R"("updatedAt":")"));
  // A start in the past becomes now, as Alertmanager does it: the silence is active.
  IntakeServer::Response one = Call("GET", "/api/v2/silence/" + id);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_THAT(one.body, HasSubstr(R"("status":{"state":"active"})"));
  EXPECT_THAT(one.body, HasSubstr(R"("createdBy":"alice")"));
  EXPECT_THAT(
      one.body,
      HasSubstr(R"({"name":"alertname","value":"DiskFull","isRegex":false,"isEqual":true})"));
}

TEST_F(SilencesApiTest, TheListIsFilteredAndOrderedAsAlertmanagersAndExpiringEndsASilence) {
  Start({}, kSilenceRules);
  const std::string disk = IdOf(Call("POST", "/api/v2/silences", Postable(kDisk, 0, 60)));
  const std::string cpu = IdOf(
      Call("POST", "/api/v2/silences",
           Postable(R"([{"name":"alertname","value":"CpuHigh","isRegex":false,"isEqual":true}])", 0,
                    30)));
  const std::string later = IdOf(Call("POST", "/api/v2/silences", Postable(kDisk, 60, 120)));
  ASSERT_FALSE(disk.empty() || cpu.empty() || later.empty());
  IntakeServer::Response all = Call("GET", "/api/v2/silences");
  ASSERT_EQ(all.status, 200) << all.body;
  // Active ones by end (cpu ends first), then the pending one.
  const size_t c = all.body.find(cpu), d = all.body.find(disk), l = all.body.find(later);
  ASSERT_TRUE(c != std::string::npos && d != std::string::npos && l != std::string::npos);
  EXPECT_LT(c, d);
  EXPECT_LT(d, l);
  EXPECT_THAT(all.body, HasSubstr(R"("state":"pending")"));
  IntakeServer::Response filtered =
      Call("GET", "/api/v2/silences", "", "filter=alertname%3D%22CpuHigh%22");
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  EXPECT_THAT(filtered.body, HasSubstr(cpu));
  EXPECT_EQ(filtered.body.find(disk), std::string::npos) << filtered.body;

  // Expired: the same id again, ending now; a second expiry is Alertmanager's error.
  EXPECT_EQ(Call("DELETE", "/api/v2/silence/" + disk).status, 200);
  std::vector<std::string> stored = Stored("noisegate.silences");
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_THAT(stored.back(), HasSubstr(disk));
  EXPECT_THAT(Call("GET", "/api/v2/silence/" + disk).body, HasSubstr(R"("state":"expired")"));
  IntakeServer::Response again = Call("DELETE", "/api/v2/silence/" + disk);
  EXPECT_EQ(again.status, 500);
  EXPECT_THAT(again.body, HasSubstr("already expired"));
  // A pending silence that is expired never starts.
  EXPECT_EQ(Call("DELETE", "/api/v2/silence/" + later).status, 200);
  IntakeServer::Response gone = Call("GET", "/api/v2/silence/" + later);
  EXPECT_THAT(gone.body, HasSubstr(R"("state":"expired")"));
  EXPECT_EQ(Call("DELETE", "/api/v2/silence/no-such-id").status, 404);
  EXPECT_EQ(Call("GET", "/api/v2/silence/no-such-id").status, 404);
}

// The string value of `key` in a JSON body (the first one).
std::string JsonField(const std::string& body, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  size_t at = body.find(k);
  if (at == std::string::npos) return "";
  at += k.size();
  return body.substr(at, body.find('"', at) - at);
}

TEST_F(SilencesApiTest, AnUpdateIsInPlaceWhereAlertmanagersWouldBe) {
  Start({}, kSilenceRules);
  // Active, the same matchers and start (as amtool silence update sends it): the same id.
  const std::string id = IdOf(Call("POST", "/api/v2/silences", Postable(kDisk, 0, 60)));
  const std::string starts = JsonField(Call("GET", "/api/v2/silence/" + id).body, "startsAt");
  ASSERT_FALSE(starts.empty());
  const std::string longer = R"({"id":")" + id + R"(","matchers":)" + kDisk + R"(,"startsAt":")" +
                             starts + R"(","endsAt":")" +
                             FormatRfc3339(EventTime{WallMs() + 240 * 60'000}) +
                             R"(","createdBy":"alice","comment":"longer"})";
  IntakeServer::Response upd = Call("POST", "/api/v2/silences", longer);
  ASSERT_EQ(upd.status, 200) << upd.body;
  EXPECT_EQ(IdOf(upd), id);
  EXPECT_THAT(Call("GET", "/api/v2/silence/" + id).body, HasSubstr(R"("comment":"longer")"));
  // Other matchers: the old silence ends now and the update is a new one.
  IntakeServer::Response other =
      Call("POST", "/api/v2/silences",
           Postable(R"([{"name":"alertname","value":"DiskSlow","isRegex":false,"isEqual":true}])",
                    0, 60, id));
  ASSERT_EQ(other.status, 200) << other.body;
  const std::string second = IdOf(other);
  EXPECT_NE(second, id);
  EXPECT_THAT(Call("GET", "/api/v2/silence/" + id).body, HasSubstr(R"("state":"expired")"));
  EXPECT_THAT(Call("GET", "/api/v2/silence/" + second).body, HasSubstr("DiskSlow"));
  // A pending one moved to start later: in place.
  const std::string pending = IdOf(Call("POST", "/api/v2/silences", Postable(kDisk, 30, 60)));
  IntakeServer::Response later = Call("POST", "/api/v2/silences", Postable(kDisk, 45, 90, pending));
  EXPECT_EQ(IdOf(later), pending);
  // An expired one is not revived.
  ASSERT_EQ(Call("DELETE", "/api/v2/silence/" + pending).status, 200);
  IntakeServer::Response revived =
      Call("POST", "/api/v2/silences", Postable(kDisk, 0, 60, pending));
  ASSERT_EQ(revived.status, 200) << revived.body;
  EXPECT_NE(IdOf(revived), pending);
  EXPECT_EQ(Call("POST", "/api/v2/silences", Postable(kDisk, 0, 60, "unknown")).status, 404);
}

TEST_F(SilencesApiTest, ASilenceLongExpiredIsForgottenAtTheNextWrite) {
  Start({}, kSilenceRules);
  // Ended six days ago (longer than the list shows expired ones).
  SilenceSpec old;
  old.id = "old-one";
  old.matchers.push_back({"alertname", "Gone", false, true});
  old.starts = EventTime{WallMs() - 7 * 86'400'000LL};
  old.ends = EventTime{WallMs() - 6 * 86'400'000LL};
  std::string detail;
  ASSERT_EQ(server_->producer().Publish("noisegate.silences", SilenceMessage(old, old.ends.ms),
                                        old.ends.ms, &detail, old.id),
            IntakeProducer::Outcome::kStored)
      << detail;
  EXPECT_EQ(Call("GET", "/api/v2/silence/old-one").status, 200);
  EXPECT_EQ(Call("GET", "/api/v2/silences").body.find("old-one"), std::string::npos);
  ASSERT_EQ(Call("POST", "/api/v2/silences", Postable(kDisk, 0, 60)).status, 200);
  // A tombstone for it, after the new silence: compaction drops it.
  std::vector<std::pair<std::string, bool>> messages;  // key, tombstone
  testing::ForEachMessage(bootstrap_, "noisegate.silences", 0, [&](const rd_kafka_message_t& m) {
    messages.emplace_back(std::string(static_cast<const char*>(m.key), m.key_len),
                          m.payload == nullptr);
  });
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[2], std::make_pair(std::string("old-one"), true));
  EXPECT_EQ(Call("GET", "/api/v2/silence/old-one").status, 404);
}

TEST_F(SilencesApiTest, WhatAlertmanagerRefusesIsA400AndNothingIsStored) {
  Start({}, kSilenceRules);
  struct Case {
    std::string body, says;
  };
  const Case cases[] = {
      {Postable(R"([{"name":"alertname","value":".*","isRegex":true,"isEqual":true}])", 0, 60),
       "empty string"},
      {Postable(R"([{"name":"alertname","value":"(","isRegex":true,"isEqual":true}])", 0, 60),
       "invalid regular expression"},
      {Postable(kDisk, -60, -5), "in the past"},
      {Postable(kDisk, 60, 30), "before startsAt"},
      {"{not json", "not_json"},
  };
  for (const Case& c : cases) {
    IntakeServer::Response r = Call("POST", "/api/v2/silences", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_THAT(r.body, HasSubstr(c.says)) << c.body;
  }
  EXPECT_TRUE(Stored("noisegate.silences").empty());
  IntakeServer::Response put = Call("PUT", "/api/v2/silences");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.headers.back(), std::make_pair(std::string("Allow"), std::string("GET, POST")));
  EXPECT_EQ(Call("GET", "/api/v2/silences", "", "filter=not%20a%20matcher").status, 400);
}

TEST_F(SilencesApiTest, WithoutASilencesInputTheApiSaysWhatToAddAndStatusStillAnswers) {
  Start();
  IntakeServer::Response r = Call("GET", "/api/v2/silences");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("format: silences"));
  IntakeServer::Response status = Call("GET", "/api/v2/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_THAT(status.body, HasSubstr(R"("cluster":{"status":"disabled")"));
}

TEST_F(SilencesApiTest, TheApiNeedsTheIntakesCredentials) {
  IntakeConfig config;
  config.bearer_token_file = ::testing::TempDir() + "silences_api_test.token";
  std::ofstream(config.bearer_token_file) << "t0ken\n";
  Start(config, kSilenceRules);
  EXPECT_EQ(Call("GET", "/api/v2/silences").status, 401);
  IntakeServer::Request req;
  req.method = "GET";
  req.path = "/api/v2/silences";
  req.authorization = "Bearer t0ken";
  EXPECT_EQ(server_->Handle(req).status, 200);
}

}  // namespace
}  // namespace noisegate::processor

// Tests of the `silences` decoder: Alertmanager's silence model as the silences API writes it
// to its topic, and what Alertmanager would refuse.
#include "processor/decode/silences.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"
#include "tests/processor/decode/decode_test_util.h"

namespace noisegate::processor {
namespace {

using decode_test::Harness;
using ::testing::HasSubstr;

constexpr const char* kSilence = R"({"id":"5c9d2a4e-1f7b-4e1a-9c3d-2b8f6a0e7d11",
  "matchers":[{"name":"alertname","value":"DiskFull","isRegex":false,"isEqual":true},
              {"name":"instance","value":"db-.*","isRegex":true,"isEqual":false}],
  "startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T12:00:00.5Z",
  "createdBy":"alice","comment":"INC-42: disk being replaced",
  "updatedAt":"2026-11-24T09:59:00Z","status":{"state":"active"}})";

TEST(SilencesDecoder, ReadsAlertmanagersSilenceModel) {
  Harness h("silences");
  h.Run(kSilence);
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record& r = h.out[0];
  EXPECT_EQ(r.kind, SignalKind::kSilence);
  EXPECT_EQ(r.input, 7);
  EXPECT_TRUE(r.labels.empty());
  ASSERT_NE(r.silence, nullptr);
  const SilenceSpec& s = *r.silence;
  EXPECT_EQ(s.id, "5c9d2a4e-1f7b-4e1a-9c3d-2b8f6a0e7d11");
  ASSERT_EQ(s.matchers.size(), 2u);
  EXPECT_EQ(s.matchers[0].name, "alertname");
  EXPECT_EQ(s.matchers[0].value, "DiskFull");
  EXPECT_FALSE(s.matchers[0].regex);
  EXPECT_TRUE(s.matchers[0].equal);
  EXPECT_TRUE(s.matchers[1].regex);
  EXPECT_FALSE(s.matchers[1].equal);
  EventTime starts, ends, updated;
  ASSERT_TRUE(ParseTimeText("2026-11-24T10:00:00Z", &starts));
  ASSERT_TRUE(ParseTimeText("2026-11-24T12:00:00.5Z", &ends));
  ASSERT_TRUE(ParseTimeText("2026-11-24T09:59:00Z", &updated));
  EXPECT_EQ(s.starts, starts);
  EXPECT_EQ(s.ends, ends);
  EXPECT_EQ(s.created_by, "alice");
  EXPECT_EQ(s.comment, "INC-42: disk being replaced");
  EXPECT_EQ(r.time, updated) << "no Kafka timestamp: updatedAt";
  h.Run(kSilence, 1795500000000);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].time.ms, 1795500000000) << "the Kafka timestamp: when it was written";
}

TEST(SilencesDecoder, IsEqualDefaultsToTrueAsInAlertmanager) {
  Harness h("silences");
  h.Run(R"({"id":"a","matchers":[{"name":"service","value":"search","isRegex":false}],
            "startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T11:00:00Z"})");
  ASSERT_EQ(h.out.size(), 1u) << h.dead[0].detail;
  EXPECT_TRUE(h.out[0].silence->matchers[0].equal);
  EXPECT_EQ(h.out[0].time, h.out[0].silence->starts) << "no updatedAt: startsAt";
}

TEST(SilencesDecoder, WhatAlertmanagerRefusesIsADeadLetterWithItsReason) {
  struct Case {
    const char* body;
    std::string_view reason;
    const char* detail;
  };
  const Case cases[] = {
      {R"({"matchers":[{"name":"a","value":"b"}],"startsAt":"2026-11-24T10:00:00Z",
           "endsAt":"2026-11-24T11:00:00Z"})",
       reason::kMissingField, "id"},
      {R"({"id":"x","startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T11:00:00Z"})",
       reason::kMissingField, "matchers"},
      {R"({"id":"x","matchers":[{"name":"a","value":"b"}],"startsAt":"soon",
           "endsAt":"2026-11-24T11:00:00Z"})",
       reason::kBadTimestamp, "startsAt"},
      {R"({"id":"x","matchers":[{"name":"a","value":"b"}],"startsAt":"2026-11-24T10:00:00Z"})",
       reason::kMissingField, "endsAt"},
      {R"({"id":"x","matchers":{"name":"a"},"startsAt":"2026-11-24T10:00:00Z",
           "endsAt":"2026-11-24T11:00:00Z"})",
       reason::kWrongType, "matchers"},
      {R"({"id":"x","matchers":[{"name":"a","value":"b","isRegex":"yes"}],
           "startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T11:00:00Z"})",
       reason::kWrongType, "isRegex"},
      {R"({"id":"x","matchers":[{"name":"a","value":"(","isRegex":true}],
           "startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T11:00:00Z"})",
       reason::kBadSilence, "invalid regular expression"},
      {R"({"id":"x","matchers":[{"name":"a","value":".*","isRegex":true}],
           "startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T11:00:00Z"})",
       reason::kBadSilence, "empty string"},
      {R"({"id":"x","matchers":[{"name":"a","value":"b"}],"startsAt":"2026-11-24T10:00:00Z",
           "endsAt":"2026-11-24T09:00:00Z"})",
       reason::kBadSilence, "before startsAt"},
      {R"({"id":"x","matchers":[],"startsAt":"2026-11-24T10:00:00Z",
           "endsAt":"2026-11-24T11:00:00Z"})",
       reason::kBadSilence, "at least one matcher"},
      {R"([{"id":"x"}])", reason::kUnsupportedShape, "one object"},
      {R"({"labels":{"a":"b"}})", reason::kUnsupportedShape, "no silence fields"},
  };
  Harness h("silences");
  for (const Case& c : cases) {
    h.Run(c.body);
    EXPECT_EQ(h.out.size(), 0u) << c.body;
    ASSERT_EQ(h.dead.size(), 1u) << c.body;
    EXPECT_EQ(h.dead[0].reason, c.reason) << c.body << ": " << h.dead[0].detail;
    EXPECT_THAT(h.dead[0].detail, HasSubstr(c.detail)) << c.body;
  }
}

TEST(SilencesDecoder, ThePostableFormNeedsNoId) {
  std::unique_ptr<Decoder> d = MakePostableSilenceDecoder();
  RecordBatch out;
  std::vector<DeadLetter> dead;
  MessageMeta meta;
  d->Decode(R"({"matchers":[{"name":"a","value":"b","isRegex":false,"isEqual":true}],
                "startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T11:00:00Z",
                "createdBy":"amtool","comment":"c"})",
            meta, out, dead);
  ASSERT_TRUE(dead.empty()) << dead[0].detail;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].silence->id, "");
  EXPECT_EQ(out[0].silence->created_by, "amtool");
}

}  // namespace
}  // namespace noisegate::processor

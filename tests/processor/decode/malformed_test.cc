// Bad input of every kind through every decoder: each is rejected whole with its exact reason,
// no record leaks out of a rejected message, and decoders are reusable afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"
#include "tests/processor/decode/decode_test_util.h"

namespace noisegate::processor {
namespace {

using decode_test::ExpectSameRecord;
using decode_test::Harness;
using decode_test::kT0;
using decode_test::ReadFixture;
using ::testing::HasSubstr;

struct FormatCase {
  std::string format;
  std::vector<std::string> fixtures;  // each decodes to at least one record
  friend std::ostream& operator<<(std::ostream& os, const FormatCase& c) { return os << c.format; }
};

std::vector<FormatCase> AllFormats() {
  return {
      {"alertmanager", {"alertmanager_webhook.json", "alertmanager_api_alerts.json"}},
      {"grafana", {"grafana_webhook.json"}},
      {"newrelic", {"newrelic_activated.json", "newrelic_closed.json"}},
      {"datadog", {"datadog_triggered.json", "datadog_recovered.json"}},
      {"json_log", {"json_log_ecs.json", "json_log_plain.json"}},
  };
}

class MalformedTest : public ::testing::TestWithParam<FormatCase> {};

INSTANTIATE_TEST_SUITE_P(AllFormats, MalformedTest, ::testing::ValuesIn(AllFormats()),
                         [](const auto& info) { return info.param.format; });

TEST_P(MalformedTest, FixturesDecodeCleanly) {
  Harness h(GetParam().format);
  for (const std::string& name : GetParam().fixtures) {
    SCOPED_TRACE(name);
    h.Run(ReadFixture(name));
    EXPECT_GE(h.out.size(), 1u);
    EXPECT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  }
}

TEST_P(MalformedTest, EmptyAndWhitespaceOnly) {
  Harness h(GetParam().format);
  h.Run("");
  h.ExpectRejected(reason::kEmpty);
  h.Run(" \n\t\r ");
  h.ExpectRejected(reason::kEmpty);
  h.Run("\xEF\xBB\xBF");  // a byte order mark and nothing else
  h.ExpectRejected(reason::kEmpty);
}

// Every proper prefix of a document is a cut-short message (kcat captures cut at a size
// limit): always `truncated`, never a record.
TEST_P(MalformedTest, EveryPrefixOfAFixtureIsTruncated) {
  Harness h(GetParam().format);
  for (const std::string& name : GetParam().fixtures) {
    SCOPED_TRACE(name);
    const std::string doc(TrimSpace(ReadFixture(name)));
    for (size_t len = 1; len < doc.size(); ++len) {
      const std::string_view prefix(doc.data(), len);
      if (TrimSpace(prefix).empty()) continue;
      h.Run(prefix, kT0);
      ASSERT_EQ(h.out.size(), 0u) << "prefix of " << len << " bytes leaked records";
      ASSERT_EQ(h.dead.size(), 1u) << len;
      ASSERT_EQ(h.dead[0].reason, reason::kTruncated) << len << ": " << h.dead[0].detail;
      ASSERT_EQ(h.dead[0].index, 0);
    }
  }
}

TEST_P(MalformedTest, TrailingGarbageIsNotJson) {
  Harness h(GetParam().format);
  const std::string doc = ReadFixture(GetParam().fixtures[0]);
  for (const char* tail : {"x", "}", "]", " {}", ",", "\"", " 1", " null"}) {
    SCOPED_TRACE(tail);
    h.Run(doc + tail);
    h.ExpectRejected(reason::kNotJson);
  }
}

TEST_P(MalformedTest, InvalidUtf8InsideAStringIsRejected) {
  Harness h(GetParam().format);
  const std::string doc = ReadFixture(GetParam().fixtures[0]);
  // Put the bad bytes inside the first string value of the document.
  const size_t colon = doc.find("\":");
  const size_t quote = doc.find('"', colon + 2);
  ASSERT_NE(quote, std::string::npos);
  for (std::string bad : {"\xff", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    std::string payload = doc;
    payload.insert(quote + 1, bad);
    h.Run(payload);
    h.ExpectRejected(reason::kInvalidUtf8);
  }
}

TEST_P(MalformedTest, CutInsideAMultiByteCharacterIsTruncatedNotBadUtf8) {
  Harness h(GetParam().format);
  h.Run("{\"title\":\"caf\xc3");
  h.ExpectRejected(reason::kTruncated);
  h.Run("{\"title\":\"\xe2\x82");
  h.ExpectRejected(reason::kTruncated);
}

// On-Demand does not look inside what it skips; the decoders must, or a malformed tail in an
// ignored field would pass.
TEST_P(MalformedTest, SyntaxErrorsInIgnoredFieldsAreCaught) {
  Harness h(GetParam().format);
  const std::string doc(TrimSpace(ReadFixture(GetParam().fixtures[0])));
  for (const char* bad :
       {R"("zz_ignored": [1 2])", R"("zz_ignored": tru)", R"("zz_ignored": nul)",
        R"("zz_ignored": 1.2.3)", R"("zz_ignored": -)", R"("zz_ignored": "\q")",
        R"("zz_ignored": {"a" 1})", R"("zz_ignored": {"a":1,})", R"("zz_ignored": [1,])",
        R"("zz_ignored": 01)",
        // After an unread scalar On-Demand only counts brackets:
        R"("zz_ignored": "b": "c"], "zz2": 1)", R"("zz_ignored": 1: 2], "zz2": 1)",
        R"("zz_ignored": true 2, "zz2": 1)", R"("zz_ignored": [{"a": "b" "c"}], "zz2": 1)"}) {
    SCOPED_TRACE(bad);
    std::string payload = doc;
    if (payload.front() == '{') {
      payload.insert(payload.size() - 1, std::string(",") + bad);
    } else {  // an array of objects: put it into the last one
      payload.insert(payload.rfind('}'), std::string(",") + bad);
    }
    h.Run(payload);
    h.ExpectRejected(reason::kNotJson);
  }
}

TEST_P(MalformedTest, NotJsonAtAll) {
  Harness h(GetParam().format);
  for (const char* bad :
       {"hello", "<html>", "{'a': 1}", "{a:1}", "[1 2]", "{\"a\":1}}", "{\"a\" 1}", "}", "tru e"}) {
    SCOPED_TRACE(bad);
    h.Run(bad);
    h.ExpectRejected(reason::kNotJson);
  }
}

TEST_P(MalformedTest, ScalarDocumentsAreUnsupportedOrMalformed) {
  Harness h(GetParam().format);
  for (const char* ok : {"null", " true ", "\"text\"", "-1.5e3", "1e400", "0"}) {
    SCOPED_TRACE(ok);
    h.Run(ok);
    h.ExpectRejected(reason::kUnsupportedShape);
  }
  for (const char* cut : {"nul", "\"text", "-", "1.", "tr"}) {
    SCOPED_TRACE(cut);
    h.Run(cut);
    h.ExpectRejected(reason::kTruncated);
  }
  for (const char* bad : {"null`", "null x", "nulx", "1.2.3", "01", "\"a\" \"b\"", "true false"}) {
    SCOPED_TRACE(bad);
    h.Run(bad);
    h.ExpectRejected(reason::kNotJson);
  }
}

TEST_P(MalformedTest, NumberBeyondDoubleRangeIsUnsupported) {
  Harness h(GetParam().format);
  const std::string doc(TrimSpace(ReadFixture(GetParam().fixtures[0])));
  h.Run(doc.substr(0, doc.size() - 1) + ",\"zz\": 1e400}");
  h.ExpectRejected(reason::kUnsupportedShape);
  h.Run(doc.substr(0, doc.size() - 1) + ",\"zz\": 123456789012345678901234567890}");
  EXPECT_GE(h.out.size(), 1u);  // a big integer is fine
  EXPECT_TRUE(h.dead.empty());
}

TEST_P(MalformedTest, NestingBeyondTheLimitIsRejectedCleanly) {
  Harness h(GetParam().format);
  const std::string deep = std::string(2000, '[') + std::string(2000, ']');
  h.Run("{\"zz\":" + deep + "}");
  h.ExpectRejected(reason::kUnsupportedShape);
  h.Run("{\"zz\":" + std::string(100000, '['));
  h.ExpectRejected(reason::kTruncated);
  h.Run(std::string(100000, '{'));
  h.ExpectRejected(reason::kNotJson);  // '{' where a key must be
}

TEST_P(MalformedTest, OneMegabyteMessageDecodesOrIsRejectedCleanly) {
  Harness h(GetParam().format);
  // A 1 MiB string inside a field each format reads.
  const std::string big(1 << 20, 'x');
  std::string payload;
  const std::string& f = GetParam().format;
  if (f == "alertmanager" || f == "grafana") {
    payload =
        R"({"alerts":[{"status":"firing","labels":{"alertname":"Big"},"annotations":{"summary":")" +
        big + R"("},"startsAt":"2026-11-24T03:00:00Z"}]})";
  } else if (f == "newrelic") {
    payload =
        R"({"issueId":"i","state":"ACTIVATED","updatedAt":1795489200000,"title":")" + big + "\"}";
  } else if (f == "datadog") {
    payload = R"({"alert_id":"1","alert_transition":"Triggered","date":1795489200000,"body":")" +
              big + "\"}";
  } else {
    payload = R"({"service":"s","time":1795489200000,"message":")" + big + "\"}";
  }
  h.Run(payload);
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record& r = h.out[0];
  EXPECT_TRUE(r.summary.size() == big.size() || r.description.size() == big.size());

  // Far beyond the limit: rejected before parsing.
  h.Run(std::string(kMaxPayloadBytes + 1, ' ') + "{}");
  h.ExpectRejected(reason::kTooLarge);
}

// A driver reuses one decoder and one batch for every message: nothing of a previous message
// (labels, strings, dead letters, records) may show in the next.
TEST_P(MalformedTest, ReuseIsClean) {
  Harness h(GetParam().format);
  for (const std::string& name : GetParam().fixtures) {
    SCOPED_TRACE(name);
    const std::string doc = ReadFixture(name);
    Harness fresh(GetParam().format);
    fresh.Run(doc);
    ASSERT_GE(fresh.out.size(), 1u);

    for (const std::string& other :
         {ReadFixture(GetParam().fixtures.back()), std::string(R"({"x":[1,2)"), doc}) {
      h.Run(other);
    }
    // Decoding the same message twice in a row gives identical records.
    for (int round = 0; round < 2; ++round) {
      h.Run(doc);
      ASSERT_EQ(h.out.size(), fresh.out.size());
      ASSERT_TRUE(h.dead.empty());
      for (size_t i = 0; i < h.out.size(); ++i) ExpectSameRecord(h.out[i], fresh.out[i]);
    }
  }
}

// A batch may hold records of earlier messages: rejecting a message must remove only its own.
TEST_P(MalformedTest, RejectionRollsBackOnlyTheRejectedMessage) {
  Harness h(GetParam().format);
  const std::string doc = ReadFixture(GetParam().fixtures[0]);
  h.Run(doc);
  const size_t good = h.out.size();
  ASSERT_GE(good, 1u);
  h.Append(std::string(TrimSpace(doc)) + " garbage");
  EXPECT_EQ(h.out.size(), good);
  ASSERT_EQ(h.dead.size(), 1u);
  EXPECT_EQ(h.dead[0].reason, reason::kNotJson);
  h.Append(doc);
  EXPECT_EQ(h.out.size(), 2 * good);
}

TEST(MalformedAlertmanager, PerRecordDeadLettersOfARejectedMessageAreWithdrawn) {
  Harness h("alertmanager");
  // Alert 1 alone would be a wrong_type dead letter; the message is then found to be cut.
  h.Run(R"({"alerts":[{"labels":{"alertname":"A"},"startsAt":"2026-11-24T03:00:00Z"},
                      {"labels":"x","startsAt":"2026-11-24T03:00:00Z"},
                      {"labels":{"alertname":"C"},"startsAt":"2026-11-24T03:00:00Z"}])");
  h.ExpectRejected(reason::kTruncated);
  // And a wrong alerts type loses to a syntax error later on.
  h.Run(R"({"alerts":"none","x":[1 2]})");
  h.ExpectRejected(reason::kNotJson);
}

TEST(MalformedAlertmanager, SyntaxErrorsAfterFieldsThatAreReadAreCaught) {
  Harness h("alertmanager");
  const std::string starts = R"("startsAt":"2026-11-24T03:00:00Z")";
  for (const std::string& alert : {R"({"labels":{"alertname":"A":"x"],"b":"c"},)" + starts + "}",
                                   R"({"labels":{"alertname":"A"},)" + starts + R"( "x"})",
                                   R"({"labels":{"code":500:1]},)" + starts + "}",
                                   R"({"labels":{"code":true:1]},)" + starts + "}"}) {
    SCOPED_TRACE(alert);
    h.Run(R"({"alerts":[)" + alert + "]}");
    h.ExpectRejected(reason::kNotJson);
  }
}

TEST(MalformedAlertmanager, DetailsSayWhereTheProblemIs) {
  Harness h("alertmanager");
  h.Run("{\"alerts\":[{\"labels\":{\"a\":\"b\"}}],\"x\":tru}");
  h.ExpectRejected(reason::kNotJson);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("byte 40"));
  h.Run("{\"alerts\":[{\"labels\":{\"a\":\"\xff\"}}]}");
  h.ExpectRejected(reason::kInvalidUtf8);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("byte 27"));
}

}  // namespace
}  // namespace noisegate::processor

// Tests of the decoders' shared helpers: the syntax check that tells truncated from malformed
// JSON, vendor time parsing, and the registry.
#include "processor/decode/json_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "processor/decode/decoder.h"

namespace noisegate::processor {
namespace {

using ::testing::ElementsAre;

JsonSyntax Check(std::string_view s) {
  size_t offset = 0;
  return CheckJsonSyntax(s, &offset);
}

TEST(CheckJsonSyntax, CompleteDocuments) {
  for (const char* s : {"{}", "[]", "0", "-1.5e+3", "\"a\\u00e9\\n\"", "true", "null",
                        " {\"a\" : [1, {\"b\": false}, \"x\"] } \n", "[[[]]]"}) {
    EXPECT_EQ(Check(s), JsonSyntax::kComplete) << s;
  }
}

TEST(CheckJsonSyntax, ProperPrefixesAreTruncated) {
  for (const char* s :
       {"{", "{\"a", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "[1,", "[-", "[1.", "[1e",
        "[1e+", "[tr", "[nul", "\"ab\\", "\"\\u00", "[{\"a\":[]", "-"}) {
    EXPECT_EQ(Check(s), JsonSyntax::kTruncated) << s;
  }
}

TEST(CheckJsonSyntax, ErrorsBeforeTheEndAreInvalid) {
  size_t offset = 0;
  EXPECT_EQ(CheckJsonSyntax("{\"a\":1}x", &offset), JsonSyntax::kInvalid);
  EXPECT_EQ(offset, 7u);
  for (const char* s : {"{\"a\":1}}", "{\"a\" 1}", "[1 2", "{\"a\":01}", "[1.]", "[tru e]", "{,}",
                        "[,1]", "{\"a\":1,}", "\"\\x\"", "\"a\x01\"", "{1:2}", "]", "[\"a\":1]"}) {
    EXPECT_EQ(Check(s), JsonSyntax::kInvalid) << s;
  }
}

TEST(ParseTimeText, EpochUnitsByMagnitudeAndRfc3339) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (const Case& c :
       {Case{"1795489200", 1795489200000}, Case{"1795489200.25", 1795489200250},
        Case{"1795489200123", 1795489200123}, Case{"1795489200123456", 1795489200123},
        Case{"1795489200123456789", 1795489200123}, Case{"1.7954892e9", 1795489200000},
        Case{" 1795489200 ", 1795489200000}, Case{"2026-11-24T03:00:00Z", 1795489200000},
        Case{"2026-11-24T04:00:00.5+01:00", 1795489200500}}) {
    EventTime t;
    ASSERT_TRUE(ParseTimeText(c.text, &t)) << c.text;
    EXPECT_EQ(t.ms, c.ms) << c.text;
  }
  EventTime t;
  for (const char* bad : {"", "soon", "-5", "1e400", "2026-11-24", "$DATE", "0x10"}) {
    EXPECT_FALSE(ParseTimeText(bad, &t)) << bad;
  }
}

TEST(ParseTimeText, GoZeroTimeIsRecognised) {
  EventTime t;
  ASSERT_TRUE(ParseTimeText("0001-01-01T00:00:00Z", &t));
  EXPECT_TRUE(IsZeroTime(t));
  ASSERT_TRUE(ParseTimeText("1970-01-01T00:00:00Z", &t));
  EXPECT_FALSE(IsZeroTime(t));
}

TEST(Registry, KnowsTheFiveFormatsInOrder) {
  EXPECT_THAT(DecoderFormats(),
              ElementsAre("alertmanager", "grafana", "newrelic", "datadog", "json_log"));
  for (std::string_view f : DecoderFormats()) EXPECT_NE(MakeDecoder(f, {}), nullptr) << f;
}

TEST(Registry, UnknownFormatGivesNoDecoder) {
  EXPECT_EQ(MakeDecoder("prometheus", {}), nullptr);
  EXPECT_EQ(MakeDecoder("", {}), nullptr);
  EXPECT_EQ(MakeDecoder("Alertmanager", {}), nullptr);
}

}  // namespace
}  // namespace noisegate::processor

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
        Case{"1795.4892e+6", 1795489200000}, Case{"5.0e-1", 500},  // "-" where a date has one
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

TEST(Registry, KnowsTheSixFormatsInOrder) {
  EXPECT_THAT(DecoderFormats(), ElementsAre("alertmanager", "grafana", "newrelic", "datadog",
                                            "json_log", "silences"));
  for (std::string_view f : DecoderFormats()) EXPECT_NE(MakeDecoder(f, {}), nullptr) << f;
}

TEST(Registry, UnknownFormatGivesNoDecoder) {
  EXPECT_EQ(MakeDecoder("prometheus", {}), nullptr);
  EXPECT_EQ(MakeDecoder("", {}), nullptr);
  EXPECT_EQ(MakeDecoder("Alertmanager", {}), nullptr);
}

}  // namespace
}  // namespace noisegate::processor

namespace noisegate::processor {
namespace {

// ScanStringBody reads 16 or 8 bytes at a time: the stop byte must be found at every offset
// of a block, and the first of several wins.
TEST(ScanStringBody, FindsTheFirstQuoteBackslashOrControlByteAtEveryOffset) {
  for (char stop : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (size_t at = 0; at < 40; ++at) {
      std::string buf(at, 'a');
      buf += stop;
      buf += "b\"";
      buf.append(64, '\0');  // padding, as the decoders' buffer has
      const char* found = ScanStringBody(buf.data());
      EXPECT_EQ(static_cast<size_t>(found - buf.data()), at) << "stop byte " << int(stop);
    }
  }
  // Bytes >= 0x80 (UTF-8) and 0x20 are ordinary string bytes.
  std::string utf8 = "caf\xc3\xa9 \x7f\xff\"";
  utf8.append(64, '\0');
  EXPECT_EQ(ScanStringBody(utf8.data()) - utf8.data(), 8);
}

std::string AlertWithLabel(const std::string& raw_value) {
  return R"({"status":"firing","labels":{"alertname":"A","v":")" + raw_value + R"("}})";
}

// Escapes at every offset of the scan's blocks decode to their characters; a raw control byte
// inside a string is malformed JSON and rejects the message.
TEST(ReadString, EscapesAndControlBytesAtEveryOffset) {
  auto decoder = MakeDecoder("alertmanager", DecoderConfig{});
  RecordBatch out;
  std::vector<DeadLetter> dead;
  MessageMeta meta;
  meta.topic = "t";
  meta.kafka_ts = 1;
  for (size_t at = 0; at < 40; ++at) {
    const std::string prefix(at, 'x');
    out.Reset();
    dead.clear();
    decoder->Decode(AlertWithLabel(prefix + R"(\"q\\n\u00e9)"), meta, out, dead);
    ASSERT_EQ(out.size(), 1u) << at << (dead.empty() ? "" : dead[0].detail);
    EXPECT_EQ(out[0].labels.Get("v"), prefix + "\"q\\n\xc3\xa9") << at;

    out.Reset();
    dead.clear();
    decoder->Decode(AlertWithLabel(prefix + "\x01" + "tail"), meta, out, dead);
    EXPECT_EQ(out.size(), 0u) << at;
    ASSERT_EQ(dead.size(), 1u) << at;
    EXPECT_EQ(dead[0].reason, "not_json") << at << ": " << dead[0].detail;
  }
}

}  // namespace
}  // namespace noisegate::processor

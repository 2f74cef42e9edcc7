// The edges' formats: JSON escaping and envelopes read tolerantly (render_test.cc: events
// shaped as interfaces.md says).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>

#include "dedup/engine.h"
#include "processor/output/json_writer.h"
#include "processor/output/render.h"
#include "processor/replay/dump_reader.h"
#include "rules/loader.h"

namespace noisegate::processor {
namespace {

std::string Esc(std::string_view s) {
  std::string out;
  JsonWriter::Escape(s, &out);
  return out;
}

TEST(JsonWriterTest, EscapesControlCharactersQuotesAndBackslashes) {
  EXPECT_EQ(Esc("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Esc("caf\xc3\xa9 \xf0\x9f\x94\xa5"), "\"caf\xc3\xa9 \xf0\x9f\x94\xa5\"");
  EXPECT_EQ(Esc("bad \xff\xfe"), "\"bad \xef\xbf\xbd\xef\xbf\xbd\"");
  EXPECT_EQ(Esc("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");                  // overlong '/'
  EXPECT_EQ(Esc("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // surrogate
  EXPECT_EQ(Esc("cut \xe2\x82"), "\"cut \xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST(DumpReaderTest, ParsesAKcatEnvelopeWithHeadersAndEscapes) {
  DumpMessage m;
  std::string err;
  ASSERT_TRUE(ParseEnvelope(
      R"({"topic":"t","partition":2,"offset":42,"tstype":"create","ts":1732406400123,"broker":1,)"
      R"("headers":["a","b",{"x":[1,2]}],"key":"k","payload":"{\"a\":\"\u00e9\\n\ud83d\udd25\"}"})",
      &m, &err))
      << err;
  EXPECT_EQ(m.topic, "t");
  EXPECT_EQ(m.partition, 2);
  EXPECT_EQ(m.offset, 42);
  ASSERT_TRUE(m.ts.has_value());
  EXPECT_EQ(*m.ts, 1732406400123);
  EXPECT_EQ(m.key, "k");
  EXPECT_EQ(m.payload, "{\"a\":\"\xc3\xa9\\n\xf0\x9f\x94\xa5\"}");
}

TEST(DumpReaderTest, KeepsInvalidUtf8PayloadBytesSoTheMessageReachesTheDeadLetters) {
  DumpMessage m;
  std::string err;
  ASSERT_TRUE(
      ParseEnvelope("{\"topic\":\"t\",\"offset\":1,\"key\":null,\"payload\":\"x\xff\"}", &m, &err));
  EXPECT_EQ(m.payload, "x\xff");
  EXPECT_TRUE(m.key_null);
  EXPECT_FALSE(m.ts.has_value());
}

// The payload scan looks 16 bytes at a time for the next quote or backslash: escapes at every
// offset of a block, and a string that ends mid-block, come out whole.
TEST(DumpReaderTest, PayloadEscapesAtEveryOffset) {
  for (size_t at = 0; at < 40; ++at) {
    const std::string plain(at, 'p');
    DumpMessage m;
    std::string err;
    ASSERT_TRUE(
        ParseEnvelope(R"({"topic":"t","offset":1,"payload":")" + plain + R"(\"x\\y"})", &m, &err))
        << at << ": " << err;
    EXPECT_EQ(m.payload, plain + "\"x\\y") << at;
  }
}

TEST(DumpReaderTest, ANullTimestampIsNoTimestamp) {
  DumpMessage m;
  std::string err;
  ASSERT_TRUE(
      ParseEnvelope(R"({"topic":"t","offset":3,"ts":null,"key":null,"payload":"{}"})", &m, &err))
      << err;
  EXPECT_FALSE(m.ts.has_value());
  EXPECT_EQ(m.payload, "{}");
}

TEST(DumpReaderTest, ALineCutShortKeepsItsAddress) {
  DumpMessage m;
  std::string err;
  EXPECT_FALSE(
      ParseEnvelope(R"({"topic":"t","partition":1,"offset":9,"ts":5,"payload":"{\"al)", &m, &err));
  EXPECT_TRUE(m.addressed);
  EXPECT_EQ(m.topic, "t");
  EXPECT_EQ(m.offset, 9);
}

TEST(DumpReaderTest, RejectsWhatIsNotAnEnvelope) {
  DumpMessage m;
  std::string err;
  EXPECT_FALSE(ParseEnvelope("not json", &m, &err));
  EXPECT_FALSE(ParseEnvelope(R"({"topic":"t","payload":"x"})", &m, &err));  // no offset
  EXPECT_FALSE(ParseEnvelope(R"({"topic":"t","offset":1,"payload":"x"} trailing)", &m, &err));
  EXPECT_FALSE(ParseEnvelope(R"({"topic":"t","offset":1,"payload":"unterminated})", &m, &err));
}

// A dump that interleaves two channels, with a blank line, an unreadable one, one whose
// envelope lists its fields in another order, one cut short past its address and a CRLF
// ending: each channel's reader gets exactly its own messages, with their line numbers.
TEST(DumpReaderTest, EachChannelOfAnInterleavedDumpReadsItsOwnLines) {
  const std::string path = ::testing::TempDir() + "/interleaved.jsonl";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"topic":"a","partition":0,"offset":0,"payload":"a0"}
{"topic":"a","partition":0,"offset":1,"payload":"a1"}
{"topic":"b","partition":1,"offset":0,"payload":"b0"}

{"topic":"a","partition":0,"offset":2,"payload":"a2"}
not an envelope
{"topic":"a","partition":0,"offset":3,"payload":"a3"})"
               "\r\n"
               R"({"payload":"b1","offset":1,"partition":1,"topic":"b"}
{"topic":"b","partition":1,"offset":2,"payload":"cut
{"topic":"a","partition":0,"offset":4,"payload":"a4"})",
               f);
    std::fclose(f);
  }
  std::vector<DumpChannel> channels;
  std::string error;
  std::vector<std::string> skipped;
  std::shared_ptr<const DumpBytes> bytes;
  ASSERT_TRUE(ScanDump(
      path, std::nullopt, &channels, &error,
      [&](const std::string& why) { skipped.push_back(why); }, &bytes))
      << error;
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find(":6: "), std::string::npos) << skipped[0];
  ASSERT_EQ(channels.size(), 2u);
  auto read = [&](const DumpChannel& c) {
    std::string got, why;
    DumpReader reader(path, std::nullopt, bytes);
    EXPECT_TRUE(reader.Open(c, &error)) << error;
    DumpMessage m;
    while (reader.Next(&m, &why)) {
      EXPECT_EQ(why, "");
      got += std::to_string(m.line) + ":" + m.topic + "/" + std::to_string(m.offset) + "=" +
             (m.addressed ? "cut" : m.payload) + " ";
    }
    return got;
  };
  EXPECT_EQ(read(channels[0]), "1:a/0=a0 2:a/1=a1 5:a/2=a2 7:a/3=a3 10:a/4=a4 ");
  EXPECT_EQ(read(channels[1]), "3:b/0=b0 8:b/1=b1 9:b/2=cut ");
}

}  // namespace
}  // namespace noisegate::processor

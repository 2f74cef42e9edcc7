// Test helpers for the decoders: fixture loading, a decoder plus its output buffers, and
// record comparison. Included only by tests/processor/decode/*_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/record.h"
#include "processor/decode/decoder.h"

namespace noisegate::processor::decode_test {

inline std::string ReadFixture(std::string_view name) {
  const std::string path =
      std::string(NG_SOURCE_DIR) + "/tests/processor/decode/testdata/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::map<std::string, std::string> LabelMap(const LabelSet& labels) {
  std::map<std::string, std::string> m;
  for (const Label& l : labels) m.emplace(l.name, l.value);
  return m;
}

// One decoder with the buffers a driver would keep. Run() decodes one message into cleared
// buffers, like a driver handling one message per batch.
struct Harness {
  explicit Harness(std::string_view format, const DecoderConfig& config = {})
      : decoder(MakeDecoder(format, config)) {
    EXPECT_NE(decoder, nullptr) << format;
  }

  void Run(std::string_view payload, std::optional<int64_t> kafka_ts = std::nullopt) {
    out.Reset();
    dead.clear();
    Append(payload, kafka_ts);
  }
  // Decodes without clearing: several messages into one batch.
  void Append(std::string_view payload, std::optional<int64_t> kafka_ts = std::nullopt) {
    MessageMeta meta;
    meta.topic = "alerts.test";
    meta.partition = 3;
    meta.offset = 42;
    meta.kafka_ts = kafka_ts;
    meta.input = 7;
    decoder->Decode(payload, meta, out, dead);
  }

  // Expects the message to have been rejected whole with `reason`.
  void ExpectRejected(std::string_view reason) const {
    EXPECT_EQ(out.size(), 0u) << "records leaked out of a rejected message";
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].index, 0);
    EXPECT_EQ(dead[0].reason, reason) << dead[0].detail;
  }

  std::unique_ptr<Decoder> decoder;
  RecordBatch out;
  std::vector<DeadLetter> dead;
};

// Field-by-field equality, with a readable failure.
inline void ExpectSameRecord(const Record& a, const Record& b) {
  EXPECT_EQ(a.addr.topic, b.addr.topic);
  EXPECT_EQ(a.addr.partition, b.addr.partition);
  EXPECT_EQ(a.addr.offset, b.addr.offset);
  EXPECT_EQ(a.addr.index, b.addr.index);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.input, b.input);
  EXPECT_EQ(LabelMap(a.labels), LabelMap(b.labels));
  EXPECT_EQ(a.summary, b.summary);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.link, b.link);
  EXPECT_EQ(a.trace_id, b.trace_id);
  EXPECT_EQ(a.ends_at, b.ends_at);
}

// 2026-11-24T03:00:00Z in ms: the fixtures' reference time.
inline constexpr int64_t kT0 = 1795489200000;

}  // namespace noisegate::processor::decode_test

// DumpReader: reads a replay dump (JSON Lines): kcat -J envelopes, or bare message values when
// the dump was given with its topic. The envelope parser is deliberately tolerant of invalid
// UTF-8 inside the payload string (kcat copies payload bytes as they are), so such a message
// keeps its address and reaches the dead-letter output instead of being lost.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace noisegate::processor {

struct DumpMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<int64_t> ts;  // Kafka timestamp (ms)
  std::string key;
  bool key_null = true;
  std::string payload;
  bool payload_null = false;
  size_t line = 0;  // 1-based line in the dump
  // Set when the line's topic and offset were read but the rest of the envelope is broken
  // (e.g. cut short): `payload` then holds the whole line, `envelope_error` says why.
  bool addressed = false;
  std::string envelope_error;
};

// Parses one kcat -J envelope line. On failure returns false and says why in `error`.
bool ParseEnvelope(std::string_view line, DumpMessage* out, std::string* error);

class DumpReader {
 public:
  // `bare_topic`: when set, every line is a bare message value of that topic.
  DumpReader(std::string path, std::optional<std::string> bare_topic);
  bool Open(std::string* error);
  // Reads the next message. Returns false at end of file. A line that cannot be read as an
  // envelope is skipped and reported through `skipped` (file:line: why), never silently.
  bool Next(DumpMessage* out, std::string* skipped);
  const std::string& path() const { return path_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t size() const { return size_; }

 private:
  std::string path_;
  std::optional<std::string> bare_topic_;
  std::ifstream in_;
  std::string line_;
  size_t line_no_ = 0;
  int64_t bare_offset_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t size_ = 0;
};

}  // namespace noisegate::processor

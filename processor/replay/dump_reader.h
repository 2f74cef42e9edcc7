// DumpReader: reads a replay dump (JSON Lines): kcat -J envelopes, or bare message values when
// the dump was given with its topic. The envelope parser is deliberately tolerant of invalid
// UTF-8 inside the payload string (kcat copies payload bytes as they are), so such a message
// keeps its address and reaches the dead-letter output instead of being lost.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

class DumpBytes;

// Where one input partition (a "channel") lies in a dump, as ScanDump found it: its messages
// are the lines of that topic and partition between `begin` and `end`, in file order.
struct DumpChannel {
  std::string topic;
  int32_t partition = 0;
  int64_t first_offset = 0;
  uint64_t begin = 0, end = 0;  // bytes: the start of its first line, the end of its last
  size_t first_line = 1;        // the 1-based line number at `begin`
  uint64_t messages = 0;
  // Its lines between `begin` and `end`, as runs of consecutive lines, so that a reader of one
  // channel of a dump that interleaves several reads only its own lines: per run, varints of
  // the bytes and lines since the end of the run before (from `begin`, `first_line`), then
  // its bytes. Empty: every line from `begin` to `end` (a dump of bare values).
  std::string runs;
};

// Reads a dump once and lists its channels in order of first appearance. Lines that cannot
// be read as an envelope are reported through `skipped` ("file:line: why"); they belong to
// no channel. A dump of bare values of one topic is one channel (partition 0), not read.
bool ScanDump(const std::string& path, const std::optional<std::string>& bare_topic,
              std::vector<DumpChannel>* out, std::string* error,
              const std::function<void(const std::string&)>& skipped,
              std::shared_ptr<const DumpBytes>* bytes = nullptr);

// A dump file's bytes: mapped into memory, or read whole when it cannot be mapped (a pipe).
// Shared by the readers of its channels.
class DumpBytes {
 public:
  static std::shared_ptr<const DumpBytes> Open(const std::string& path, std::string* error);
  ~DumpBytes();
  std::string_view bytes() const { return {data_, size_}; }
  // Drops the mapped pages wholly inside [from, to) from this process's memory (they are
  // mapped again from the page cache if read again): a reader that has passed them calls
  // this, so a long dump does not stay resident.
  void Release(const char* from, const char* to) const;

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string copy_;
};

// Lines of a dump, as views into its bytes. The last line may lack its newline.
class LineReader {
 public:
  void Open(std::shared_ptr<const DumpBytes> bytes, uint64_t from_byte);
  // Goes on at `byte`, at or after where it is.
  void Seek(uint64_t byte);
  bool Next(std::string_view* line);

 private:
  std::shared_ptr<const DumpBytes> bytes_;
  std::string_view rest_;
  const char* released_ = nullptr;  // everything before this was handed to Release()
};

class DumpReader {
 public:
  // `bare_topic`: when set, every line is a bare message value of that topic (an empty line
  // is an empty message). `bytes`: the
  // file, when already open (readers of several channels of one file share it).
  DumpReader(std::string path, std::optional<std::string> bare_topic,
             std::shared_ptr<const DumpBytes> bytes = nullptr);
  bool Open(std::string* error);
  // Reads only `channel`'s messages (from ScanDump): its runs of lines, never the lines of
  // other channels nor unreadable ones (ScanDump reported those). `channel` must outlive the
  // reader.
  bool Open(const DumpChannel& channel, std::string* error);
  // Reads the next message. Returns false at end of file. A line that cannot be read as an
  // envelope is skipped and reported through `skipped` (file:line: why), never silently.
  bool Next(DumpMessage* out, std::string* skipped);
  const std::string& path() const { return path_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t size() const { return size_; }

 private:
  std::string path_;
  std::optional<std::string> bare_topic_;
  const DumpChannel* channel_ = nullptr;  // when reading one channel (kept by the caller)
  size_t run_at_ = 0;                     // the next run of `channel_->runs` to read
  uint64_t run_end_ = 0;                  // the end of the run being read (bytes)
  std::shared_ptr<const DumpBytes> bytes_;
  LineReader in_;
  size_t line_no_ = 0;
  int64_t bare_offset_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t size_ = 0;
};

}  // namespace noisegate::processor

#include "processor/replay/dump_reader.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "dedup/codec.h"
#include "processor/pipeline/merger.h"

namespace noisegate::processor {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool Eat(char c) {
    Space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    Space();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool AtEnd() {
    Space();
    return i_ >= s_.size();
  }
  // A JSON string; bytes that are not valid UTF-8 pass through unchanged. Written through a
  // pointer into `out`, sized first to the rest of the line (unescaping never lengthens).
  bool String(std::string* out) {
    out->clear();
    if (!Eat('"')) return false;
    out->resize(s_.size() - i_ + 16);  // (+16: a run is copied 16 bytes at a time)
    char* w = out->data();
    const char* const begin = w;
    const char* p = s_.data() + i_;
    const char* const end = s_.data() + s_.size();
    auto finish = [&](bool ok) {
      i_ = static_cast<size_t>(p - s_.data());
      out->resize(static_cast<size_t>(w - begin));
      return ok;
    };
    while (p < end) {
      // Copy the run up to the next quote or backslash, 16 bytes at a time where SSE2 is
      // there (a payload is mostly short runs between escaped quotes).
#if defined(__SSE2__)
      const __m128i quote = _mm_set1_epi8('"');
      const __m128i backslash = _mm_set1_epi8('\\');
      while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w), v);
        const int mask =
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        if (mask != 0) {
          const int k = std::countr_zero(static_cast<unsigned>(mask));
          p += k;
          w += k;
          break;
        }
        p += 16;
        w += 16;
      }
#endif
      while (p < end && *p != '"' && *p != '\\') *w++ = *p++;
      if (p >= end) return finish(false);
      if (*p++ == '"') return finish(true);
      if (p >= end) return finish(false);
      switch (*p++) {
        case '"':
          *w++ = '"';
          break;
        case '\\':
          *w++ = '\\';
          break;
        case '/':
          *w++ = '/';
          break;
        case 'b':
          *w++ = '\b';
          break;
        case 'f':
          *w++ = '\f';
          break;
        case 'n':
          *w++ = '\n';
          break;
        case 'r':
          *w++ = '\r';
          break;
        case 't':
          *w++ = '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&p, end, &cp)) return finish(false);
          if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 2 && p[0] == '\\' && p[1] == 'u') {
            p += 2;
            uint32_t lo;
            if (!Hex4(&p, end, &lo)) return finish(false);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              w = AppendUtf8(0xFFFD, w);
              cp = lo;
            }
          }
          w = AppendUtf8(cp, w);
          break;
        }
        default:
          return finish(false);
      }
    }
    return finish(false);
  }
  bool Integer(int64_t* out) {
    Space();
    size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == start) return false;
    // Tolerate a fraction or exponent, truncating toward zero.
    size_t int_end = i_;
    while (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' ||
                              s_[i_] == '-' || (s_[i_] >= '0' && s_[i_] <= '9'))) {
      ++i_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + int_end;
    if (std::from_chars(first, last, *out).ec != std::errc()) {
      // Out of range: saturate, as strtoll does.
      *out = *first == '-' ? INT64_MIN : INT64_MAX;
    }
    return true;
  }
  bool Literal(std::string_view word) {
    Space();
    if (s_.substr(i_, word.size()) == word) {
      i_ += word.size();
      return true;
    }
    return false;
  }
  // Skips any JSON value (used for fields we do not read, such as headers).
  bool SkipValue() {
    Space();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      std::string tmp;
      return String(&tmp);
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      while (i_ < s_.size()) {
        char d = s_[i_];
        if (d == '"') {
          std::string tmp;
          if (!String(&tmp)) return false;
          continue;
        }
        ++i_;
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') {
          if (--depth == 0) return true;
        }
      }
      return false;
    }
    if (Literal("null") || Literal("true") || Literal("false")) return true;
    int64_t n;
    return Integer(&n);
  }

 private:
  // Four hex digits at *p (a \\u escape's), advancing *p.
  static bool Hex4(const char** p, const char* end, uint32_t* out) {
    if (end - *p < 4) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = *(*p)++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }
  // Writes `cp` as UTF-8 at `w` (a lone surrogate as U+FFFD); returns the end.
  static char* AppendUtf8(uint32_t cp, char* w) {
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    if (cp < 0x80) {
      *w++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
      *w++ = static_cast<char>(0xC0 | (cp >> 6));
      *w++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *w++ = static_cast<char>(0xE0 | (cp >> 12));
      *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *w++ = static_cast<char>(0xF0 | (cp >> 18));
      *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *w++ = static_cast<char>(0x80 | (cp & 0x3F));
    }
    return w;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

bool ParseEnvelope(std::string_view line, DumpMessage* out, std::string* error) {
  Scanner sc(line);
  out->addressed = false;
  out->envelope_error.clear();
  if (!sc.Eat('{')) {
    *error = "not a JSON object";
    return false;
  }
  bool have_topic = false, have_payload = false, have_offset = false;
  out->ts.reset();
  out->partition = 0;
  out->addressed = false;
  out->envelope_error.clear();
  out->key_null = true;
  out->payload_null = false;
  std::string name;
  if (!sc.Peek('}')) {
    do {
      if (!sc.String(&name) || !sc.Eat(':')) {
        *error = "malformed envelope field";
        return false;
      }
      bool ok = true;
      int64_t n = 0;
      // (Compared as views of known length: the size rules out most fields without a call.)
      const std::string_view field(name);
      if (field == std::string_view("topic")) {
        ok = sc.String(&out->topic);
        have_topic = ok;
      } else if (field == std::string_view("partition")) {
        ok = sc.Integer(&n);
        out->partition = static_cast<int32_t>(n);
      } else if (field == std::string_view("offset")) {
        ok = sc.Integer(&out->offset);
        have_offset = ok;
      } else if (field == std::string_view("ts")) {
        if (!sc.Literal("null")) {
          ok = sc.Integer(&n);
          if (ok) out->ts = n;
        }
      } else if (field == std::string_view("key")) {
        out->key_null = sc.Literal("null");
        if (!out->key_null) ok = sc.String(&out->key);
      } else if (field == std::string_view("payload")) {
        out->payload_null = sc.Literal("null");
        if (out->payload_null) {
          out->payload.clear();
        } else {
          ok = sc.String(&out->payload);
        }
        have_payload = true;
      } else {
        ok = sc.SkipValue();
      }
      if (!ok) {
        *error = "malformed value of envelope field \"" + name + "\"";
        out->addressed = have_topic && have_offset;
        return false;
      }
    } while (sc.Eat(','));
  }
  if (!sc.Eat('}') || !sc.AtEnd()) {
    *error = "malformed envelope (expected a single JSON object)";
    return false;
  }
  if (!have_topic || !have_payload || !have_offset) {
    *error = "not a kcat -J envelope (needs topic, offset and payload)";
    return false;
  }
  return true;
}

DumpReader::DumpReader(std::string path, std::optional<std::string> bare_topic,
                       std::shared_ptr<const DumpBytes> bytes)
    : path_(std::move(path)), bare_topic_(std::move(bare_topic)), bytes_(std::move(bytes)) {}

namespace {

// The address of a kcat -J line when it starts the way kcat writes it,
// {"topic":"T","partition":P,"offset":O, without parsing the rest (a payload may be long).
bool QuickAddress(std::string_view line, std::string_view* topic, int32_t* partition,
                  int64_t* offset) {
  constexpr std::string_view kTopic = "{\"topic\":\"";
  if (line.substr(0, kTopic.size()) != kTopic) return false;
  size_t end = line.find_first_of("\"\\", kTopic.size());
  if (end == std::string_view::npos || line[end] != '"') return false;
  *topic = line.substr(kTopic.size(), end - kTopic.size());
  auto number = [&](std::string_view field, size_t at, int64_t* out) -> size_t {
    if (line.substr(at, field.size()) != field) return 0;
    at += field.size();
    size_t start = at;
    if (at < line.size() && line[at] == '-') ++at;
    int64_t v = 0;
    while (at < line.size() && line[at] >= '0' && line[at] <= '9') v = v * 10 + (line[at++] - '0');
    if (at == start || at - start > 18 || at >= line.size() || line[at] != ',') return 0;
    *out = line[start] == '-' ? -v : v;
    return at;
  };
  int64_t p = 0;
  size_t at = number(",\"partition\":", end + 1, &p);
  if (at == 0 || (at = number(",\"offset\":", at, offset)) == 0) return false;
  *partition = static_cast<int32_t>(p);
  return true;
}

}  // namespace

std::shared_ptr<const DumpBytes> DumpBytes::Open(const std::string& path, std::string* error) {
  auto out = std::shared_ptr<DumpBytes>(new DumpBytes());
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      out->data_ = static_cast<const char*>(p);
      out->size_ = static_cast<size_t>(st.st_size);
      out->mapped_ = true;
      ::close(fd);
      return out;
    }
  }
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out->copy_.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) {
    *error = path + ": cannot read";
    return nullptr;
  }
  out->data_ = out->copy_.data();
  out->size_ = out->copy_.size();
  return out;
}

DumpBytes::~DumpBytes() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

void DumpBytes::Release(const char* from, const char* to) const {
  if (!mapped_) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(from) + page - 1) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(to) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void LineReader::Open(std::shared_ptr<const DumpBytes> bytes, uint64_t from_byte) {
  bytes_ = std::move(bytes);
  rest_ = bytes_->bytes();
  rest_.remove_prefix(std::min<uint64_t>(from_byte, rest_.size()));
  released_ = rest_.data();
}

void LineReader::Seek(uint64_t byte) {
  const std::string_view all = bytes_->bytes();
  rest_ = all.substr(std::min<uint64_t>(byte, all.size()));
}

bool LineReader::Next(std::string_view* line) {
  if (rest_.empty()) return false;
  const void* nl = std::memchr(rest_.data(), '\n', rest_.size());
  size_t n = nl ? static_cast<size_t>(static_cast<const char*>(nl) - rest_.data()) : rest_.size();
  *line = rest_.substr(0, n);
  rest_.remove_prefix(nl ? n + 1 : n);
  constexpr size_t kReleaseEvery = 16 << 20;
  if (static_cast<size_t>(line->data() - released_) >= kReleaseEvery) {
    bytes_->Release(released_, line->data());
    released_ = line->data();
  }
  return true;
}

bool ScanDump(const std::string& path, const std::optional<std::string>& bare_topic,
              std::vector<DumpChannel>* out, std::string* error,
              const std::function<void(const std::string&)>& skipped,
              std::shared_ptr<const DumpBytes>* bytes) {
  out->clear();
  std::shared_ptr<const DumpBytes> file = DumpBytes::Open(path, error);
  if (file == nullptr) return false;
  if (bytes != nullptr) *bytes = file;
  LineReader in;
  in.Open(file, 0);
  if (bare_topic) {
    std::error_code ec;
    DumpChannel c;
    c.topic = *bare_topic;
    c.end = std::filesystem::file_size(path, ec);
    if (ec) c.end = UINT64_MAX;
    out->push_back(std::move(c));
    return true;
  }
  std::map<std::pair<std::string, int32_t>, size_t, TopicPartitionLess> index;
  // Per channel, its run being extended and where the run before it ended.
  struct OpenRun {
    uint64_t begin = 0, end = 0, prev_end = 0;
    size_t first_line = 0, next_line = 0, prev_next_line = 0;
  };
  std::vector<OpenRun> open;
  auto close_run = [&](DumpChannel& c, const OpenRun& r) {
    dedup::Writer w(&c.runs);
    w.Var(r.begin - r.prev_end);
    w.Var(r.first_line - r.prev_next_line);
    w.Var(r.end - r.begin);
  };
  std::string why;
  std::string_view line;
  DumpMessage msg;
  uint64_t pos = 0;
  size_t line_no = 0;
  while (in.Next(&line)) {
    const uint64_t begin = pos;
    pos += line.size() + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string_view topic;
    int32_t partition = 0;
    int64_t offset = 0;
    if (!QuickAddress(line, &topic, &partition, &offset)) {
      if (!ParseEnvelope(line, &msg, &why) && !msg.addressed) {
        skipped(path + ":" + std::to_string(line_no) + ": " + why);
        continue;
      }
      topic = msg.topic;
      partition = msg.partition;
      offset = msg.offset;
    }
    auto it = index.find(std::pair<std::string_view, int32_t>(topic, partition));
    if (it == index.end()) {
      it = index.emplace(std::pair<std::string, int32_t>(topic, partition), out->size()).first;
      DumpChannel c;
      c.topic = std::string(topic);
      c.partition = partition;
      c.first_offset = offset;
      c.begin = begin;
      c.first_line = line_no;
      out->push_back(std::move(c));
      open.push_back(OpenRun{begin, begin, begin, line_no, line_no, line_no});
    }
    DumpChannel& c = (*out)[it->second];
    OpenRun& r = open[it->second];
    if (r.end != begin) {  // another channel's line, or an unreadable one, came between
      close_run(c, r);
      r = OpenRun{begin, begin, r.end, line_no, line_no, r.next_line};
    }
    r.end = pos;
    r.next_line = line_no + 1;
    c.end = pos;
    c.messages++;
  }
  for (size_t i = 0; i < out->size(); ++i) close_run((*out)[i], open[i]);
  return true;
}

bool DumpReader::Open(const DumpChannel& channel, std::string* error) {
  channel_ = &channel;
  bytes_read_ = channel.begin;
  line_no_ = channel.first_line - 1;
  run_at_ = 0;
  run_end_ = channel.runs.empty() ? channel.end : channel.begin;
  return Open(error);
}

bool DumpReader::Open(std::string* error) {
  if (bytes_ == nullptr && (bytes_ = DumpBytes::Open(path_, error)) == nullptr) return false;
  in_.Open(bytes_, channel_ ? channel_->begin : 0);
  size_ = bytes_->bytes().size();
  return true;
}

bool DumpReader::Next(DumpMessage* out, std::string* skipped) {
  skipped->clear();
  std::string_view line;
  while (true) {
    if (channel_ && bytes_read_ >= run_end_) {
      // The channel's next run of lines (none left: its end).
      if (run_at_ >= channel_->runs.size()) break;
      dedup::Reader rd(std::string_view(channel_->runs).substr(run_at_));
      const uint64_t skip_bytes = rd.Var();
      const uint64_t skip_lines = rd.Var();
      const uint64_t bytes = rd.Var();
      run_at_ = channel_->runs.size() - rd.rest();
      bytes_read_ += skip_bytes;
      line_no_ += skip_lines;
      run_end_ = bytes_read_ + bytes;
      in_.Seek(bytes_read_);
    }
    if (!in_.Next(&line)) break;
    ++line_no_;
    bytes_read_ += line.size() + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (bare_topic_) {
      // Every line is a message, an empty one too (as Kafka carries an empty value, and
      // the decoders dead-letter it as `empty`); only the newline ending the file ends none.
      out->topic = *bare_topic_;
      out->partition = 0;
      out->offset = static_cast<int64_t>(line_no_ - 1);
      out->ts.reset();
      out->key_null = true;
      out->payload_null = false;
      out->payload.assign(line);
      out->line = line_no_;
      return true;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // no envelope
    std::string why;
    if (ParseEnvelope(line, out, &why)) {
      out->line = line_no_;
      return true;
    }
    if (out->addressed) {
      // The address came through (kcat writes it first) but the rest did not, e.g. a line
      // cut short: the message goes to the dead letters under its address.
      out->line = line_no_;
      out->envelope_error = why;
      out->payload.assign(line);
      return true;
    }
    *skipped = path_ + ":" + std::to_string(line_no_) + ": " + why;
    return true;  // the caller reports the skip and calls again
  }
  return false;
}

}  // namespace noisegate::processor

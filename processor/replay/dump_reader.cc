#include "processor/replay/dump_reader.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <bit>
#include <cstdlib>
#include <filesystem>

namespace noisegate::processor {
namespace {

// The first quote or backslash in [p, end), or end. 16 bytes at a time where SSE2 is there
// (a payload string is mostly plain runs between escaped quotes).
const char* FindQuoteOrBackslash(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const int mask =
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (mask != 0) return p + std::countr_zero(static_cast<unsigned>(mask));
  }
#endif
  while (p < end && *p != '"' && *p != '\\') ++p;
  return p;
}

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
  // A JSON string; bytes that are not valid UTF-8 pass through unchanged.
  bool String(std::string* out) {
    out->clear();
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      // Copy the run up to the next quote or backslash in one go (payloads are long).
      size_t run = static_cast<size_t>(FindQuoteOrBackslash(s_.data() + i_, s_.data() + s_.size()) -
                                       s_.data());
      out->append(s_.data() + i_, run - i_);
      i_ = run;
      if (i_ >= s_.size()) return false;
      char c = s_[i_++];
      if (c == '"') return true;
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(i_, 2) == "\\u") {
            i_ += 2;
            uint32_t lo;
            if (!Hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              AppendUtf8(0xFFFD, out);
              cp = lo;
            }
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
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
    *out = std::strtoll(std::string(s_.substr(start, int_end - start)).c_str(), nullptr, 10);
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
  bool Hex4(uint32_t* out) {
    if (i_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
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
  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

bool ParseEnvelope(std::string_view line, DumpMessage* out, std::string* error) {
  Scanner sc(line);
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
      if (name == "topic") {
        ok = sc.String(&out->topic);
        have_topic = ok;
      } else if (name == "partition") {
        ok = sc.Integer(&n);
        out->partition = static_cast<int32_t>(n);
      } else if (name == "offset") {
        ok = sc.Integer(&out->offset);
        have_offset = ok;
      } else if (name == "ts") {
        if (!sc.Literal("null")) {
          ok = sc.Integer(&n);
          if (ok) out->ts = n;
        }
      } else if (name == "key") {
        out->key_null = sc.Literal("null");
        if (!out->key_null) ok = sc.String(&out->key);
      } else if (name == "payload") {
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

DumpReader::DumpReader(std::string path, std::optional<std::string> bare_topic)
    : path_(std::move(path)), bare_topic_(std::move(bare_topic)) {}

bool DumpReader::Open(std::string* error) {
  in_.open(path_, std::ios::binary);
  if (!in_) {
    *error = path_ + ": cannot open";
    return false;
  }
  std::error_code ec;
  size_ = std::filesystem::file_size(path_, ec);
  if (ec) size_ = 0;
  return true;
}

bool DumpReader::Next(DumpMessage* out, std::string* skipped) {
  skipped->clear();
  while (std::getline(in_, line_)) {
    ++line_no_;
    bytes_read_ += line_.size() + 1;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    bool blank = line_.find_first_not_of(" \t") == std::string::npos;
    if (bare_topic_) {
      if (blank) {
        continue;  // an empty line is no message (its offset is still its line number)
      }
      out->topic = *bare_topic_;
      out->partition = 0;
      out->offset = static_cast<int64_t>(line_no_ - 1);
      out->ts.reset();
      out->key_null = true;
      out->payload_null = false;
      out->payload.swap(line_);
      out->line = line_no_;
      return true;
    }
    if (blank) continue;
    std::string why;
    if (ParseEnvelope(line_, out, &why)) {
      out->line = line_no_;
      return true;
    }
    if (out->addressed) {
      // The address came through (kcat writes it first) but the rest did not, e.g. a line
      // cut short: the message goes to the dead letters under its address.
      out->line = line_no_;
      out->envelope_error = why;
      out->payload.swap(line_);
      return true;
    }
    *skipped = path_ + ":" + std::to_string(line_no_) + ": " + why;
    return true;  // the caller reports the skip and calls again
  }
  return false;
}

}  // namespace noisegate::processor

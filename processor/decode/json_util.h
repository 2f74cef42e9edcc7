// Shared machinery of the JSON decoders: the padded input buffer, a base class that runs one
// simdjson On-Demand pass per message and turns parse failures into dead letters, and helpers to
// read vendor values that may be strings, numbers or timestamps. Only processor/decode includes
// this header; simdjson types never leave the decoders.
#pragma once

#include <simdjson.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/record.h"
#include "processor/decode/decoder.h"

namespace noisegate::processor {

// Nesting deeper than this is rejected (unsupported_shape): On-Demand does not bound depth, and
// the validating walk below recurses once per level.
inline constexpr int kMaxJsonDepth = 128;
// A payload larger than this is rejected (too_large) before parsing, so that one freak message
// cannot make a decoder's parser and buffer grow (and stay) arbitrarily large.
inline constexpr size_t kMaxPayloadBytes = size_t{16} << 20;

// A reusable copy of a payload followed by SIMDJSON_PADDING readable bytes. librdkafka gives no
// such slack, so every payload is copied; the capacity is kept between messages.
class PaddedBuffer {
 public:
  // Copies `bytes`; the returned pointer stays valid until the next Assign.
  const char* Assign(std::string_view bytes);
  // Bytes readable from data(): at least the last payload's size plus SIMDJSON_PADDING.
  size_t capacity() const { return capacity_; }
  const char* data() const { return data_.get(); }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
};

// How a JSON text ends, decided by a byte-level syntax check (used only on the error path, to
// tell a cut-short document from a malformed one).
enum class JsonSyntax : uint8_t { kComplete, kTruncated, kInvalid };
// Checks that `text` is one JSON value (kComplete), a proper prefix of one (kTruncated), or
// neither (kInvalid, with *error_offset at the first offending byte). UTF-8 is not checked.
JsonSyntax CheckJsonSyntax(std::string_view text, size_t* error_offset);

// Maps a simdjson failure of `payload` to a dead-letter reason and a human detail.
void DescribeJsonError(simdjson::error_code error, std::string_view payload,
                       std::string_view* reason, std::string* detail);

// What ReadScalar found. Strings, numbers and booleans all read as text, because vendors
// template webhooks and numbers often arrive as strings (and the other way round).
enum class JsonKind : uint8_t { kAbsent, kString, kNumber, kBool, kContainer };
struct ScalarText {
  JsonKind kind = JsonKind::kAbsent;  // kAbsent: JSON null (or not seen)
  std::string_view text;  // unescaped string, number token or "true"/"false"; valid until the
                          // decoder's next message
  bool scalar() const {
    return kind == JsonKind::kString || kind == JsonKind::kNumber || kind == JsonKind::kBool;
  }
  // A scalar with non-empty text: what "the field is set" means for vendor payloads.
  bool present() const { return scalar() && !text.empty(); }
};

// The first byte at or after `p` that is a quote, a backslash or a control character (which a
// JSON string may not hold raw). Reads 16 (SSE2) or 8 bytes at a time: only call it inside a
// string of the padded input, where stage 1 has paired every quote, so the closing quote stops
// the scan before the padding ends.
inline const char* ScanStringBody(const char* p) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i high3 = _mm_set1_epi8(static_cast<char>(0xE0));
  const __m128i zero = _mm_setzero_si128();
  for (;; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(_mm_and_si128(v, high3), zero));  // byte < 0x20
    if (const int mask = _mm_movemask_epi8(hits); mask != 0)
      return p + std::countr_zero(static_cast<unsigned>(mask));
  }
#else
  static_assert(std::endian::native == std::endian::little, "countr_zero finds the first byte");
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  // Flags zero bytes of x. The lowest flag is exact (borrows only run upwards), and the lowest
  // of several such masks OR-ed together is still exact: that is all the scan needs.
  auto zero_bytes = [](uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  for (;; p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    const uint64_t hits = zero_bytes(word ^ (kOnes * '"')) | zero_bytes(word ^ (kOnes * '\\')) |
                          zero_bytes(word & (kOnes * 0xE0));
    if (hits != 0) return p + std::countr_zero(hits) / 8;
  }
#endif
}

// The key of `field`. A key without escapes is returned as a view into the padded input (no
// copy, nothing to validate); one with escapes is unescaped (and validated) by simdjson. Valid
// until the decoder's next message.
[[nodiscard]] inline simdjson::error_code FieldKey(simdjson::ondemand::field& field,
                                                   std::string_view* key) {
  // Stage 1 has paired every quote, so the scan stops at the closing quote at the latest.
  const char* begin = field.key().raw();
  const char* p = ScanStringBody(begin);
  if (*p == '"') {
    *key = std::string_view(begin, static_cast<size_t>(p - begin));
    return simdjson::SUCCESS;
  }
  return field.unescaped_key().get(*key);
}

// Reads a value known to be a string. Like FieldKey, a string without escapes is a view into
// the padded input; others are unescaped into the parser's buffer.
[[nodiscard]] simdjson::error_code ReadString(simdjson::ondemand::value& value,
                                              std::string_view* out);

// Reads `value` as text. Objects and arrays are consumed (validated) and reported as
// kContainer. Returns a simdjson error for malformed JSON, and for a number beyond double
// range (which simdjson cannot consume; DescribeJsonError calls that unsupported_shape).
[[nodiscard]] simdjson::error_code ReadScalar(simdjson::ondemand::value& value, ScalarText* out,
                                              int depth);
// Consumes `value` and everything inside it, validating what On-Demand's own skip would not
// (number and literal syntax, string escapes, commas and colons). `depth` is the nesting level
// of `value`; deeper than kMaxJsonDepth returns DEPTH_ERROR.
[[nodiscard]] simdjson::error_code SkipValue(simdjson::ondemand::value& value, int depth);

// True when `token` is a JSON number (RFC 8259 grammar).
bool IsJsonNumber(std::string_view token);
// Parses an event time from an RFC 3339 string, or from epoch seconds / milliseconds (numbers or
// numeric strings). Magnitude decides the unit: < 1e11 seconds, < 1e14 ms, < 1e17 us, else ns.
bool ParseTimeText(std::string_view text, EventTime* out);
// Go's zero time ("0001-01-01T00:00:00Z"), which Alertmanager and Grafana send for "no end".
bool IsZeroTime(EventTime t);

std::string_view TrimSpace(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
void ToLowerAscii(std::string* s);

// The first problem found in one record. Decoders keep reading the record after a problem (the
// rest of the document must still be validated), so only the first one is kept. The views point
// at static text or into the parser's buffers, which live until the message is done.
struct RecordIssue {
  std::string_view reason;  // empty: no problem
  std::string_view field;   // e.g. "labels", "labels." + key, "startsAt"
  std::string_view field_suffix;
  std::string_view what;  // e.g. "expected an object"

  explicit operator bool() const { return !reason.empty(); }
  void Set(std::string_view r, std::string_view f, std::string_view w,
           std::string_view suffix = {}) {
    if (!reason.empty()) return;
    reason = r;
    field = f;
    field_suffix = suffix;
    what = w;
  }
  std::string Detail() const;
};

// The event time of a vendor webhook record: the Kafka timestamp when the message has one,
// else the `primary` time field (e.g. updatedAt), else the `fallback` one (e.g. createdAt).
// A field that is present but unparsable is a bad_timestamp issue even when another is used.
void PickEventTime(const MessageMeta& meta, const ScalarText& primary,
                   std::string_view primary_name, const ScalarText& fallback,
                   std::string_view fallback_name, Record& r, RecordIssue& issue);

// Base of every JSON decoder: copies and parses the payload, calls DecodeDocument for the
// format's logic, checks that the whole document was read and well-formed, and on a parse
// failure rolls back this message's records and dead letters and rejects it whole.
class JsonDecoder : public Decoder {
 public:
  void Decode(std::string_view payload, const MessageMeta& meta, RecordBatch& out,
              std::vector<DeadLetter>& dead) final;

 protected:
  // One message in flight.
  struct Context {
    const MessageMeta& meta;
    RecordBatch& out;
    std::vector<DeadLetter>& dead;
    // A message-level semantic problem (valid JSON, wrong shape). Set it and keep consuming:
    // a parse error found later still wins, and no record of the message survives.
    RecordIssue message_issue;
    bool scalar_root = false;  // set by RootType; the document is then left unread
  };

  // The format's logic. Must consume the whole document (SkipValue what it ignores) and return
  // a simdjson error only for malformed JSON.
  [[nodiscard]] virtual simdjson::error_code DecodeDocument(simdjson::ondemand::document& doc,
                                                            Context& ctx) = 0;

  // Starts record `index` of the message: address, input and kind are set; everything else
  // is cleared by RecordBatch::Next.
  static Record& BeginRecord(Context& ctx, int32_t index, SignalKind kind);
  // Keeps the record begun last, or drops it and dead-letters `issue` under `index`.
  static void EndRecord(Context& ctx, int32_t index, const RecordIssue& issue);
  // Dead-letters record `index` without having begun a Record (e.g. an array element that is
  // not an object).
  static void RejectRecord(Context& ctx, int32_t index, const RecordIssue& issue);

  // Reads the root's JSON type. A scalar root is not read: return without reading it, and the
  // message is rejected (unsupported_shape, or its syntax error).
  [[nodiscard]] static simdjson::error_code RootType(simdjson::ondemand::document& doc,
                                                     Context& ctx,
                                                     simdjson::ondemand::json_type* type);

 private:
  simdjson::ondemand::parser parser_;
  PaddedBuffer buffer_;
};

}  // namespace noisegate::processor

// Propagates a simdjson error code (the decoders never use simdjson exceptions).
//
// Loops over objects and arrays check the element's error and then use the field or value in
// place (`result.value_unsafe()`), never `std::move(result).get(field)`: GCC copies the field
// out of the result with a wide load over a narrower store just made, a store-forwarding stall
// that made up about a third of a webhook's decode time (measured with engine_bench).
#define NG_JSON_TRY(expr)                               \
  do {                                                  \
    if (::simdjson::error_code ng_json_err_ = (expr)) { \
      return ng_json_err_;                              \
    }                                                   \
  } while (0)

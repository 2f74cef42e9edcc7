// Shared machinery of the JSON decoders: padded buffer, error classification, validating walk,
// and vendor value parsing (see json_util.h).
#include "processor/decode/json_util.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <utility>

#include "processor/decode/dead_letter.h"

namespace noisegate::processor {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

// ---------------------------------------------------------------------------------------------
// PaddedBuffer

const char* PaddedBuffer::Assign(std::string_view bytes) {
  const size_t needed = bytes.size() + simdjson::SIMDJSON_PADDING;
  if (needed > capacity_) {
    // Grow geometrically so a slowly growing stream of sizes does not reallocate each time.
    size_t cap = capacity_ == 0 ? 4096 : capacity_;
    while (cap < needed) cap *= 2;
    data_ = std::make_unique_for_overwrite<char[]>(cap);
    capacity_ = cap;
  }
  if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  // On-Demand may look at the padding (simdjson issue #1834 checks for a stray '}' there);
  // zeroed padding is what simdjson's own padded_string provides.
  std::memset(data_.get() + bytes.size(), 0, simdjson::SIMDJSON_PADDING);
  return data_.get();
}

// ---------------------------------------------------------------------------------------------
// Syntax check (error path only)

namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Result of scanning one token: consumed up to *pos.
enum class Scan : uint8_t { kOk, kEnd, kBad };

// `pos` is at the opening quote.
Scan ScanString(std::string_view s, size_t* pos) {
  size_t i = *pos + 1;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      *pos = i + 1;
      return Scan::kOk;
    }
    if (c < 0x20) {
      *pos = i;
      return Scan::kBad;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) return Scan::kEnd;
      const char e = s[i + 1];
      if (e == 'u') {
        for (size_t k = 0; k < 4; ++k) {
          if (i + 2 + k >= s.size()) return Scan::kEnd;
          if (!IsHex(s[i + 2 + k])) {
            *pos = i + 2 + k;
            return Scan::kBad;
          }
        }
        i += 6;
        continue;
      }
      if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') {
        *pos = i + 1;
        return Scan::kBad;
      }
      i += 2;
      continue;
    }
    ++i;
  }
  return Scan::kEnd;
}

// Scans the longest number prefix; the caller's next state rejects whatever follows.
Scan ScanNumber(std::string_view s, size_t* pos) {
  size_t i = *pos;
  auto at_end = [&] { return i >= s.size(); };
  if (s[i] == '-') {
    ++i;
    if (at_end()) return Scan::kEnd;
  }
  if (s[i] == '0') {
    ++i;
  } else if (IsDigit(s[i])) {
    while (!at_end() && IsDigit(s[i])) ++i;
  } else {
    *pos = i;
    return Scan::kBad;
  }
  if (!at_end() && s[i] == '.') {
    ++i;
    if (at_end()) return Scan::kEnd;
    if (!IsDigit(s[i])) {
      *pos = i;
      return Scan::kBad;
    }
    while (!at_end() && IsDigit(s[i])) ++i;
  }
  if (!at_end() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (at_end()) return Scan::kEnd;
    if (s[i] == '+' || s[i] == '-') {
      ++i;
      if (at_end()) return Scan::kEnd;
    }
    if (!IsDigit(s[i])) {
      *pos = i;
      return Scan::kBad;
    }
    while (!at_end() && IsDigit(s[i])) ++i;
  }
  *pos = i;
  return Scan::kOk;
}

Scan ScanLiteral(std::string_view s, size_t* pos, std::string_view literal) {
  for (size_t k = 0; k < literal.size(); ++k) {
    if (*pos + k >= s.size()) return Scan::kEnd;
    if (s[*pos + k] != literal[k]) {
      *pos += k;
      return Scan::kBad;
    }
  }
  *pos += literal.size();
  return Scan::kOk;
}

// Length of a trailing, incomplete (but so far valid) UTF-8 sequence: what a cut in the
// middle of a multi-byte character leaves behind. 0 when the text does not end that way.
size_t IncompleteUtf8Tail(std::string_view s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const unsigned char c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    return len > back ? back : 0;
  }
  return 0;
}

// Offset of the first byte that is not valid UTF-8 (error path only).
size_t FirstInvalidUtf8(std::string_view s) {
  size_t lo = 0, hi = s.size();
  // simdjson's validator is fast; binary search on prefixes is good enough for a report.
  if (simdjson::validate_utf8(s.data(), s.size())) return s.size();
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (simdjson::validate_utf8(s.data(), mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace

JsonSyntax CheckJsonSyntax(std::string_view s, size_t* error_offset) {
  enum class Want : uint8_t {
    kValue,
    kValueOrClose,
    kKeyOrClose,
    kKey,
    kColon,
    kCommaOrClose,
    kNothing
  };
  std::vector<char> stack;  // open containers: '{' or '['
  Want want = Want::kValue;
  size_t i = 0;
  *error_offset = 0;
  auto bad = [&](size_t at) {
    *error_offset = at;
    return JsonSyntax::kInvalid;
  };
  auto after_value = [&] { return stack.empty() ? Want::kNothing : Want::kCommaOrClose; };
  while (true) {
    while (i < s.size() && IsWs(s[i])) ++i;
    if (i >= s.size())
      return want == Want::kNothing ? JsonSyntax::kComplete : JsonSyntax::kTruncated;
    const char c = s[i];
    switch (want) {
      case Want::kNothing:
        return bad(i);
      case Want::kColon:
        if (c != ':') return bad(i);
        ++i;
        want = Want::kValue;
        continue;
      case Want::kCommaOrClose:
        if (c == ',') {
          ++i;
          want = stack.back() == '{' ? Want::kKey : Want::kValue;
          continue;
        }
        if ((c == '}' && stack.back() == '{') || (c == ']' && stack.back() == '[')) {
          ++i;
          stack.pop_back();
          want = after_value();
          continue;
        }
        return bad(i);
      case Want::kKeyOrClose:
        if (c == '}') {
          ++i;
          stack.pop_back();
          want = after_value();
          continue;
        }
        [[fallthrough]];
      case Want::kKey: {
        if (c != '"') return bad(i);
        Scan r = ScanString(s, &i);
        if (r == Scan::kEnd) return JsonSyntax::kTruncated;
        if (r == Scan::kBad) return bad(i);
        want = Want::kColon;
        continue;
      }
      case Want::kValueOrClose:
        if (c == ']') {
          ++i;
          stack.pop_back();
          want = after_value();
          continue;
        }
        [[fallthrough]];
      case Want::kValue: {
        Scan r = Scan::kOk;
        if (c == '{' || c == '[') {
          stack.push_back(c);
          ++i;
          want = c == '{' ? Want::kKeyOrClose : Want::kValueOrClose;
          continue;
        }
        if (c == '"') {
          r = ScanString(s, &i);
        } else if (c == '-' || IsDigit(c)) {
          r = ScanNumber(s, &i);
        } else if (c == 't') {
          r = ScanLiteral(s, &i, "true");
        } else if (c == 'f') {
          r = ScanLiteral(s, &i, "false");
        } else if (c == 'n') {
          r = ScanLiteral(s, &i, "null");
        } else {
          return bad(i);
        }
        if (r == Scan::kEnd) return JsonSyntax::kTruncated;
        if (r == Scan::kBad) return bad(i);
        want = after_value();
        continue;
      }
    }
  }
}

void DescribeJsonError(error_code error, std::string_view payload, std::string_view* reason,
                       std::string* detail) {
  using simdjson::error_message;
  if (error == simdjson::EMPTY) {
    *reason = reason::kEmpty;
    *detail = "no JSON value in the message";
    return;
  }
  if (error == simdjson::CAPACITY) {
    *reason = reason::kTooLarge;
    *detail = "message of " + std::to_string(payload.size()) + " bytes exceeds the parser capacity";
    return;
  }
  size_t offset = 0;
  if (error == simdjson::UTF8_ERROR) {
    // A payload cut in the middle of a multi-byte character is a truncated document, not a
    // producer writing bad bytes; tell the two apart.
    size_t tail = IncompleteUtf8Tail(payload);
    std::string_view head = payload.substr(0, payload.size() - tail);
    if (tail > 0 && simdjson::validate_utf8(head.data(), head.size()) &&
        CheckJsonSyntax(head, &offset) == JsonSyntax::kTruncated) {
      *reason = reason::kTruncated;
      *detail = "document ends early, inside a multi-byte character (" +
                std::to_string(payload.size()) + " bytes)";
      return;
    }
    *reason = reason::kInvalidUtf8;
    *detail = "invalid UTF-8 at byte " + std::to_string(FirstInvalidUtf8(payload));
    return;
  }
  switch (CheckJsonSyntax(payload, &offset)) {
    case JsonSyntax::kTruncated:
      *reason = reason::kTruncated;
      *detail = "document ends early (" + std::to_string(payload.size()) + " bytes)";
      return;
    case JsonSyntax::kInvalid:
      *reason = reason::kNotJson;
      *detail =
          "invalid JSON at byte " + std::to_string(offset) + " (" + error_message(error) + ")";
      return;
    case JsonSyntax::kComplete:
      break;
  }
  // Well-formed JSON that simdjson still refuses.
  if (error == simdjson::DEPTH_ERROR) {
    *reason = reason::kUnsupportedShape;
    *detail = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return;
  }
  if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) {
    *reason = reason::kUnsupportedShape;
    *detail = "a number beyond the range of a double";
    return;
  }
  *reason = reason::kNotJson;
  *detail = error_message(error);
}

// ---------------------------------------------------------------------------------------------
// Validating walk and scalar reading

namespace {

std::string_view TrimJsonWs(std::string_view s) {
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool IsJsonNumber(std::string_view t) {
  if (t.empty()) return false;
  size_t i = 0;
  if (!(t[0] == '-' || IsDigit(t[0]))) return false;
  return ScanNumber(t, &i) == Scan::kOk && i == t.size();
}

error_code ReadString(ondemand::value& value, std::string_view* out) {
  // Strings without escapes (nearly all) are taken as they are, with no copy: one scan from
  // the opening quote finds the closing one.
  const char* quote = value.raw_json_token().data();
  if (*quote == '"') {
    const char* end = ScanStringBody(quote + 1);
    if (*end == '"') {
      *out = std::string_view(quote + 1, static_cast<size_t>(end - quote - 1));
      // Still consume the value: On-Demand steps over an unread value by counting brackets
      // only, so {"a":"b":"c"],"d":1} would pass. Consumed, the next token is checked.
      simdjson::ondemand::raw_json_string raw;
      return value.get_raw_json_string().get(raw);
    }
  }
  return value.get_string().get(*out);
}

error_code SkipValue(ondemand::value& value, int depth) {
  ondemand::json_type type;
  NG_JSON_TRY(value.type().get(type));
  switch (type) {
    case ondemand::json_type::object: {
      if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      ondemand::object object;
      NG_JSON_TRY(value.get_object().get(object));
      for (auto field_result : object) {
        NG_JSON_TRY(field_result.error());
        ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
        std::string_view key;
        NG_JSON_TRY(FieldKey(field, &key));  // validates the key's escapes
        NG_JSON_TRY(SkipValue(field.value(), depth + 1));
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::array: {
      if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      ondemand::array array;
      NG_JSON_TRY(value.get_array().get(array));
      for (auto element_result : array) {
        NG_JSON_TRY(element_result.error());
        ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
        NG_JSON_TRY(SkipValue(element, depth + 1));
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      return ReadString(value, &s);
    }
    case ondemand::json_type::number: {
      ScalarText unused;
      return ReadScalar(value, &unused, depth);
    }
    case ondemand::json_type::boolean: {
      bool b;
      return value.get_bool().get(b);
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      NG_JSON_TRY(value.is_null().get(is_null));
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

error_code ReadScalar(ondemand::value& value, ScalarText* out, int depth) {
  ondemand::json_type type;
  NG_JSON_TRY(value.type().get(type));
  switch (type) {
    case ondemand::json_type::string:
      out->kind = JsonKind::kString;
      return ReadString(value, &out->text);
    case ondemand::json_type::number: {
      // The number's text as written (no float formatting). simdjson's own check of an unread
      // number is lax ("1.2.3", "-", "01"), so check the grammar here; then consume it, for
      // the same reason as in ReadString. A number beyond double range fails here.
      std::string_view token = TrimJsonWs(value.raw_json_token());
      if (!IsJsonNumber(token)) return simdjson::NUMBER_ERROR;
      double unused;
      NG_JSON_TRY(value.get_double().get(unused));
      out->kind = JsonKind::kNumber;
      out->text = token;
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::boolean: {
      bool b = false;
      NG_JSON_TRY(value.get_bool().get(b));
      out->kind = JsonKind::kBool;
      out->text = b ? "true" : "false";
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      NG_JSON_TRY(value.is_null().get(is_null));
      if (!is_null) return simdjson::N_ATOM_ERROR;
      out->kind = JsonKind::kAbsent;
      out->text = {};
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::object:
    case ondemand::json_type::array:
      out->kind = JsonKind::kContainer;
      out->text = {};
      return SkipValue(value, depth);
  }
  return simdjson::INCORRECT_TYPE;
}

// ---------------------------------------------------------------------------------------------
// Values

namespace {

// Epoch number in unknown units -> ms. Integers are parsed exactly (nanosecond epochs do not
// fit a double's mantissa).
bool EpochToMillis(std::string_view t, EventTime* out) {
  const bool integral = t.find_first_of(".eE") == std::string_view::npos;
  if (integral) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || v < 0) return false;
    if (v < 100'000'000'000) {  // < 1e11: seconds (until year 5138)
      out->ms = v * 1000;
    } else if (v < 100'000'000'000'000) {  // ms
      out->ms = v;
    } else if (v < 100'000'000'000'000'000) {  // us
      out->ms = v / 1000;
    } else {  // ns
      out->ms = v / 1'000'000;
    }
    return true;
  }
  double d = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(d) || d < 0 || d >= 1e20) {
    return false;
  }
  if (d < 1e11) {
    out->ms = std::llround(d * 1000.0);
  } else if (d < 1e14) {
    out->ms = std::llround(d);
  } else if (d < 1e17) {
    out->ms = std::llround(d / 1e3);
  } else {
    out->ms = std::llround(d / 1e6);
  }
  return true;
}

}  // namespace

bool ParseTimeText(std::string_view text, EventTime* out) {
  text = TrimSpace(text);
  if (text.empty()) return false;
  // The common case first: "2026-..." (a JSON number never has a '-' after four digits).
  if (text.size() > 4 && text[4] == '-' && IsDigit(text[0]) && IsDigit(text[1]) &&
      IsDigit(text[2]) && IsDigit(text[3])) {
    return ParseRfc3339(text, out);
  }
  if (IsJsonNumber(text)) return EpochToMillis(text, out);
  return ParseRfc3339(text, out);
}

bool IsZeroTime(EventTime t) {
  // Year 1 (Go's time.Time{}), whatever its fraction or zone; no real alert predates 1970 by
  // that much.
  constexpr int64_t kYear2Ms = -62104060800000;  // 0002-01-01T00:00:00Z
  return t.ms < kYear2Ms;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void ToLowerAscii(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

std::string RecordIssue::Detail() const {
  std::string d;
  d.reserve(field.size() + field_suffix.size() + what.size() + 2);
  d.append(field).append(field_suffix).append(": ").append(what);
  return d;
}

// ---------------------------------------------------------------------------------------------
// JsonDecoder

namespace {

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (!IsWs(c)) return false;
  }
  return true;
}

}  // namespace

void JsonDecoder::Decode(std::string_view payload, const MessageMeta& meta, RecordBatch& out,
                         std::vector<DeadLetter>& dead) {
  const size_t out_start = out.size();
  const size_t dead_start = dead.size();
  auto reject = [&](std::string_view why, std::string detail) {
    while (out.size() > out_start) out.DropLast();
    dead.resize(dead_start);
    DeadLetter& d = dead.emplace_back();
    d.index = 0;
    d.reason.assign(why);
    d.detail = std::move(detail);
  };

  // RFC 8259 lets a parser ignore a byte order mark; some producers write one.
  std::string_view json = payload;
  if (json.size() >= 3 && json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);
  if (IsBlank(json)) {
    reject(reason::kEmpty, payload.empty() ? "empty message" : "message is only whitespace");
    return;
  }
  if (json.size() > kMaxPayloadBytes) {
    reject(reason::kTooLarge, "message of " + std::to_string(json.size()) + " bytes exceeds " +
                                  std::to_string(kMaxPayloadBytes));
    return;
  }

  const char* data = buffer_.Assign(json);
  Context ctx{meta, out, dead, {}};
  ondemand::document doc;
  error_code err = parser_.iterate(data, json.size(), buffer_.capacity()).get(doc);
  if (!err) err = DecodeDocument(doc, ctx);
  if (!err && ctx.scalar_root) {
    size_t offset = 0;
    if (CheckJsonSyntax(json, &offset) == JsonSyntax::kComplete) {
      ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                            "a JSON scalar, not an object or array");
    } else {
      err = simdjson::TAPE_ERROR;  // DescribeJsonError tells truncated from malformed
    }
  } else if (!err) {
    // On-Demand stops reading where the format's logic stops; anything after the root value
    // ("{...} garbage", "{...}}") is only found by asking whether the end was reached.
    const char* location = nullptr;
    error_code at = doc.current_location().get(location);
    if (at == simdjson::SUCCESS) {
      err = simdjson::TRAILING_CONTENT;
    } else if (at != simdjson::OUT_OF_BOUNDS) {
      err = at;
    }
  }
  if (err) {
    std::string_view why;
    std::string detail;
    DescribeJsonError(err, json, &why, &detail);
    reject(why, std::move(detail));
    return;
  }
  if (ctx.message_issue) reject(ctx.message_issue.reason, ctx.message_issue.Detail());
}

Record& JsonDecoder::BeginRecord(Context& ctx, int32_t index, SignalKind kind) {
  Record& r = ctx.out.Next();
  r.addr.topic.assign(ctx.meta.topic);
  r.addr.partition = ctx.meta.partition;
  r.addr.offset = ctx.meta.offset;
  r.addr.index = index;
  r.input = ctx.meta.input;
  r.kind = kind;
  return r;
}

void JsonDecoder::EndRecord(Context& ctx, int32_t index, const RecordIssue& issue) {
  if (!issue) return;
  ctx.out.DropLast();
  RejectRecord(ctx, index, issue);
}

void JsonDecoder::RejectRecord(Context& ctx, int32_t index, const RecordIssue& issue) {
  DeadLetter& d = ctx.dead.emplace_back();
  d.index = index;
  d.reason.assign(issue.reason);
  d.detail = issue.Detail();
}

error_code JsonDecoder::RootType(ondemand::document& doc, Context& ctx, ondemand::json_type* type) {
  NG_JSON_TRY(doc.type().get(*type));
  if (*type != ondemand::json_type::object && *type != ondemand::json_type::array) {
    // No format takes a scalar document. It is left unread and Decode classifies it with
    // CheckJsonSyntax: simdjson 3.0.1's root scalar getters are lax (its root is_null looks
    // at the wrong byte and takes "null`" for null).
    ctx.scalar_root = true;
  }
  return simdjson::SUCCESS;
}

void PickEventTime(const MessageMeta& meta, const ScalarText& primary,
                   std::string_view primary_name, const ScalarText& fallback,
                   std::string_view fallback_name, Record& r, RecordIssue& issue) {
  EventTime first, second;
  const bool has_first = primary.present() && ParseTimeText(primary.text, &first);
  const bool has_second = fallback.present() && ParseTimeText(fallback.text, &second);
  if (primary.present() && !has_first) {
    issue.Set(reason::kBadTimestamp, primary_name, "not an epoch number or RFC 3339 time");
  }
  if (fallback.present() && !has_second) {
    issue.Set(reason::kBadTimestamp, fallback_name, "not an epoch number or RFC 3339 time");
  }
  if (meta.kafka_ts) {
    r.time = EventTime{*meta.kafka_ts};
  } else if (has_first) {
    r.time = first;
  } else if (has_second) {
    r.time = second;
  } else {
    issue.Set(reason::kBadTimestamp, primary_name,
              "absent (and no usable fallback), and the message has no Kafka timestamp");
  }
}

}  // namespace noisegate::processor

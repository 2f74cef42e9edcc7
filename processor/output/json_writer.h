// JsonWriter: appends compact JSON to a reused string. Strings are written as valid UTF-8:
// invalid bytes become U+FFFD, so every line noisegate writes parses, whatever it was fed.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace noisegate::processor {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Sep(), out_->push_back('{'), first_ = true; }
  void EndObject() { out_->push_back('}'), first_ = false; }
  void BeginArray() { Sep(), out_->push_back('['), first_ = true; }
  void EndArray() { out_->push_back(']'), first_ = false; }
  void Key(std::string_view k) {
    Sep();
    AppendString(k);
    out_->push_back(':');
    first_ = true;  // the value follows without a comma
  }
  void String(std::string_view v) { Sep(), AppendString(v); }
  void Int(int64_t v) {
    Sep();
    char buf[24];
    out_->append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), v).ptr - buf));
  }
  void Bool(bool v) { Sep(), out_->append(v ? "true" : "false"); }
  void Null() { Sep(), out_->append("null"); }
  // Writes `v` or null when it is empty.
  void StringOrNull(std::string_view v) { v.empty() ? Null() : String(v); }

  // Escapes `v` as a JSON string (with quotes) onto `out`, replacing invalid UTF-8.
  static void Escape(std::string_view v, std::string* out);

 private:
  void Sep() {
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  void AppendString(std::string_view v) { Escape(v, out_); }

  std::string* out_;
  bool first_ = true;
};

}  // namespace noisegate::processor

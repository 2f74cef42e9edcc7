// ParseLogLevel: log level names as the common logging libraries write them, case-insensitive,
// for the inputs' min_level and json_log decoding. Anything unrecognised is kUnknown. Called
// per log record, so it does not allocate.
#include <string_view>

#include "rules/compiled_rules.h"

namespace noisegate::rules {

LogLevel ParseLogLevel(std::string_view text) {
  char buf[16];
  if (text.size() > sizeof(buf)) return LogLevel::kUnknown;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view s(buf, text.size());
  if (s == "trace") return LogLevel::kTrace;
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info" || s == "information" || s == "notice") return LogLevel::kInfo;
  if (s == "warn" || s == "warning") return LogLevel::kWarn;
  if (s == "error" || s == "err") return LogLevel::kError;
  if (s == "fatal" || s == "crit" || s == "critical" || s == "panic" || s == "emerg" ||
      s == "emergency" || s == "alert") {
    return LogLevel::kFatal;
  }
  return LogLevel::kUnknown;
}

}  // namespace noisegate::rules

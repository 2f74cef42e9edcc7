#include "processor/admin/log_lines.h"

namespace noisegate::processor {

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

std::optional<LogLevel> LineLevel(std::string_view line) {
  // The level is the first field after the "noisegate: " prefix; a "level=" inside a quoted
  // value further on is not it.
  constexpr std::string_view kPrefix = "noisegate: level=";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = line.substr(kPrefix.size());
  return ParseLogLevel(rest.substr(0, rest.find_first_of(" \n")));
}

void LogSink::Write(std::string_view line) {
  if (std::optional<LogLevel> l = LineLevel(line); l && *l < level()) return;
  std::lock_guard<std::mutex> lock(mu_);
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
}

LogStream::LineBuf::~LineBuf() {
  // A last line without its newline still says something.
  if (!line_.empty()) sink_.Write(line_ + "\n");
}

LogStream::LineBuf::int_type LogStream::LineBuf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  char ch = traits_type::to_char_type(c);
  Append(std::string_view(&ch, 1));
  return c;
}

std::streamsize LogStream::LineBuf::xsputn(const char* s, std::streamsize n) {
  Append(std::string_view(s, static_cast<size_t>(n)));
  return n;
}

void LogStream::LineBuf::Append(std::string_view s) {
  while (!s.empty()) {
    size_t nl = s.find('\n');
    if (nl == std::string_view::npos) {
      line_.append(s);
      return;
    }
    line_.append(s.substr(0, nl + 1));
    sink_.Write(line_);
    line_.clear();
    s.remove_prefix(nl + 1);
  }
}

}  // namespace noisegate::processor

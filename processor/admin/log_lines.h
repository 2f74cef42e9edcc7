// The log of `noisegate run`: one logfmt event per line ("noisegate: level=warn event=..."),
// written whole under one lock (the loop and the HTTP intake's threads share stderr) and kept
// only at or above the configured level. Each writer gets its own LogStream over one LogSink.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace noisegate::processor {

enum class LogLevel : int { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn" (or "warning"), "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// The level a line states in its `level=` field; a line that states none (the embedded
// cluster's "embedded Kafka at ..." that scripts wait for) is always kept.
std::optional<LogLevel> LineLevel(std::string_view line);

// Where the lines go. Thread-safe; `out` must outlive it.
class LogSink {
 public:
  LogSink(std::ostream& out, LogLevel level) : out_(out), level_(level) {}
  // Writes one whole line (ending in '\n') unless its level is below the sink's.
  void Write(std::string_view line);
  LogLevel level() const { return level_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::ostream& out_;
  std::atomic<LogLevel> level_;
};

// An ostream that hands each completed line to a LogSink. One per writer: like any ostream it
// is not safe to share between threads without a lock of the writer's own.
class LogStream : public std::ostream {
 public:
  explicit LogStream(LogSink& sink) : std::ostream(&buf_), buf_(sink) {}

 private:
  class LineBuf : public std::streambuf {
   public:
    explicit LineBuf(LogSink& sink) : sink_(sink) {}
    ~LineBuf() override;

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;

   private:
    void Append(std::string_view s);
    LogSink& sink_;
    std::string line_;
  };
  LineBuf buf_;
};

}  // namespace noisegate::processor

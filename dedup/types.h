// Strong types shared by the engine and its drivers: event time, durations, fingerprints and
// incident ids. Event time is milliseconds since the Unix epoch, taken from the records, never
// from a clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace noisegate {

using Millis = std::chrono::milliseconds;

// A point in event time (ms since the epoch). Only records and watermarks produce them.
struct EventTime {
  int64_t ms = 0;
  friend auto operator<=>(const EventTime&, const EventTime&) = default;
  EventTime operator+(Millis d) const { return EventTime{ms + d.count()}; }
  EventTime operator-(Millis d) const { return EventTime{ms - d.count()}; }
  Millis operator-(EventTime o) const { return Millis{ms - o.ms}; }
};

inline constexpr EventTime kMinTime{INT64_MIN / 4};
inline constexpr EventTime kMaxTime{INT64_MAX / 4};

// The 64-bit XXH3 of a signal's canonical identity; printed as 16 hex digits.
struct Fingerprint {
  uint64_t value = 0;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
  friend auto operator<=>(const Fingerprint&, const Fingerprint&) = default;
};

std::string ToHex(Fingerprint fp);

// Formats event time as RFC 3339 in UTC with millisecond precision.
std::string FormatRfc3339(EventTime t);

}  // namespace noisegate

namespace noisegate {
// Parses RFC 3339 / ISO 8601 date-times such as "2026-11-24T03:00:00Z",
// "2026-11-24T03:00:00.123456789+01:00" or "2026-11-24 03:00:00Z" into event time
// (fractions below a millisecond are truncated). Returns false on anything else.
bool ParseRfc3339(std::string_view text, EventTime* out);
}  // namespace noisegate

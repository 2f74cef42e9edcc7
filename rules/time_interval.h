// Recurring time intervals with Alertmanager's semantics (times of day, weekdays, days of
// month, months, years, and a time zone). Used to mute silences and correlate rules on a
// schedule. Evaluated on event time, so replay and rule tests see exactly what live would.
#pragma once

#include <string>
#include <vector>

#include "dedup/types.h"

namespace date {
class time_zone;
}

namespace noisegate::rules {

struct IntRange {
  int lo = 0;
  int hi = 0;  // inclusive
};

// One entry of a named interval: every non-empty field must match.
struct TimeIntervalSpec {
  std::vector<IntRange> times;          // minutes of the day, [start, end)
  std::vector<IntRange> weekdays;       // 0 = Sunday .. 6 = Saturday
  std::vector<IntRange> days_of_month;  // 1..31, or negative from the month's end (-1 = last)
  std::vector<IntRange> months;         // 1..12
  std::vector<IntRange> years;
  const date::time_zone* location = nullptr;  // nullptr = UTC
};

struct TimeInterval {
  std::string name;
  std::vector<TimeIntervalSpec> specs;  // matches when any spec matches
  bool Contains(EventTime t) const;
};

bool SpecContains(const TimeIntervalSpec& spec, EventTime t);

}  // namespace noisegate::rules

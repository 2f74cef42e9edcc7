#include "rules/time_interval.h"

#include <date/date.h>
#include <date/tz.h>

namespace noisegate::rules {
namespace {

bool InAny(const std::vector<IntRange>& ranges, int v) {
  if (ranges.empty()) return true;
  for (const IntRange& r : ranges) {
    if (v >= r.lo && v <= r.hi) return true;
  }
  return false;
}

}  // namespace

bool SpecContains(const TimeIntervalSpec& spec, EventTime t) {
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  date::sys_time<milliseconds> st{milliseconds{t.ms}};
  date::local_time<milliseconds> lt{milliseconds{t.ms}};
  if (spec.location != nullptr) lt = spec.location->to_local(st);
  auto ld = date::floor<date::days>(lt);
  date::year_month_day ymd{ld};
  date::weekday wd{ld};
  auto tod = std::chrono::duration_cast<minutes>(lt - ld).count();
  if (!spec.times.empty()) {
    bool ok = false;
    for (const IntRange& r : spec.times) {
      if (tod >= r.lo && tod < r.hi) ok = true;
    }
    if (!ok) return false;
  }
  if (!InAny(spec.weekdays, static_cast<int>(wd.c_encoding()))) return false;
  int day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  if (!spec.days_of_month.empty()) {
    int last = static_cast<int>(static_cast<unsigned>(
        date::year_month_day_last{ymd.year() / ymd.month() / date::last}.day()));
    bool ok = false;
    for (const IntRange& r : spec.days_of_month) {
      int lo = r.lo < 0 ? last + 1 + r.lo : r.lo;
      int hi = r.hi < 0 ? last + 1 + r.hi : r.hi;
      if (day >= lo && day <= hi) ok = true;
    }
    if (!ok) return false;
  }
  if (!InAny(spec.months, static_cast<int>(static_cast<unsigned>(ymd.month())))) return false;
  if (!InAny(spec.years, static_cast<int>(ymd.year()))) return false;
  return true;
}

bool TimeInterval::Contains(EventTime t) const {
  for (const TimeIntervalSpec& s : specs) {
    if (SpecContains(s, t)) return true;
  }
  return false;
}

}  // namespace noisegate::rules

#include "rules/duration.h"

#include <string>
#include <utility>

namespace noisegate::rules {

Result<Millis> ParseDuration(std::string_view s) {
  if (s.empty()) return MakeError(ErrorCode::kParse, "empty duration");
  if (s == "0") return Millis{0};
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      n = n * 10 + (s[i] - '0');
      if (n > (int64_t{1} << 40)) return MakeError(ErrorCode::kOutOfRange, "duration too large");
      ++i;
    }
    if (i == start) {
      return MakeError(ErrorCode::kParse, "expected a number in duration \"" + std::string(s) +
                                              "\" (like 30s, 5m, 1h30m)");
    }
    size_t ustart = i;
    while (i < s.size() && (s[i] < '0' || s[i] > '9')) ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    int64_t mult;
    if (unit == "ms") {
      mult = 1;
    } else if (unit == "s") {
      mult = 1000;
    } else if (unit == "m") {
      mult = 60'000;
    } else if (unit == "h") {
      mult = 3'600'000;
    } else if (unit == "d") {
      mult = 86'400'000;
    } else if (unit == "w") {
      mult = 7 * 86'400'000LL;
    } else {
      return MakeError(ErrorCode::kParse, "unknown unit \"" + std::string(unit) +
                                              "\" in duration \"" + std::string(s) +
                                              "\" (use ms, s, m, h, d, w)");
    }
    total += n * mult;
  }
  return Millis{total};
}

std::string FormatDuration(Millis d) {
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {604'800'000, "w"}, {86'400'000, "d"}, {3'600'000, "h"},
      {60'000, "m"},      {1000, "s"},       {1, "ms"}};
  int64_t ms = d.count();
  if (ms == 0) return "0";
  std::string out;
  for (auto [unit, name] : kUnits) {
    if (ms >= unit) {
      out += std::to_string(ms / unit) + name;
      ms %= unit;
    }
  }
  return out;
}

}  // namespace noisegate::rules

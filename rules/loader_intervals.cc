// The time_intervals section: named recurring intervals with Alertmanager's syntax and
// validation (times, weekdays, days_of_month, months, years, location), and the lookup of
// interval names used by silences and correlate rules.
#include <date/tz.h>

#include <charconv>
#include <functional>

#include "rules/loader_sections.h"

namespace noisegate::rules::internal {
namespace {

constexpr std::string_view kWeekdays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                          "thursday", "friday", "saturday"};
constexpr std::string_view kMonths[] = {"january",   "february", "march",    "april",
                                        "may",       "june",     "july",     "august",
                                        "september", "october",  "november", "december"};

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Position of `s` (case-insensitive) in `names`, or nullopt.
template <size_t N>
std::optional<int> NameIndex(std::string_view s, const std::string_view (&names)[N]) {
  std::string lower = Lower(s);
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == lower) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::optional<int> ParseWeekday(std::string_view s) { return NameIndex(s, kWeekdays); }

std::optional<int> ParseMonth(std::string_view s) {
  if (auto m = NameIndex(s, kMonths)) return *m + 1;
  auto n = ParseInt(s);
  if (n && *n >= 1 && *n <= 12) return n;
  return std::nullopt;
}

std::optional<int> ParseDayOfMonth(std::string_view s) {
  auto n = ParseInt(s);
  if (n && ((*n >= 1 && *n <= 31) || (*n >= -31 && *n <= -1))) return n;
  return std::nullopt;
}

std::optional<int> ParseYear(std::string_view s) {
  auto n = ParseInt(s);
  if (n && *n >= 1 && *n <= 9999) return n;
  return std::nullopt;
}

// "HH:MM" in minutes of the day; 24:00 only where `allow_24` (an end time).
std::optional<int> ParseClock(std::string_view s, bool allow_24) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  auto h = ParseInt(s.substr(0, 2));
  auto m = ParseInt(s.substr(3, 2));
  if (!h || !m || *h < 0 || *m < 0 || *m > 59) return std::nullopt;
  if (*h == 24 && *m == 0 && allow_24) return 24 * 60;
  if (*h > 23) return std::nullopt;
  return *h * 60 + *m;
}

struct RangeKind {
  std::string_view what;     // "weekday"
  std::string_view example;  // "monday:friday"
  std::function<std::optional<int>(std::string_view)> parse;
  // Order used to check that a range does not start after it ends.
  std::function<int(int)> order = [](int v) { return v; };
};

// A list like ['monday:friday', saturday]: single values or inclusive start:end ranges.
std::vector<IntRange> ReadRanges(YamlReader& r, const YAML::Node& node, const std::string& path,
                                 const RangeKind& kind) {
  std::vector<IntRange> out;
  std::string list_what =
      "a list of " + std::string(kind.what) + "s like ['" + std::string(kind.example) + "']";
  if (!r.CheckList(node, path, list_what)) return out;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string item_path = IndexPath(path, i);
    std::optional<std::string> s = r.String(item, item_path, "a " + std::string(kind.what));
    if (!s) continue;
    std::string_view text = *s;
    size_t colon = text.find(':');
    std::string_view lo_text = text.substr(0, colon);
    std::string_view hi_text = colon == std::string_view::npos ? lo_text : text.substr(colon + 1);
    auto lo = kind.parse(lo_text);
    auto hi = kind.parse(hi_text);
    if (!lo || !hi) {
      r.Report(item, item_path,
               "invalid " + std::string(kind.what) + " \"" + std::string(!lo ? lo_text : hi_text) +
                   "\" (expected a " + std::string(kind.what) + " or a range like " +
                   std::string(kind.example) + ")");
      continue;
    }
    if (kind.order(*lo) > kind.order(*hi)) {
      r.Report(item, item_path, "range \"" + *s + "\" starts after it ends");
      continue;
    }
    out.push_back(IntRange{*lo, *hi});
  }
  return out;
}

void LoadTimes(YamlReader& r, const YAML::Node& node, const std::string& path,
               TimeIntervalSpec* spec) {
  if (!r.CheckList(node, path,
                   "a list of times like [{start_time: \"09:00\", end_time: \"17:00\"}]")) {
    return;
  }
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string item_path = IndexPath(path, i);
    if (!r.CheckMap(item, item_path, {"start_time", "end_time"},
                    "a time range like {start_time: \"09:00\", end_time: \"17:00\"}")) {
      continue;
    }
    std::optional<int> bounds[2];
    const std::string_view keys[2] = {"start_time", "end_time"};
    for (int b = 0; b < 2; ++b) {
      if (!r.Require(item, item_path, keys[b])) continue;
      YAML::Node n = YamlReader::Get(item, keys[b]);
      std::string key_path = JoinPath(item_path, keys[b]);
      auto s = r.String(n, key_path, "a time of day like \"09:00\"");
      if (!s) continue;
      bounds[b] = ParseClock(*s, b == 1);
      if (!bounds[b]) {
        r.Report(n, key_path,
                 "invalid time of day \"" + *s + "\" (expected HH:MM from 00:00 to " +
                     (b == 1 ? "24:00" : "23:59") + ")");
      }
    }
    if (bounds[0] && bounds[1]) {
      if (*bounds[0] >= *bounds[1]) {
        r.Report(YamlReader::Get(item, "end_time"), JoinPath(item_path, "end_time"),
                 "end_time must be after start_time");
        continue;
      }
      spec->times.push_back(IntRange{*bounds[0], *bounds[1]});
    }
  }
}

void LoadLocation(YamlReader& r, const YAML::Node& node, const std::string& path,
                  TimeIntervalSpec* spec) {
  auto name = r.NonEmptyString(node, path, "an IANA time zone like Europe/Berlin");
  if (!name || *name == "UTC") return;  // nullptr location is UTC
  try {
    spec->location = date::locate_zone(*name);
    return;
  } catch (const std::exception&) {
    // Reported below, with a suggestion.
  }
  std::string message = "unknown location \"" + *name + "\"";
  try {
    std::vector<std::string_view> zones;
    for (const date::time_zone& z : date::get_tzdb().zones) zones.push_back(z.name());
    std::string_view close = ClosestMatch(*name, zones);
    if (!close.empty()) message += "; did you mean \"" + std::string(close) + "\"?";
  } catch (const std::exception&) {
    // No time zone database to suggest from; the plain message stands.
  }
  r.Report(node, path, message + " (expected an IANA time zone like Europe/Berlin)");
}

void LoadSpec(YamlReader& r, const YAML::Node& node, const std::string& path,
              TimeIntervalSpec* spec) {
  if (!r.CheckMap(node, path, {"times", "weekdays", "days_of_month", "months", "years", "location"},
                  "a time interval like {weekdays: ['monday:friday']}")) {
    return;
  }
  static const RangeKind kWeekdayKind{"weekday", "monday:friday", ParseWeekday};
  // Negative days count from the month's end; for ordering treat -1 as day 31.
  static const RangeKind kDayKind{"day of month", "1:5", ParseDayOfMonth,
                                  [](int v) { return v < 0 ? 32 + v : v; }};
  static const RangeKind kMonthKind{"month", "january:march", ParseMonth};
  static const RangeKind kYearKind{"year", "2026:2027", ParseYear};
  const std::pair<std::string_view, std::pair<const RangeKind*, std::vector<IntRange>*>> ranges[] =
      {{"weekdays", {&kWeekdayKind, &spec->weekdays}},
       {"days_of_month", {&kDayKind, &spec->days_of_month}},
       {"months", {&kMonthKind, &spec->months}},
       {"years", {&kYearKind, &spec->years}}};
  if (YAML::Node n = YamlReader::Get(node, "times"); YamlReader::Has(n)) {
    LoadTimes(r, n, JoinPath(path, "times"), spec);
  }
  for (const auto& [key, target] : ranges) {
    YAML::Node n = YamlReader::Get(node, key);
    if (YamlReader::Has(n)) *target.second = ReadRanges(r, n, JoinPath(path, key), *target.first);
  }
  if (YAML::Node n = YamlReader::Get(node, "location"); YamlReader::Has(n)) {
    LoadLocation(r, n, JoinPath(path, "location"), spec);
  }
}

int FindInterval(const std::vector<TimeInterval>& defined, std::string_view name) {
  for (size_t i = 0; i < defined.size(); ++i) {
    if (defined[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

void LoadTimeIntervals(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  const std::string path = "time_intervals";
  if (!r.CheckList(node, path, "a list of named time intervals")) return;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string item_path = IndexPath(path, i);
    if (!r.CheckMap(item, item_path, {"name", "time_intervals"},
                    "a named interval like {name: business-hours, time_intervals: [...]}")) {
      continue;
    }
    TimeInterval interval;
    bool named = false;
    if (r.Require(item, item_path, "name")) {
      YAML::Node n = YamlReader::Get(item, "name");
      std::string name_path = JoinPath(item_path, "name");
      if (auto name = r.NonEmptyString(n, name_path, "a time interval name")) {
        if (FindInterval(rules->time_intervals, *name) >= 0) {
          r.Report(n, name_path, "duplicate time interval name \"" + *name + "\"");
        } else {
          interval.name = std::move(*name);
          named = true;
        }
      }
    }
    if (r.Require(item, item_path, "time_intervals")) {
      YAML::Node specs = YamlReader::Get(item, "time_intervals");
      std::string specs_path = JoinPath(item_path, "time_intervals");
      if (r.CheckList(specs, specs_path, "a list of time intervals like [{weekdays: [monday]}]")) {
        if (specs.size() == 0) {
          r.Report(specs, specs_path, "expected at least one time interval, got an empty list");
        }
        size_t j = 0;
        for (auto s = specs.begin(); s != specs.end(); ++s, ++j) {
          TimeIntervalSpec spec;
          LoadSpec(r, *s, IndexPath(specs_path, j), &spec);
          interval.specs.push_back(std::move(spec));
        }
      }
    }
    // Registered even when its specs are bad, so references to it are not reported too.
    if (named) rules->time_intervals.push_back(std::move(interval));
  }
}

std::optional<std::vector<int>> IntervalRefs(YamlReader& r, const YAML::Node& node,
                                             const std::string& path,
                                             const std::vector<TimeInterval>& defined) {
  if (!r.CheckList(node, path, "a list of time interval names")) return std::nullopt;
  std::vector<int> out;
  bool ok = true;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string item_path = IndexPath(path, i);
    auto name = r.NonEmptyString(item, item_path, "a time interval name");
    if (!name) {
      ok = false;
      continue;
    }
    int index = FindInterval(defined, *name);
    if (index < 0) {
      std::string message = "unknown time interval \"" + *name + "\"";
      std::vector<std::string_view> names;
      for (const TimeInterval& t : defined) names.push_back(t.name);
      std::string_view close = ClosestMatch(*name, names);
      if (!close.empty()) {
        message += "; did you mean \"" + std::string(close) + "\"?";
      } else if (names.empty()) {
        message += " (no time_intervals are defined)";
      }
      r.Report(item, item_path, message);
      ok = false;
      continue;
    }
    out.push_back(index);
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace noisegate::rules::internal

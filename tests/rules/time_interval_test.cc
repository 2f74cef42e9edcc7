// Tests of time interval evaluation with Alertmanager's semantics: weekday ranges, times of
// day as [start, end), days of month counted from the end, and a zone with daylight saving
// time. Intervals come from the loader, so the YAML syntax is covered too.
#include "rules/time_interval.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "rules/loader.h"

namespace noisegate::rules {
namespace {

EventTime T(const char* rfc3339) {
  EventTime t;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

// Compiles one named interval from the YAML of its time_intervals list.
TimeInterval Interval(const std::string& specs_yaml) {
  std::string yaml = "time_intervals:\n  - name: x\n    time_intervals:\n" + specs_yaml +
                     "correlate:\n  - name: all\n";
  LoadResult r = LoadRulesString(yaml, "interval.yaml");
  for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  if (!r.rules) return {};
  return r.rules->time_intervals.at(0);
}

TEST(TimeIntervalTest, WeekdayRange) {
  TimeInterval weekdays = Interval("      - weekdays: ['monday:friday']\n");
  EXPECT_TRUE(weekdays.Contains(T("2026-12-07T00:00:00Z")));   // Monday
  EXPECT_TRUE(weekdays.Contains(T("2026-12-09T12:00:00Z")));   // Wednesday
  EXPECT_TRUE(weekdays.Contains(T("2026-12-11T23:59:59Z")));   // Friday
  EXPECT_FALSE(weekdays.Contains(T("2026-12-12T00:00:00Z")));  // Saturday
  EXPECT_FALSE(weekdays.Contains(T("2026-12-13T12:00:00Z")));  // Sunday
  TimeInterval weekend = Interval("      - weekdays: [saturday, sunday]\n");
  EXPECT_TRUE(weekend.Contains(T("2026-12-13T12:00:00Z")));
  EXPECT_FALSE(weekend.Contains(T("2026-12-14T12:00:00Z")));
}

TEST(TimeIntervalTest, TimesAreHalfOpen) {
  TimeInterval day = Interval("      - times: [{start_time: '09:00', end_time: '17:00'}]\n");
  EXPECT_FALSE(day.Contains(T("2026-12-07T08:59:59Z")));
  EXPECT_TRUE(day.Contains(T("2026-12-07T09:00:00Z")));
  EXPECT_TRUE(day.Contains(T("2026-12-07T16:59:59Z")));
  EXPECT_FALSE(day.Contains(T("2026-12-07T17:00:00Z")));
  TimeInterval late = Interval("      - times: [{start_time: '22:00', end_time: '24:00'}]\n");
  EXPECT_TRUE(late.Contains(T("2026-12-07T23:59:59Z")));
  EXPECT_FALSE(late.Contains(T("2026-12-08T00:00:00Z")));
}

TEST(TimeIntervalTest, NegativeDaysOfMonthCountFromTheEnd) {
  TimeInterval last = Interval("      - days_of_month: ['-1']\n");
  EXPECT_TRUE(last.Contains(T("2027-02-28T12:00:00Z")));   // not a leap year
  EXPECT_FALSE(last.Contains(T("2028-02-28T12:00:00Z")));  // leap year: the 29th is last
  EXPECT_TRUE(last.Contains(T("2028-02-29T12:00:00Z")));
  EXPECT_TRUE(last.Contains(T("2026-04-30T12:00:00Z")));
  TimeInterval last3 = Interval("      - days_of_month: ['-3:-1']\n");
  EXPECT_TRUE(last3.Contains(T("2026-12-29T00:00:00Z")));
  EXPECT_FALSE(last3.Contains(T("2026-12-28T23:59:59Z")));
  TimeInterval mixed = Interval("      - days_of_month: ['25:-1']\n");
  EXPECT_TRUE(mixed.Contains(T("2026-12-31T00:00:00Z")));
  EXPECT_FALSE(mixed.Contains(T("2026-12-24T00:00:00Z")));
}

TEST(TimeIntervalTest, MonthsAndYears) {
  TimeInterval q1 = Interval("      - months: ['january:march']\n        years: ['2026']\n");
  EXPECT_TRUE(q1.Contains(T("2026-02-10T00:00:00Z")));
  EXPECT_FALSE(q1.Contains(T("2026-04-01T00:00:00Z")));
  EXPECT_FALSE(q1.Contains(T("2027-02-10T00:00:00Z")));
  TimeInterval dec = Interval("      - months: ['12']\n");
  EXPECT_TRUE(dec.Contains(T("2026-12-01T00:00:00Z")));
}

TEST(TimeIntervalTest, LocationFollowsDaylightSavingTime) {
  // 09:00-17:00 in Berlin is 08:00-16:00 UTC in winter (CET) and 07:00-15:00 UTC in
  // summer (CEST).
  TimeInterval berlin = Interval(
      "      - times: [{start_time: '09:00', end_time: '17:00'}]\n"
      "        location: Europe/Berlin\n");
  EXPECT_FALSE(berlin.Contains(T("2026-01-14T07:30:00Z")));
  EXPECT_TRUE(berlin.Contains(T("2026-01-14T08:30:00Z")));
  EXPECT_TRUE(berlin.Contains(T("2026-07-14T07:30:00Z")));
  EXPECT_FALSE(berlin.Contains(T("2026-07-14T15:30:00Z")));
  // Across the spring change on 2026-03-29 (02:00 CET -> 03:00 CEST).
  EXPECT_FALSE(berlin.Contains(T("2026-03-28T07:30:00Z")));  // 08:30 CET
  EXPECT_TRUE(berlin.Contains(T("2026-03-30T07:30:00Z")));   // 09:30 CEST
  // The weekday is the local one: 23:30 UTC on a Friday is Saturday in Berlin.
  TimeInterval weekdays =
      Interval("      - weekdays: ['monday:friday']\n        location: Europe/Berlin\n");
  EXPECT_FALSE(weekdays.Contains(T("2026-12-11T23:30:00Z")));
  EXPECT_TRUE(weekdays.Contains(T("2026-12-11T22:30:00Z")));
}

TEST(TimeIntervalTest, AnySpecMatchesAndEmptySpecMatchesAlways) {
  TimeInterval any = Interval(
      "      - weekdays: [monday]\n"
      "      - days_of_month: ['1']\n");
  EXPECT_TRUE(any.Contains(T("2026-12-07T00:00:00Z")));  // a Monday
  EXPECT_TRUE(any.Contains(T("2026-12-01T00:00:00Z")));  // the 1st (a Tuesday)
  EXPECT_FALSE(any.Contains(T("2026-12-02T00:00:00Z")));
  TimeInterval always = Interval("      - {}\n");
  EXPECT_TRUE(always.Contains(T("2031-05-17T13:14:15Z")));
  EXPECT_FALSE(TimeInterval{}.Contains(T("2026-12-01T00:00:00Z")));
}

}  // namespace
}  // namespace noisegate::rules

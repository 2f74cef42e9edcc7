// Tests of ParseDuration: Prometheus-style durations as written in rules files.
#include "rules/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace noisegate::rules {
namespace {

using ::testing::HasSubstr;

int64_t Ms(std::string_view text) {
  Result<Millis> d = ParseDuration(text);
  EXPECT_TRUE(d.has_value()) << text << ": " << (d ? "" : d.error().detail);
  return d ? d->count() : -1;
}

std::string Error(std::string_view text) {
  Result<Millis> d = ParseDuration(text);
  EXPECT_FALSE(d.has_value()) << text;
  return d ? "" : d.error().detail;
}

TEST(DurationTest, UnitsAndCompounds) {
  EXPECT_EQ(Ms("0"), 0);
  EXPECT_EQ(Ms("500ms"), 500);
  EXPECT_EQ(Ms("30s"), 30'000);
  EXPECT_EQ(Ms("5m"), 300'000);
  EXPECT_EQ(Ms("1h30m"), 5'400'000);
  EXPECT_EQ(Ms("2d"), 172'800'000);
  EXPECT_EQ(Ms("1w"), 604'800'000);
  EXPECT_EQ(Ms("1m30s500ms"), 90'500);
  EXPECT_EQ(Ms("0s"), 0);
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  EXPECT_THAT(Error(""), HasSubstr("empty duration"));
  EXPECT_THAT(Error("30"), HasSubstr("unknown unit \"\""));
  EXPECT_THAT(Error("30 seconds"), HasSubstr("unknown unit"));
  EXPECT_THAT(Error("5x"), HasSubstr("unknown unit \"x\""));
  EXPECT_THAT(Error("-5m"), HasSubstr("expected a number"));
  EXPECT_THAT(Error("m"), HasSubstr("expected a number"));
  EXPECT_THAT(Error("1.5h"), HasSubstr("unknown unit \".\""));
  EXPECT_THAT(Error("99999999999999999999s"), HasSubstr("too large"));
}

}  // namespace
}  // namespace noisegate::rules

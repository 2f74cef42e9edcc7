// Tests of label matchers in Alertmanager syntax: the four operators, fully anchored RE2
// regexes, quoting and escapes, a missing label reading as "", and parse errors.
#include "rules/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/rules/map_labels.h"

namespace noisegate::rules {
namespace {

using ::testing::HasSubstr;

using Labels = testing::MapLabels;

Matcher MustParse(std::string_view text) {
  Result<Matcher> m = Matcher::Parse(text);
  EXPECT_TRUE(m.has_value()) << text << ": " << (m ? "" : m.error().detail);
  return m ? *m : *Matcher::Make("x", MatchOp::kEqual, "");
}

std::string ParseError(std::string_view text) {
  Result<Matcher> m = Matcher::Parse(text);
  EXPECT_FALSE(m.has_value()) << text;
  return m ? "" : m.error().detail;
}

TEST(MatcherTest, FourOperators) {
  Labels l{{"severity", "critical"}};
  Matcher eq = MustParse("severity=\"critical\"");
  EXPECT_EQ(eq.op(), MatchOp::kEqual);
  EXPECT_TRUE(eq.Matches(l));
  EXPECT_FALSE(MustParse("severity=\"warning\"").Matches(l));
  Matcher ne = MustParse("severity!=\"warning\"");
  EXPECT_EQ(ne.op(), MatchOp::kNotEqual);
  EXPECT_TRUE(ne.Matches(l));
  EXPECT_FALSE(MustParse("severity!=\"critical\"").Matches(l));
  Matcher re = MustParse("severity=~\"warning|critical\"");
  EXPECT_EQ(re.op(), MatchOp::kRegex);
  EXPECT_TRUE(re.Matches(l));
  Matcher nre = MustParse("severity!~\"warning|critical\"");
  EXPECT_EQ(nre.op(), MatchOp::kNotRegex);
  EXPECT_FALSE(nre.Matches(l));
  EXPECT_TRUE(MustParse("severity!~\"info\"").Matches(l));
}

TEST(MatcherTest, RegexIsFullyAnchored) {
  Matcher m = MustParse("pod=~\"checkout-.*\"");
  EXPECT_TRUE(m.MatchesValue("checkout-7f9c"));
  EXPECT_FALSE(m.MatchesValue("old-checkout-7f9c"));
  // The alternation is anchored as a whole, not just its first and last branch.
  Matcher alt = MustParse("severity=~\"warning|critical\"");
  EXPECT_FALSE(alt.MatchesValue("warningx"));
  EXPECT_FALSE(alt.MatchesValue("xcritical"));
  EXPECT_FALSE(MustParse("a=~\"b\"").MatchesValue("abc"));
}

TEST(MatcherTest, QuotingAndEscapes) {
  Matcher m = MustParse(R"(msg="say \"hi\" \\ now\n")");
  EXPECT_EQ(m.value(), "say \"hi\" \\ now\n");
  EXPECT_EQ(m.ToString(), R"(msg="say \"hi\" \\ now\n")");
  EXPECT_EQ(MustParse(m.ToString()).value(), m.value());  // ToString round-trips
  Matcher spaced = MustParse("  severity  =~  \"a b\"  ");
  EXPECT_EQ(spaced.name(), "severity");
  EXPECT_EQ(spaced.value(), "a b");
  Matcher bare = MustParse("severity=critical");  // unquoted values are allowed
  EXPECT_EQ(bare.value(), "critical");
  EXPECT_EQ(bare.ToString(), "severity=\"critical\"");
  EXPECT_EQ(MustParse("k8s.pod-name=\"x\"").name(), "k8s.pod-name");
}

TEST(MatcherTest, MissingLabelMatchesAsEmpty) {
  Labels none{};
  EXPECT_TRUE(MustParse("env=\"\"").Matches(none));
  EXPECT_FALSE(MustParse("env!=\"\"").Matches(none));
  EXPECT_TRUE(MustParse("env=~\".*\"").Matches(none));
  EXPECT_FALSE(MustParse("env=~\".+\"").Matches(none));
  EXPECT_TRUE(MustParse("env!~\"prod\"").Matches(none));
}

TEST(MatcherTest, ParseErrors) {
  EXPECT_THAT(ParseError(""), HasSubstr("expected a label name"));
  EXPECT_THAT(ParseError("1abc=\"x\""), HasSubstr("at character 1: expected a label name"));
  EXPECT_THAT(ParseError("severity~\"critical\""), HasSubstr("at character 9: expected one of"));
  EXPECT_THAT(ParseError("severity"), HasSubstr("expected one of =, !=, =~, !~"));
  EXPECT_THAT(ParseError("a=\"unterminated"), HasSubstr("unterminated quoted value"));
  EXPECT_THAT(ParseError("a=\"x\" b"), HasSubstr("unexpected text after the value"));
  EXPECT_THAT(ParseError("a=~\"(x\""), HasSubstr("invalid regular expression"));
}

TEST(MatcherSetTest, ConjunctionAndEmptyMatchesAll) {
  MatcherSet empty;
  Labels l{{"a", "1"}, {"b", "2"}};
  EXPECT_TRUE(empty.Matches(l));
  MatcherSet both({MustParse("a=\"1\""), MustParse("b=~\"[0-9]\"")});
  EXPECT_TRUE(both.Matches(l));
  MatcherSet one_fails({MustParse("a=\"1\""), MustParse("b=\"3\"")});
  EXPECT_FALSE(one_fails.Matches(l));
  EXPECT_EQ(both.ToString(), "{a=\"1\", b=~\"[0-9]\"}");
}

}  // namespace

TEST(MatcherTest, ADoubledOperatorIsAnErrorNotAValueThatNeverMatches) {
  auto m = Matcher::Parse("severity==\"critical\"");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().detail.find("quote the value"), std::string::npos) << m.error().detail;
  EXPECT_FALSE(Matcher::Parse("a=~~x").has_value());
  EXPECT_TRUE(Matcher::Parse("a=x=y").has_value());  // '=' inside an unquoted value is fine
}

TEST(MatcherTest, ASingleQuotedValueIsAnErrorNotAValueThatNeverMatches) {
  auto m = Matcher::Parse("severity='critical'");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().detail.find("single quotes"), std::string::npos) << m.error().detail;
  EXPECT_NE(m.error().detail.find("severity=\""), std::string::npos) << m.error().detail;
  EXPECT_TRUE(Matcher::Parse("owner=o'brien").has_value());  // inside a value it is a letter
  EXPECT_TRUE(Matcher::Parse("severity=\"'critical'\"").has_value());  // quoted, it is meant
}

}  // namespace noisegate::rules

// `noisegate test`: passing tests pass, wrong expectations fail with what differed, and a
// malformed test file is an error with file:line:column.
#include "processor/testing/rule_tests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace noisegate::processor {
namespace {

using ::testing::HasSubstr;

// Runs the rule-test file `path` (from the source tree): none fails, and `passed` pass.
void ExpectAllPass(const std::string& path, int passed) {
  std::ostringstream out;
  RuleTestResult r = RunRuleTests(NG_SOURCE_DIR "/" + path, out);
  EXPECT_FALSE(r.file_error) << out.str();
  EXPECT_EQ(r.failed, 0) << out.str();
  EXPECT_EQ(r.passed, passed) << out.str();
}

TEST(RuleTestsTest, TheExampleRulesPassTheirTests) {
  ExpectAllPass("examples/rules_test.yaml", 12);
}

TEST(RuleTestsTest, WrongExpectationsFailAndSayWhatDiffered) {
  std::ostringstream out;
  RuleTestResult r =
      RunRuleTests(NG_SOURCE_DIR "/tests/processor/testdata/failing_rule_test.yaml", out);
  EXPECT_FALSE(r.file_error);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.passed, 1);
  std::string s = out.str();
  EXPECT_THAT(s, HasSubstr("FAIL wrong expectations"));
  EXPECT_THAT(s, HasSubstr("decision expected grouped, got new (rule user-impact)"));
  EXPECT_THAT(s, HasSubstr("pages[0] (line 12): severity expected \"warning\", got \"critical\""));
  EXPECT_THAT(s, HasSubstr("pages[0] (line 12): at expected 1m, got 2m"));
  EXPECT_THAT(s, HasSubstr("tickets: expected 0 events, got 1"));
  EXPECT_THAT(s, HasSubstr("PASS right expectations"));
}

// A raw payload goes through its input's decoder with the input's settings: a json_log
// input's `fields:` find the service and message, its `labels:` add the label a drop matches.
TEST(RuleTestsTest, ARawPayloadIsDecodedWithItsInputsSettings) {
  ExpectAllPass("tests/processor/testdata/json_log_fields_test.yaml", 1);
}

// page.when's firing_for: a page that time alone brings, and a flapper that never pages.
TEST(RuleTestsTest, FiringForPagesWhatKeepsFiringAndTicketsAFlapper) {
  ExpectAllPass("tests/processor/testdata/firing_for_test.yaml", 2);
}

// Log surges as inhibition sources: a warning of the service whose errors surge joins them.
TEST(RuleTestsTest, AnErrorSurgeInhibitsItsServicesWarnings) {
  ExpectAllPass("tests/processor/testdata/log_inhibit_test.yaml", 2);
}

// join_within: a failure that starts later on the same services opens its own incident,
// unless the incident kept gaining members.
TEST(RuleTestsTest, JoinWithinSplitsProblemsThatStartApartOnTheSameServices) {
  ExpectAllPass("tests/processor/testdata/join_within_test.yaml", 2);
}

// Evidence that ties one signal to two incidents before either notified merges them; a
// node's inhibited pod alerts are evidence for the callers' errors that blame them.
TEST(RuleTestsTest, OneSignalTiedToTwoPendingIncidentsMergesThem) {
  ExpectAllPass("tests/processor/testdata/merge_test.yaml", 4);
}

// Two problems at once: errors that blame what the open incident does not touch, an alert on
// such a component, a fresh deploy's errors, and a node where only victims of the incident or
// a deploy's errors began, keep apart; a far caller blaming a service the outage breaks, a
// symptom alert, and a deploy its callers blamed join it.
TEST(RuleTestsTest, EvidenceKeepsConcurrentProblemsApart) {
  ExpectAllPass("tests/processor/testdata/concurrent_test.yaml", 12);
}

TEST(RuleTestsTest, AMalformedTestFileIsAnErrorWithItsPosition) {
  std::ostringstream out;
  RuleTestResult r =
      RunRuleTests(NG_SOURCE_DIR "/tests/processor/testdata/bad_rule_test.yaml", out);
  EXPECT_TRUE(r.file_error);
  EXPECT_THAT(out.str(), HasSubstr("bad_rule_test.yaml:4:5: tests[0].inputs: unknown key "
                                   "\"inputs\"; did you mean \"input\"?"));
}

}  // namespace
}  // namespace noisegate::processor

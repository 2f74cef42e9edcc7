// Rule unit tests (`noisegate test FILE`), in the spirit of `promtool test rules`: records at
// given event times go through the same engine as replay and live, and the test states which
// pages and tickets must come out and what each record's decision must be. They can cover
// inhibition, silences, timers and time intervals, because time here is event time.
#pragma once

#include <ostream>
#include <string>

namespace noisegate::processor {

struct RuleTestResult {
  int passed = 0;
  int failed = 0;
  bool file_error = false;  // the test file (or its rules) could not be loaded
};

// Runs every test in `path`, printing PASS/FAIL lines and what differed to `out`.
RuleTestResult RunRuleTests(const std::string& path, std::ostream& out);

}  // namespace noisegate::processor

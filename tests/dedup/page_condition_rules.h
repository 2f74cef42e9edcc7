// Rules and records for tests of page.when conditions: web (user-facing) over db and cache,
// one incident per impacted service, and a condition of a critical alert and web's error
// budget burning within 5 minutes.
#pragma once

#include <string>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {

// `when`: the entries of page.when, as YAML list items indented by four spaces.
inline std::string ConditionRules(const std::string& when) {
  return R"(
topology:
  services:
    web: {user_facing: true, depends_on: [db, cache]}
    db: {}
    cache: {}
correlate:
  - name: impact
    group_by: [impacted_service]
    group_wait: 30s
    close_after: 1h
page:
  when:
)" + when;
}

// A critical alert under web and web's error budget burning, within 5 minutes.
inline const std::string kSymptomAndCause = R"(
    - all:
        - match: ['severity="critical"']
        - match: ['alertname="ErrorBudgetBurn"']
      within: 5m
)";

inline Record DbDown(int64_t t) {
  return Alert(t, {{"alertname", "DbDown"}, {"service", "db"}, {"severity", "critical"}});
}
inline Record Burn(int64_t t) {
  return Alert(t, {{"alertname", "ErrorBudgetBurn"}, {"service", "web"}, {"severity", "warning"}});
}

}  // namespace noisegate::dedup::testing

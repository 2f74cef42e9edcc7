// Tests of the strict rules loader: the full example compiles to the expected values, and
// each kind of mistake (one fixture per kind under testdata/bad/) is reported at the exact
// file:line:column and YAML path of the offending node.
#include "rules/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace noisegate::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return std::string(NG_SOURCE_DIR) + "/tests/rules/testdata/" + name;
}

std::string Dump(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += d.ToString() + "\n";
  return out;
}

EventTime Time(const char* rfc3339) {
  EventTime t;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

std::vector<std::string> MatcherStrings(const MatcherSet& set) {
  std::vector<std::string> out;
  for (const Matcher& m : set.matchers()) out.push_back(m.ToString());
  return out;
}

std::vector<std::string> Names(const Topology& topo, const std::vector<int>& nodes) {
  std::vector<std::string> out;
  for (int n : nodes) out.push_back(topo.node(n).name);
  return out;
}

class MapLabels : public LabelSource {
 public:
  explicit MapLabels(std::vector<std::pair<std::string, std::string>> labels)
      : labels_(std::move(labels)) {}
  std::string_view Get(std::string_view name) const override {
    for (const auto& [k, v] : labels_) {
      if (k == name) return v;
    }
    return {};
  }

 private:
  std::vector<std::pair<std::string, std::string>> labels_;
};

TEST(LoaderGoodTest, FullExampleCompilesEveryKey) {
  const std::string path = Fixture("good/full.yaml");
  LoadResult result = LoadRulesFile(path);
  ASSERT_TRUE(result.diagnostics.empty()) << Dump(result.diagnostics);
  ASSERT_NE(result.rules, nullptr);
  const CompiledRules& r = *result.rules;
  EXPECT_EQ(r.path, path);

  // inputs
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[0].topic, "alerts.prometheus");
  EXPECT_EQ(r.inputs[0].format, "alertmanager");
  ASSERT_TRUE(r.inputs[0].fingerprint.has_value());
  EXPECT_THAT(*r.inputs[0].fingerprint, ElementsAre("alertname", "instance"));
  EXPECT_EQ(r.inputs[0].min_level, LogLevel::kUnknown);
  EXPECT_EQ(r.inputs[0].pos.line, 4);
  EXPECT_EQ(r.inputs[0].pos.column, 5);
  EXPECT_EQ(r.inputs[1].format, "json_log");
  EXPECT_FALSE(r.inputs[1].fingerprint.has_value());
  using Pair = std::pair<std::string, std::string>;
  EXPECT_THAT(
      r.inputs[1].fields,
      ElementsAre(Pair{"time", "/@timestamp"}, Pair{"level", "/level"}, Pair{"service", "/service"},
                  Pair{"message", "/message"}, Pair{"error_type", "/exception/type"},
                  Pair{"stack_trace", "/exception/stack"}, Pair{"trace_id", "/trace_id"},
                  Pair{"version", "/version"}));
  EXPECT_THAT(r.inputs[1].labels, ElementsAre(Pair{"node", "/kubernetes/node/name"},
                                              Pair{"pod.name", "/kubernetes/pod~1name"}));
  EXPECT_EQ(r.inputs[1].min_level, LogLevel::kWarn);
  EXPECT_EQ(r.FindInput("logs.app"), 1);

  // topology: web-frontend -> checkout-api (user-facing) -> payments-api -> payments-db
  const Topology& t = r.topology;
  EXPECT_EQ(t.Find("web-frontend"), 0);  // declared services first, in file order
  EXPECT_EQ(t.Find("checkout-api"), 1);
  EXPECT_EQ(t.Find("payments-api"), 2);
  EXPECT_EQ(t.Find("search-api"), 3);
  for (const char* name : {"orders-db", "payments-db", "redis-cart", "mailer"}) {
    EXPECT_GE(t.Find(name), 0) << name;
  }
  EXPECT_TRUE(t.node(t.Find("web-frontend")).user_facing);
  EXPECT_TRUE(t.node(t.Find("checkout-api")).user_facing);
  EXPECT_FALSE(t.node(t.Find("payments-api")).user_facing);
  EXPECT_FALSE(t.node(t.Find("search-api")).user_facing);
  EXPECT_THAT(Names(t, t.node(t.Find("payments-db")).impacts), ElementsAre("checkout-api"));
  EXPECT_THAT(Names(t, t.node(t.Find("search-api")).impacts), ElementsAre("web-frontend"));
  EXPECT_THAT(Names(t, t.node(t.Find("checkout-api")).impacts), ElementsAre("checkout-api"));
  EXPECT_TRUE(t.node(t.Find("mailer")).impacts.empty());
  EXPECT_TRUE(t.DependsOn(t.Find("web-frontend"), t.Find("payments-db")));
  ASSERT_EQ(t.components().size(), 3u);
  EXPECT_EQ(t.components()[0].node, t.Find("payments-db"));
  EXPECT_EQ(t.components()[0].line, 23);
  EXPECT_THAT(MatcherStrings(t.components()[1].match),
              ElementsAre("namespace=\"checkout\"", "pod=~\"checkout-api-.*\""));
  EXPECT_EQ(t.Attribute(MapLabels({std::pair<std::string, std::string>{"cluster", "pg-payments"}})),
            t.Find("payments-db"));

  // dedup
  EXPECT_THAT(r.dedup.fingerprint, ElementsAre("alertname", "service", "instance"));
  EXPECT_EQ(r.dedup.flapping.changes, 4);
  EXPECT_EQ(r.dedup.flapping.within.count(), 15 * 60'000);
  EXPECT_EQ(r.dedup.flapping.stable_for.count(), 10 * 60'000);
  EXPECT_EQ(r.dedup.resolve_timeout.count(), 5 * 60'000);

  // logs
  EXPECT_FALSE(r.logs.template_auto);
  EXPECT_THAT(r.logs.fingerprint, ElementsAre("service", "error_type", "version"));
  EXPECT_EQ(r.logs.surge.min_count, 30);
  EXPECT_EQ(r.logs.surge.within.count(), 120'000);
  EXPECT_DOUBLE_EQ(r.logs.surge.over_baseline, 2.5);
  EXPECT_EQ(r.logs.surge.baseline_window.count(), 7'200'000);
  EXPECT_EQ(r.logs.surge.warmup.count(), 0);
  EXPECT_EQ(r.logs.surge.quiet_for.count(), 600'000);

  // time_intervals
  ASSERT_EQ(r.time_intervals.size(), 2u);
  const TimeInterval& business = r.time_intervals[0];
  EXPECT_EQ(business.name, "business-hours");
  ASSERT_EQ(business.specs.size(), 1u);
  ASSERT_EQ(business.specs[0].times.size(), 1u);
  EXPECT_EQ(business.specs[0].times[0].lo, 9 * 60);
  EXPECT_EQ(business.specs[0].times[0].hi, 17 * 60);
  ASSERT_EQ(business.specs[0].weekdays.size(), 1u);
  EXPECT_EQ(business.specs[0].weekdays[0].lo, 1);
  EXPECT_EQ(business.specs[0].weekdays[0].hi, 5);
  ASSERT_NE(business.specs[0].location, nullptr);
  // 08:30 UTC on a Tuesday in December is 09:30 in Berlin.
  EXPECT_TRUE(business.Contains(Time("2026-12-01T08:30:00Z")));
  EXPECT_FALSE(business.Contains(Time("2026-12-01T16:30:00Z")));
  const TimeInterval& month_end = r.time_intervals[1];
  ASSERT_EQ(month_end.specs.size(), 2u);
  ASSERT_EQ(month_end.specs[0].days_of_month.size(), 2u);
  EXPECT_EQ(month_end.specs[0].days_of_month[0].lo, -3);
  EXPECT_EQ(month_end.specs[0].days_of_month[0].hi, -1);
  ASSERT_EQ(month_end.specs[0].months.size(), 2u);
  EXPECT_EQ(month_end.specs[0].months[0].lo, 1);
  EXPECT_EQ(month_end.specs[0].months[0].hi, 3);
  EXPECT_EQ(month_end.specs[0].months[1].lo, 12);
  EXPECT_EQ(month_end.specs[0].years[0].lo, 2026);
  EXPECT_EQ(month_end.specs[0].years[0].hi, 2027);
  EXPECT_EQ(month_end.specs[0].location, nullptr);
  ASSERT_EQ(month_end.specs[1].weekdays.size(), 2u);
  EXPECT_EQ(month_end.specs[1].weekdays[0].lo, 6);
  EXPECT_EQ(month_end.specs[1].weekdays[1].lo, 0);  // "Sunday": names are case-insensitive
  EXPECT_EQ(month_end.specs[1].times[0].hi, 24 * 60);

  // silences
  ASSERT_EQ(r.silences.size(), 2u);
  EXPECT_EQ(r.silences[0].name, "silences[0]");
  EXPECT_EQ(r.silences[0].starts, kMinTime);
  EXPECT_EQ(r.silences[0].ends, kMaxTime);
  EXPECT_EQ(r.silences[0].comment, "never page for non-production");
  EXPECT_THAT(MatcherStrings(r.silences[0].matchers), ElementsAre("namespace=~\"staging|dev\""));
  EXPECT_EQ(r.silences[1].name, "index-rebuild");
  EXPECT_EQ(r.silences[1].starts, Time("2026-12-01T02:00:00Z"));
  EXPECT_EQ(r.silences[1].ends, Time("2026-12-01T04:00:00Z"));
  EXPECT_THAT(r.silences[1].time_intervals, ElementsAre(1));
  EXPECT_EQ(r.silences[1].pos.line, 58);
  EXPECT_EQ(r.silences[1].pos.column, 5);

  // inhibit
  ASSERT_EQ(r.inhibit.size(), 2u);
  EXPECT_EQ(r.inhibit[0].name, "inhibit[0]");
  EXPECT_THAT(MatcherStrings(r.inhibit[0].source), ElementsAre("alertname=\"NodeNotReady\""));
  EXPECT_THAT(MatcherStrings(r.inhibit[0].target), ElementsAre("severity=~\"warning|critical\""));
  EXPECT_THAT(r.inhibit[0].equal, ElementsAre("node"));
  EXPECT_EQ(r.inhibit[1].name, "cluster-down");
  EXPECT_THAT(MatcherStrings(r.inhibit[1].source), ElementsAre("alertname=\"ClusterDown\""));
  EXPECT_THAT(MatcherStrings(r.inhibit[1].target), ElementsAre("alertname!=\"ClusterDown\""));

  // correlate
  ASSERT_EQ(r.correlate.size(), 2u);
  const CorrelateRule& c = r.correlate[0];
  EXPECT_EQ(c.name, "user-impact");
  EXPECT_THAT(MatcherStrings(c.match), ElementsAre("signal=\"alert\"", "severity!~\"info|none\""));
  EXPECT_THAT(c.group_by, ElementsAre("impacted_service"));
  EXPECT_EQ(c.group_wait.count(), 45'000);
  EXPECT_EQ(c.group_interval.count(), 600'000);
  EXPECT_EQ(c.close_after.count(), 1'200'000);
  EXPECT_EQ(c.max_duration.count(), 12 * 3'600'000);
  EXPECT_EQ(c.max_members, 250);
  EXPECT_EQ(c.caller_hops, 2);
  EXPECT_TRUE(c.join_named);
  EXPECT_THAT(c.mute_time_intervals, ElementsAre(1));
  EXPECT_THAT(c.active_time_intervals, ElementsAre(0));
  const CorrelateRule& rest = r.correlate[1];
  EXPECT_TRUE(rest.match.empty());
  EXPECT_EQ(rest.group_wait.count(), 0);
  EXPECT_EQ(rest.group_interval.count(), 300'000);  // default
  EXPECT_EQ(rest.max_members, 500);
  EXPECT_EQ(rest.caller_hops, 0);
  EXPECT_FALSE(rest.join_named);

  // page
  ASSERT_EQ(r.page.when.size(), 2u);
  ASSERT_EQ(r.page.when[0].all.size(), 1u);
  EXPECT_TRUE(r.page.when[0].single());
  EXPECT_THAT(MatcherStrings(r.page.when[0].all[0].match),
              ElementsAre("impacted_user_facing=\"true\"", "severity=\"critical\""));
  EXPECT_EQ(r.page.when[1].first_bit, 1);
  EXPECT_EQ(r.page.clauses, 2);
  EXPECT_EQ(r.page.when[1].pos.line, 94);
  EXPECT_EQ(r.page.when[1].pos.column, 7);
  EXPECT_EQ(r.page.otherwise, Action::kDrop);
  EXPECT_EQ(r.page.repeat_interval.count(), 0);

  // drop
  ASSERT_EQ(r.drop.size(), 2u);
  EXPECT_EQ(r.drop[0].name, "drop[0]");
  EXPECT_EQ(r.drop[1].name, "info-alerts");
  EXPECT_THAT(MatcherStrings(r.drop[1].matchers), ElementsAre("severity=\"info\""));

  EXPECT_EQ(r.allowed_lateness.count(), 90'000);
}

TEST(LoaderGoodTest, AbsentSectionsTakeTheDocumentedDefaults) {
  LoadResult result = LoadRulesString("correlate:\n  - name: all\n", "min.yaml");
  ASSERT_TRUE(result.diagnostics.empty()) << Dump(result.diagnostics);
  const CompiledRules& r = *result.rules;
  EXPECT_EQ(r.path, "min.yaml");
  EXPECT_TRUE(r.inputs.empty());
  EXPECT_EQ(r.topology.size(), 0u);
  EXPECT_TRUE(r.dedup.fingerprint.empty());
  EXPECT_EQ(r.dedup.flapping.changes, 0);
  EXPECT_TRUE(r.logs.template_auto);
  EXPECT_THAT(r.logs.fingerprint, ElementsAre("namespace", "cluster", "service", "error_type"));
  EXPECT_EQ(r.logs.surge.min_count, 20);
  EXPECT_EQ(r.correlate[0].group_wait.count(), 30'000);
  EXPECT_EQ(r.correlate[0].max_duration.count(), 6 * 3'600'000);
  EXPECT_EQ(r.page.otherwise, Action::kTicket);
  EXPECT_EQ(r.page.repeat_interval.count(), 4 * 3'600'000);
  EXPECT_EQ(r.allowed_lateness.count(), 60'000);
}

TEST(LoaderGoodTest, DesignExampleLoads) {
  LoadResult result = LoadRulesFile("/work/shared/design/rules-example.yaml");
  if (result.diagnostics.size() == 1 && result.diagnostics[0].line == 0) {
    GTEST_SKIP() << "design example not available here";
  }
  EXPECT_TRUE(result.diagnostics.empty()) << Dump(result.diagnostics);
}

struct BadCase {
  const char* file;
  int line;
  int column;
  const char* path;
  const char* fragment;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.file; }

class LoaderBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(LoaderBadTest, ReportsOneDiagnosticAtTheOffendingNode) {
  const BadCase& c = GetParam();
  const std::string path = Fixture(std::string("bad/") + c.file);
  LoadResult result = LoadRulesFile(path);
  EXPECT_EQ(result.rules, nullptr);
  ASSERT_EQ(result.diagnostics.size(), 1u) << Dump(result.diagnostics);
  const Diagnostic& d = result.diagnostics[0];
  EXPECT_EQ(d.file, path);
  EXPECT_EQ(d.line, c.line) << d.ToString();
  EXPECT_EQ(d.column, c.column) << d.ToString();
  EXPECT_EQ(d.path, c.path) << d.ToString();
  EXPECT_THAT(d.message, HasSubstr(c.fragment));
  std::string prefix = path + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
  if (*c.path != '\0') prefix += std::string(c.path) + ": ";
  EXPECT_EQ(d.ToString().substr(0, prefix.size()), prefix);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, LoaderBadTest,
    ::testing::Values(
        BadCase{"unknown_key_top.yaml", 2, 1, "alowed_lateness",
                "unknown key \"alowed_lateness\"; did you mean \"allowed_lateness\"?"},
        BadCase{"unknown_key_nested.yaml", 5, 5, "correlate[0].group_wiat",
                "unknown key \"group_wiat\"; did you mean \"group_wait\"?"},
        BadCase{"wrong_type.yaml", 4, 12, "correlate[0].match", "expected a list of matchers"},
        BadCase{"bad_duration.yaml", 4, 17, "correlate[0].group_wait",
                "expected a duration like 30s"},
        BadCase{"bad_matcher.yaml", 4, 31, "correlate[0].match[1]",
                "invalid matcher \"severity~\\\"critical\\\"\": at character 9"},
        BadCase{"bad_regex.yaml", 3, 16, "silences[0].matchers[0]", "invalid regular expression"},
        BadCase{"unknown_format.yaml", 4, 13, "inputs[0].format", "unknown format \"prometheus\""},
        BadCase{"fields_not_json_log.yaml", 5, 13, "inputs[0].fields",
                "fields is only for format json_log, not alertmanager"},
        BadCase{"duplicate_topic.yaml", 5, 12, "inputs[1].topic",
                "duplicate topic \"alerts\" (also inputs[0])"},
        BadCase{"duplicate_correlate_name.yaml", 5, 11, "correlate[1].name",
                "duplicate correlate rule name \"user-impact\""},
        BadCase{"missing_correlate.yaml", 2, 1, "correlate", "missing required key \"correlate\""},
        BadCase{"unknown_time_interval.yaml", 8, 27, "correlate[0].mute_time_intervals[0]",
                "unknown time interval \"busines-hours\"; did you mean \"business-hours\"?"},
        BadCase{"bad_weekday.yaml", 5, 20, "time_intervals[0].time_intervals[0].weekdays[0]",
                "invalid weekday \"fryday\""},
        BadCase{"bad_time_of_day.yaml", 5, 49,
                "time_intervals[0].time_intervals[0].times[0].end_time",
                "invalid time of day \"25:00\""},
        BadCase{"unknown_location.yaml", 5, 19, "time_intervals[0].time_intervals[0].location",
                "unknown location \"Europe/Berln\"; did you mean \"Europe/Berlin\"?"},
        BadCase{"ends_before_starts.yaml", 5, 11, "silences[0].ends", "ends must be after starts"},
        BadCase{"topology_cycle.yaml", 5, 32, "topology.services.checkout-api.depends_on",
                "dependency cycle: checkout-api -> payments-api -> checkout-api"},
        BadCase{"yaml_syntax.yaml", 5, 5, "", "YAML syntax error: end of sequence flow not found"},
        BadCase{"duplicate_key.yaml", 5, 5, "correlate[0].group_wait",
                "duplicate key \"group_wait\""},
        BadCase{"inhibit_alias_conflict.yaml", 4, 22, "inhibit[0].source_matchers",
                "give either source or source_matchers, not both"},
        BadCase{"surge_windows.yaml", 3, 41, "logs.surge.baseline_window",
                "baseline_window (5m) must be longer than within (10m)"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find('.'));
      return name;
    });

TEST(LoaderBadTest, SeveralErrorsAreAllReportedInFileOrder) {
  const std::string path = Fixture("bad/several_errors.yaml");
  LoadResult result = LoadRulesFile(path);
  EXPECT_EQ(result.rules, nullptr);
  std::vector<std::string> got;
  for (const Diagnostic& d : result.diagnostics) {
    got.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + " " + d.path);
  }
  EXPECT_THAT(got, ElementsAre("5:33 inputs[0].fields.levle",  //
                               "7:13 dedup.flapping.stable_for",
                               "7:23 dedup.flapping.changes",  //
                               "10:17 correlate[0].group_wait",
                               "11:18 correlate[0].max_members",  //
                               "14:8 page.when[0][0]",            //
                               "15:14 page.otherwise"))
      << Dump(result.diagnostics);
  ASSERT_EQ(result.diagnostics.size(), 7u);
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("did you mean \"level\"?"));
  EXPECT_THAT(result.diagnostics[1].message, HasSubstr("missing required key \"stable_for\""));
  EXPECT_THAT(result.diagnostics[2].message, HasSubstr("must be between 2 and 8"));
  EXPECT_THAT(result.diagnostics[3].message, HasSubstr("expected a duration like 30s"));
  EXPECT_THAT(result.diagnostics[4].message, HasSubstr("must be at least 1"));
  EXPECT_THAT(result.diagnostics[5].message, HasSubstr("expected a label name"));
  EXPECT_THAT(result.diagnostics[6].message, HasSubstr("unknown action \"page\""));
}

}  // namespace
}  // namespace noisegate::rules

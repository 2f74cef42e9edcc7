// Edge cases of the strict loader that need no fixture file: empty and malformed documents,
// unreadable files, value validation of each section, the diagnostic cap, and that no input
// (however broken) makes the loader throw.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "rules/loader.h"

namespace noisegate::rules {
namespace {

using ::testing::HasSubstr;

constexpr const char* kCorrelate = "correlate:\n  - name: all\n";

std::string Dump(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += d.ToString() + "\n";
  return out;
}

// Loads `yaml` (plus a valid correlate section when `add_correlate`) and expects exactly one
// diagnostic; returns it.
Diagnostic OnlyError(const std::string& yaml, bool add_correlate = true) {
  LoadResult r = LoadRulesString(add_correlate ? yaml + kCorrelate : yaml, "t.yaml");
  EXPECT_EQ(r.rules, nullptr);
  EXPECT_EQ(r.diagnostics.size(), 1u) << Dump(r.diagnostics);
  return r.diagnostics.empty() ? Diagnostic{} : r.diagnostics[0];
}

std::shared_ptr<const CompiledRules> LoadOk(const std::string& yaml) {
  LoadResult r = LoadRulesString(yaml + kCorrelate, "t.yaml");
  EXPECT_TRUE(r.diagnostics.empty()) << Dump(r.diagnostics);
  return r.rules;
}

TEST(DiagnosticTest, ToStringLeavesOutAnEmptyPath) {
  EXPECT_EQ((Diagnostic{"r.yaml", 3, 7, "page.when", "bad"}).ToString(),
            "r.yaml:3:7: page.when: bad");
  EXPECT_EQ((Diagnostic{"r.yaml", 0, 0, "", "cannot read"}).ToString(), "r.yaml:0:0: cannot read");
}

TEST(LoaderDocumentTest, EmptyFileNeedsCorrelate) {
  Diagnostic d = OnlyError("", false);
  EXPECT_EQ(d.ToString(),
            "t.yaml:1:1: correlate: missing required key \"correlate\" (the rules "
            "file is empty)");
}

TEST(LoaderDocumentTest, EmptyCorrelateListIsAnError) {
  Diagnostic d = OnlyError("correlate: []\n", false);
  EXPECT_EQ(d.path, "correlate");
  EXPECT_THAT(d.message, HasSubstr("at least one correlate rule"));
}

TEST(LoaderDocumentTest, RootMustBeAMap) {
  Diagnostic d = OnlyError("- a\n- b\n", false);
  EXPECT_EQ(d.line, 1);
  EXPECT_THAT(d.message, HasSubstr("expected a map of sections"));
  EXPECT_THAT(d.message, HasSubstr("got a list"));
}

TEST(LoaderDocumentTest, SecondDocumentIsAnError) {
  Diagnostic d = OnlyError(std::string(kCorrelate) + "---\ncorrelate: []\n", false);
  EXPECT_EQ(d.line, 3);  // the --- that starts it
  EXPECT_THAT(d.message, HasSubstr("one YAML document"));
}

TEST(LoaderDocumentTest, StrayCommaIsASyntaxErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll loops forever on this input.
  Diagnostic d = OnlyError(",", false);
  EXPECT_EQ(d.ToString(), "t.yaml:1:1: YAML syntax error: unexpected character");
}

TEST(LoaderDocumentTest, UnreadableFileIsOneDiagnosticAtZero) {
  LoadResult r = LoadRulesFile("/nonexistent/rules.yaml");
  EXPECT_EQ(r.rules, nullptr);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "/nonexistent/rules.yaml:0:0: cannot read rules file: No such file or directory");
  r = LoadRulesFile("/");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 0);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("cannot read rules file"));
}

TEST(LoaderDocumentTest, UnknownKeyFarFromAnyListsTheKnownKeys) {
  Diagnostic d = OnlyError("dedup: {zzzzzzzz: 1}\n");
  EXPECT_EQ(d.path, "dedup.zzzzzzzz");
  EXPECT_THAT(d.message, HasSubstr("expected one of fingerprint, flapping or resolve_timeout"));
}

TEST(LoaderStateTest, RetentionsAreReadAndDefaultSafely) {
  auto defaults = LoadOk("");
  ASSERT_NE(defaults, nullptr);
  EXPECT_EQ(defaults->state.retention, Millis{3'600'000});
  EXPECT_EQ(defaults->state.version_retention, Millis{7 * 86'400'000});
  auto set = LoadOk("state: {retention: 0s, version_retention: 2d}\n");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->state.retention, Millis{0});
  EXPECT_EQ(set->state.version_retention, Millis{2 * 86'400'000});
}

TEST(LoaderStateTest, BadRetentionNamesItsPlace) {
  Diagnostic d = OnlyError("state:\n  retention: soon\n");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.column, 14);
  EXPECT_EQ(d.path, "state.retention");
  d = OnlyError("state: {version_retention: 0s}\n");
  EXPECT_EQ(d.path, "state.version_retention");
  d = OnlyError("state: {keep: 1h}\n");
  EXPECT_EQ(d.path, "state.keep");
}

TEST(LoaderDocumentTest, NullValueIsNotADefault) {
  Diagnostic d = OnlyError("allowed_lateness:\n");
  EXPECT_EQ(d.ToString(),
            "t.yaml:1:1: allowed_lateness: expected a duration like 30s, got null (an empty "
            "value)");
}

TEST(LoaderDocumentTest, EmptyValueInAListIsReportedAtItsKey) {
  Diagnostic d = OnlyError("correlate:\n  - name: a\n    group_wait:\n    group_by: [x]\n", false);
  EXPECT_EQ(d.ToString(),
            "t.yaml:3:5: correlate[0].group_wait: expected a duration like 30s, "
            "got null (an empty value)");
}

TEST(LoaderDocumentTest, NonScalarKeyIsAnError) {
  Diagnostic d = OnlyError("dedup: {[a]: 1}\n");
  EXPECT_THAT(d.message, HasSubstr("expected a plain key"));
}

TEST(LoaderDocumentTest, AnchorsAndAliasesAreFollowed) {
  auto rules = LoadOk(
      "silences:\n"
      "  - matchers: &dev ['namespace=\"dev\"']\n"
      "drop:\n"
      "  - matchers: *dev\n");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->drop[0].matchers.matchers()[0].value(), "dev");
}

TEST(LoaderDocumentTest, ManyErrorsAreCapped) {
  std::string yaml = "drop:\n";
  for (int i = 0; i < 300; ++i) yaml += "  - matchers: ['=']\n";
  LoadResult r = LoadRulesString(yaml + kCorrelate, "t.yaml");
  ASSERT_EQ(r.diagnostics.size(), size_t{100} + 1);
  EXPECT_EQ(r.diagnostics.back().message, "200 more problems not shown");
  EXPECT_EQ(r.diagnostics[0].line, 2);  // the first ones by position are kept
}

TEST(LoaderDocumentTest, AliasBombStopsEarly) {
  // 300 x 300 x 300 time ranges from a 4 KB file: must not be walked 27 million times.
  auto repeat = [](const char* alias) {
    std::string out;
    for (int i = 0; i < 300; ++i) out += std::string(i ? ", " : "") + alias;
    return out;
  };
  std::string yaml =
      "x: &t {start_time: '25:00', end_time: '17:00'}\n"
      "y: &s {times: [" +
      repeat("*t") +
      "]}\n"
      "z: &i {name: a, time_intervals: [" +
      repeat("*s") +
      "]}\n"
      "time_intervals: [" +
      repeat("*i") + "]\n" + kCorrelate;
  LoadResult r = LoadRulesString(yaml, "bomb.yaml");
  EXPECT_EQ(r.rules, nullptr);
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("YAML aliases repeat parts of this file"));
  EXPECT_LE(r.diagnostics.size(), 102u);
}

TEST(LoaderDocumentTest, NeverThrowsOnGarbage) {
  const char* inputs[] = {
      "\xff\xfe\x00\x01",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
      "{a: *b}",
      "&a [*a]",
      "correlate: !!binary xyz",
      "\t- a",
      "? [a, b]\n: c\n",
      "correlate:\n  - name: [a]\n",
      "time_intervals: [{name: x, time_intervals: [{times: [{start_time: 1}]}]}]\n"};
  for (const char* in : inputs) {
    LoadResult r = LoadRulesString(in, "g.yaml");
    EXPECT_EQ(r.rules, nullptr) << in;
    EXPECT_FALSE(r.diagnostics.empty()) << in;
  }
  std::string deep(100'000, '[');
  LoadResult r = LoadRulesString(deep, "deep.yaml");
  EXPECT_FALSE(r.diagnostics.empty());
}

TEST(LoaderInputsTest, FieldsAndLabelsAreValidated) {
  Diagnostic d =
      OnlyError("inputs:\n  - {topic: l, format: json_log, fields: {time: timestamp}}\n");
  EXPECT_EQ(d.path, "inputs[0].fields.time");
  EXPECT_THAT(d.message, HasSubstr("starting with '/'"));
  d = OnlyError("inputs:\n  - {topic: l, format: json_log, fields: {time: /a~2b}}\n");
  EXPECT_THAT(d.message, HasSubstr("~0"));
  d = OnlyError("inputs:\n  - {topic: l, format: json_log, fields: {trace: /t}}\n");
  EXPECT_THAT(d.message, HasSubstr("did you mean \"trace_id\"?"));
  d = OnlyError("inputs:\n  - {topic: l, format: json_log, labels: {9node: /n}}\n");
  EXPECT_THAT(d.message, HasSubstr("expected a label name"));
  d = OnlyError("inputs:\n  - {topic: l, format: grafana, labels: {node: /n}}\n");
  EXPECT_THAT(d.message, HasSubstr("labels is only for format json_log, not grafana"));
}

TEST(LoaderInputsTest, RequiredKeysAndLevels) {
  Diagnostic d = OnlyError("inputs:\n  - {format: alertmanager}\n");
  EXPECT_EQ(d.ToString(), "t.yaml:2:5: inputs[0].topic: missing required key \"topic\"");
  d = OnlyError("inputs:\n  - {topic: a, format: json_log, min_level: loud}\n");
  EXPECT_THAT(d.message, HasSubstr("unknown log level \"loud\""));
  d = OnlyError("inputs:\n  - {topic: a, format: json_log, fingerprint: [a, a]}\n");
  EXPECT_EQ(d.path, "inputs[0].fingerprint[1]");
  EXPECT_THAT(d.message, HasSubstr("listed twice"));
  auto rules = LoadOk(
      "inputs:\n  - {topic: a, format: json_log, min_level: crit, "
      "fingerprint: []}\n");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->inputs[0].min_level, LogLevel::kFatal);
  ASSERT_TRUE(rules->inputs[0].fingerprint.has_value());
  EXPECT_TRUE(rules->inputs[0].fingerprint->empty());  // explicitly all labels
}

TEST(LoaderTopologyTest, ServiceValuesAreChecked) {
  Diagnostic d = OnlyError("topology:\n  services:\n    web: {user_facing: maybe}\n");
  EXPECT_EQ(d.path, "topology.services.web.user_facing");
  EXPECT_THAT(d.message, HasSubstr("expected true or false"));
  d = OnlyError("topology:\n  services:\n    web: {depends_on: db}\n");
  EXPECT_THAT(d.message, HasSubstr("expected a list of service names"));
  d = OnlyError("topology:\n  components:\n    - component: db\n");
  EXPECT_EQ(d.path, "topology.components[0].match");
  d = OnlyError("topology:\n  components:\n    - {match: [], component: db}\n");
  EXPECT_THAT(d.message, HasSubstr("at least one matcher"));
  d = OnlyError("topology:\n  services:\n    a: {depends_on: [a]}\n");
  EXPECT_THAT(d.message, HasSubstr("dependency cycle: a -> a"));
}

TEST(LoaderDedupTest, FlappingNeedsAllThreeAndPositiveWindows) {
  Diagnostic d = OnlyError("dedup:\n  flapping: {changes: 4, within: 0, stable_for: 1m}\n");
  EXPECT_EQ(d.path, "dedup.flapping.within");
  EXPECT_THAT(d.message, HasSubstr("longer than 0"));
  d = OnlyError("dedup:\n  flapping: {within: 1m, stable_for: 1m}\n");
  EXPECT_EQ(d.path, "dedup.flapping.changes");
  auto rules = LoadOk("dedup: {resolve_timeout: 0}\n");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->dedup.resolve_timeout.count(), 0);
}

TEST(LoaderCorrelateTest, JoinWithinIsAPositiveDurationAndOffWhenAbsent) {
  Diagnostic d = OnlyError("correlate:\n  - {name: a, join_within: 0}\n", false);
  EXPECT_EQ(d.path, "correlate[0].join_within");
  EXPECT_THAT(d.message, HasSubstr("longer than 0"));
  d = OnlyError("correlate:\n  - {name: a, join_within: soon}\n", false);
  EXPECT_EQ(d.path, "correlate[0].join_within");
  LoadResult r =
      LoadRulesString("correlate:\n  - {name: a, join_within: 10m}\n  - {name: b}\n", "t.yaml");
  ASSERT_NE(r.rules, nullptr) << Dump(r.diagnostics);
  EXPECT_EQ(r.rules->correlate[0].join_within.count(), 600'000);
  EXPECT_EQ(r.rules->correlate[1].join_within.count(), 0);
}

TEST(LoaderLogsTest, SurgeValues) {
  Diagnostic d = OnlyError("logs:\n  surge: {over_baseline: five}\n");
  EXPECT_THAT(d.message, HasSubstr("expected a factor like 5x"));
  d = OnlyError("logs:\n  surge: {over_baseline: 0x}\n");
  EXPECT_THAT(d.message, HasSubstr("greater than 0"));
  d = OnlyError("logs:\n  surge: {min_count: 0}\n");
  EXPECT_THAT(d.message, HasSubstr("at least 1"));
  d = OnlyError("logs:\n  surge: {quiet_for: 0}\n");
  EXPECT_EQ(d.path, "logs.surge.quiet_for");
  d = OnlyError("logs:\n  template: mask\n");
  EXPECT_THAT(d.message, HasSubstr("unknown template \"mask\""));
  auto rules = LoadOk("logs:\n  surge: {over_baseline: 3}\n");
  ASSERT_NE(rules, nullptr);
  EXPECT_DOUBLE_EQ(rules->logs.surge.over_baseline, 3.0);
}

TEST(LoaderTimeIntervalsTest, RangesAreValidated) {
  auto spec = [](const std::string& body) {
    return "time_intervals:\n  - name: x\n    time_intervals:\n      - " + body + "\n";
  };
  Diagnostic d = OnlyError(spec("days_of_month: ['0']"));
  EXPECT_THAT(d.message, HasSubstr("invalid day of month \"0\""));
  d = OnlyError(spec("days_of_month: ['5:1']"));
  EXPECT_THAT(d.message, HasSubstr("starts after it ends"));
  d = OnlyError(spec("days_of_month: ['-1:-3']"));
  EXPECT_THAT(d.message, HasSubstr("starts after it ends"));
  d = OnlyError(spec("months: ['13']"));
  EXPECT_THAT(d.message, HasSubstr("invalid month"));
  d = OnlyError(spec("weekdays: ['friday:monday']"));
  EXPECT_THAT(d.message, HasSubstr("starts after it ends"));
  d = OnlyError(spec("times: [{start_time: '17:00', end_time: '09:00'}]"));
  EXPECT_THAT(d.message, HasSubstr("end_time must be after start_time"));
  d = OnlyError(spec("times: [{start_time: '9:00', end_time: '17:00'}]"));
  EXPECT_THAT(d.message, HasSubstr("invalid time of day \"9:00\""));
  d = OnlyError(spec("times: [{start_time: '24:00', end_time: '24:00'}]"));
  EXPECT_EQ(d.path, "time_intervals[0].time_intervals[0].times[0].start_time");
  d = OnlyError("time_intervals:\n  - name: x\n    time_intervals: []\n");
  EXPECT_THAT(d.message, HasSubstr("at least one time interval"));
  d = OnlyError(spec("{}") + "  - name: x\n    time_intervals: [{}]\n");
  EXPECT_THAT(d.message, HasSubstr("duplicate time interval name \"x\""));
  auto rules = LoadOk(spec("{days_of_month: ['1:-1'], location: UTC}"));
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->time_intervals[0].specs[0].location, nullptr);
}

TEST(LoaderPoliciesTest, SilencesInhibitPageDrop) {
  Diagnostic d = OnlyError("silences:\n  - {matchers: ['a=\"b\"'], time_intervals: [x]}\n");
  EXPECT_THAT(d.message, HasSubstr("unknown time interval \"x\" (no time_intervals are defined)"));
  d = OnlyError("silences:\n  - {matchers: ['a=\"b\"'], starts: yesterday}\n");
  EXPECT_THAT(d.message, HasSubstr("expected an RFC 3339 time"));
  d = OnlyError("silences:\n  - {comment: no matchers}\n");
  EXPECT_EQ(d.path, "silences[0].matchers");
  d = OnlyError("inhibit:\n  - {source: ['a=\"b\"']}\n");
  EXPECT_EQ(d.ToString(), "t.yaml:2:5: inhibit[0].target: missing required key \"target\"");
  d = OnlyError("page:\n  when: ['a=\"b\"']\n");
  EXPECT_EQ(d.path, "page.when[0]");
  EXPECT_THAT(d.message, HasSubstr("expected a list of matchers"));
  d = OnlyError("page:\n  when: [[]]\n");
  EXPECT_THAT(d.message, HasSubstr("at least one matcher"));
}

TEST(LoaderPoliciesTest, Routing) {
  auto rules = LoadOk(
      "routing:\n  labels: [team, namespace]\n  keys:\n"
      "    - {match: ['team=\"db\"'], routing_key: R-db}\n    - {routing_key: R-all}\n");
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->routing.labels, (std::vector<std::string>{"team", "namespace"}));
  ASSERT_EQ(rules->routing.keys.size(), 2u);
  EXPECT_EQ(rules->routing.keys[0].routing_key, "R-db");
  EXPECT_EQ(rules->routing.keys[0].match.ToString(), "{team=\"db\"}");
  EXPECT_TRUE(rules->routing.keys[1].match.empty());
  Diagnostic d = OnlyError("routing:\n  keys:\n    - {match: ['team=\"db\"']}\n");
  EXPECT_EQ(d.ToString(),
            "t.yaml:3:7: routing.keys[0].routing_key: missing required key \"routing_key\"");
  d = OnlyError("routing:\n  keys:\n    - {routing_key: ''}\n");
  EXPECT_EQ(d.path, "routing.keys[0].routing_key");
  d = OnlyError("routing:\n  keys:\n    - {match: [\"team='db'\"], routing_key: R}\n");
  EXPECT_EQ(d.path, "routing.keys[0].match[0]");
  d = OnlyError("routing:\n  teams: [a]\n");
  EXPECT_THAT(d.message, HasSubstr("teams"));
}

TEST(LoaderPoliciesTest, PageConditions) {
  Diagnostic d = OnlyError("page:\n  when:\n    - {match: ['a=\"b\"'], min_members: 0}\n");
  EXPECT_EQ(d.ToString(),
            "t.yaml:3:39: page.when[0].min_members: must be between 1 and 10000, got 0");
  d = OnlyError("page:\n  when:\n    - {min_members: 2}\n");
  EXPECT_EQ(d.ToString(),
            "t.yaml:3:7: page.when[0].match: a condition needs `match` (a matcher list) or "
            "`all` (a list of clauses)");
  d = OnlyError("page:\n  when:\n    - {match: ['a=\"b\"'], within: 5m}\n");
  EXPECT_EQ(d.path, "page.when[0].within");
  EXPECT_THAT(d.message, HasSubstr("a span means nothing"));
  d = OnlyError("page:\n  when:\n    - {match: ['a=\"b\"'], min_member: 2}\n");
  EXPECT_EQ(d.path, "page.when[0].min_member");
  EXPECT_THAT(d.message, HasSubstr("min_members"));
  d = OnlyError("page:\n  when:\n    - {match: ['a=\"b\"'], all: [{match: ['c=\"d\"']}]}\n");
  EXPECT_EQ(d.ToString(),
            "t.yaml:3:15: page.when[0].match: goes inside each clause of `all`, not next to it");
  d = OnlyError("page:\n  when:\n    - {all: []}\n");
  EXPECT_EQ(d.path, "page.when[0].all");
  EXPECT_THAT(d.message, HasSubstr("at least one clause"));
  d = OnlyError("page:\n  when:\n    - {all: [{match: ['a=\"b\"']}], within: 0}\n");
  EXPECT_EQ(d.path, "page.when[0].within");
  d = OnlyError("page:\n  when:\n    - {all: [{match: ['a=\"b\"'], within: 5m}]}\n");
  EXPECT_EQ(d.path, "page.when[0].all[0].within");
  d = OnlyError("page:\n  when:\n    - {match: ['a=\"b\"'], firing_for: soon}\n");
  EXPECT_EQ(d.path, "page.when[0].firing_for");
  EXPECT_EQ(d.line, 3);
  EXPECT_EQ(d.column, 38);
  d = OnlyError("page:\n  when:\n    - {all: [{match: ['a=\"b\"']}], firing_for: 5m}\n");
  EXPECT_THAT(d.message, HasSubstr("goes inside each clause of `all`"));
  // One member with a firing_for still meets its entry alone: a span means nothing.
  d = OnlyError("page:\n  when:\n    - {match: ['a=\"b\"'], firing_for: 5m, within: 5m}\n");
  EXPECT_EQ(d.path, "page.when[0].within");
  // 33 clauses in all: one bit each per member.
  std::string many = "page:\n  when:\n";
  for (int i = 0; i < 40; ++i) many += "    - ['a=\"" + std::to_string(i) + "\"']\n";
  d = OnlyError(many);
  EXPECT_EQ(d.path, "page.when[32]");
  EXPECT_THAT(d.message, HasSubstr("more than 32 matcher lists"));

  auto rules = LoadOk(std::string(R"(
page:
  when:
    - ['a="b"']
    - {match: ['c="d"'], min_members: 2, min_components: 3}
    - all:
        - match: ['e="f"']
        - {match: ['g="h"'], min_members: 2}
      within: 5m
)"));
  ASSERT_NE(rules, nullptr);
  ASSERT_EQ(rules->page.when.size(), 3u);
  EXPECT_EQ(rules->page.clauses, 4);
  EXPECT_EQ(rules->page.when[0].ToString(), "['a=\"b\"']");
  EXPECT_EQ(rules->page.when[1].ToString(),
            "{match: ['c=\"d\"'], min_members: 2, min_components: 3}");
  EXPECT_FALSE(rules->page.when[1].single());
  EXPECT_EQ(rules->page.when[2].ToString(),
            "{all: [{match: ['e=\"f\"']}, {match: ['g=\"h\"'], min_members: 2}], within: 5m}");
  EXPECT_EQ(rules->page.when[2].first_bit, 2);
  EXPECT_EQ(rules->page.when[2].pos.line, 6);
  EXPECT_FALSE(rules->page.timed);
  rules = LoadOk(std::string(R"(
page:
  when:
    - ['a="b"']
    - {match: ['c="d"'], firing_for: 5m}
    - all:
        - {match: ['e="f"'], firing_for: 90s}
        - match: ['g="h"']
      within: 5m
)"));
  ASSERT_NE(rules, nullptr);
  EXPECT_TRUE(rules->page.timed);
  EXPECT_FALSE(rules->page.when[0].timed());
  EXPECT_TRUE(rules->page.when[1].timed());
  EXPECT_FALSE(rules->page.when[1].single());  // it pages when its time has come, not on joining
  EXPECT_EQ(rules->page.when[1].all[0].firing_for, Millis{300'000});
  EXPECT_EQ(rules->page.when[2].ToString(),
            "{all: [{match: ['e=\"f\"'], firing_for: 1m30s}, {match: ['g=\"h\"']}], within: 5m}");
  LoadResult r =
      LoadRulesString(std::string("drop:\n  - {match: ['a=\"b\"']}\n") + kCorrelate, "t.yaml");
  ASSERT_EQ(r.diagnostics.size(), 2u) << Dump(r.diagnostics);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "t.yaml:2:5: drop[0].matchers: missing required key \"matchers\"");
  EXPECT_EQ(r.diagnostics[1].ToString(),
            "t.yaml:2:6: drop[0].match: unknown key \"match\"; did you mean \"matchers\"?");
  d = OnlyError("correlate:\n  - {name: a, group_interval: 0}\n", false);
  EXPECT_THAT(d.message, HasSubstr("longer than 0"));
  d = OnlyError("correlate:\n  - {group_by: [service]}\n", false);
  EXPECT_EQ(d.path, "correlate[0].name");
}

TEST(LogLevelTest, ParsesCommonSpellingsCaseInsensitively) {
  EXPECT_EQ(ParseLogLevel("trace"), LogLevel::kTrace);
  EXPECT_EQ(ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("Info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("WARNING"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("err"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("fatal"), LogLevel::kFatal);
  EXPECT_EQ(ParseLogLevel("crit"), LogLevel::kFatal);
  EXPECT_EQ(ParseLogLevel("CRITICAL"), LogLevel::kFatal);
  EXPECT_EQ(ParseLogLevel(""), LogLevel::kUnknown);
  EXPECT_EQ(ParseLogLevel("verbose"), LogLevel::kUnknown);
  EXPECT_EQ(ParseLogLevel(std::string(100, 'e')), LogLevel::kUnknown);
  EXPECT_LT(LogLevel::kUnknown, LogLevel::kTrace);
  EXPECT_LT(LogLevel::kError, LogLevel::kFatal);
}

}  // namespace
}  // namespace noisegate::rules

namespace noisegate::rules {
namespace {
TEST(LoaderFlapping, ChangesAboveWhatTheEngineCanCountAreRejected) {
  LoadResult r = LoadRulesString(R"(
dedup:
  flapping: {changes: 20, within: 15m, stable_for: 10m}
correlate:
  - name: r
)",
                                 "f.yaml");
  ASSERT_FALSE(r.rules);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_EQ(r.diagnostics[0].path, "dedup.flapping.changes");
}
}  // namespace
}  // namespace noisegate::rules

// CompiledRules: the immutable, validated form of one rules file. The loader builds it from
// YAML (rules/loader.h); the engine only reads it. Drivers hold it as
// std::shared_ptr<const CompiledRules> and swap the pointer on reload.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dedup/types.h"
#include "rules/matcher.h"
#include "rules/time_interval.h"
#include "rules/topology.h"

namespace noisegate::rules {

// Where a rule is written, so explain output and diagnostics can point at it.
struct SourcePos {
  int line = 0;  // 1-based
  int column = 0;
};

// Log levels ordered by seriousness; kUnknown sorts below everything.
enum class LogLevel : int { kUnknown = -1, kTrace, kDebug, kInfo, kWarn, kError, kFatal };
LogLevel ParseLogLevel(std::string_view text);  // case-insensitive; warn/warning, err/error ...

struct InputRule {
  std::string topic;
  std::string format;
  // json_log field pointers by name: time, level, service, message, error_type, stack_trace,
  // trace_id, version; and extra labels (name -> pointer).
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::pair<std::string, std::string>> labels;
  LogLevel min_level = LogLevel::kUnknown;  // logs below it are dropped (kUnknown = keep all)
  std::optional<std::vector<std::string>> fingerprint;  // overrides dedup.fingerprint
  SourcePos pos;
};

// The most state changes a flapping rule can count (the engine keeps that many per signal).
inline constexpr int kMaxFlappingChanges = 8;

struct FlappingRule {
  int changes = 0;  // 0 = flapping detection off; at most kMaxFlappingChanges
  Millis within{0};
  Millis stable_for{0};
};

struct DedupRule {
  // Labels that identify an alert. Empty = all of its labels (Alertmanager's fingerprint).
  std::vector<std::string> fingerprint;
  FlappingRule flapping;
  // A firing alert that is not refreshed for this long counts as resolved (0 = never).
  Millis resolve_timeout{0};
};

struct SurgeRule {
  int min_count = 20;  // at least this many in `within` ...
  Millis within{60'000};
  double over_baseline = 5.0;  // ... and this many times the trailing baseline rate
  Millis baseline_window{3'600'000};
  // After the engine first sees a record, log signals only learn for this long: a steady
  // error that predates noisegate must not page as "new" on a cold start.
  Millis warmup{3'600'000};
  Millis quiet_for{300'000};  // an active log signal resolves after this long without lines
};

struct LogRule {
  bool template_auto = true;    // mask variable tokens into a template
  bool template_in_key = true;  // the template is part of a log signal's identity
  // Labels that, with the template, identify a log signal. The environment is part of it:
  // a staging burst must not count towards (and activate) production's signal.
  std::vector<std::string> fingerprint{"namespace", "cluster", "service", "error_type"};
  SurgeRule surge;
};

// How long the engine keeps per-key state that can no longer change a decision (resolved
// alerts, quiet log signals, versions). The engine drops such state on event time, so memory
// follows what is active or recently active, never what was ever seen.
struct StateRule {
  // An inert fingerprint (not firing, not flapping, its flap window over, its log rate back
  // to nothing, its incident closed) is kept this long after its last record, then dropped.
  Millis retention{3'600'000};
  // A (service, version) pair not seen for this long is forgotten: seen again, it counts as
  // new (a redeploy or rollback).
  Millis version_retention{7 * 86'400'000};
};

struct Silence {
  std::string name;  // "silences[N]" unless named
  MatcherSet matchers;
  EventTime starts = kMinTime;
  EventTime ends = kMaxTime;
  std::vector<int> time_intervals;  // active only inside one of these (indexes), if any
  std::string comment;
  SourcePos pos;
  bool runtime = false;  // from a silences input (rules/runtime_silence.h), not the rules file
};

struct InhibitRule {
  std::string name;  // "inhibit[N]" unless named
  MatcherSet source;
  MatcherSet target;
  std::vector<std::string> equal;
  // Log surges are sources too: `source` has a matcher on `signal` that takes "log_surge".
  // Rules that do not say so keep Alertmanager's meaning (firing alerts only).
  bool log_sources = false;
  SourcePos pos;
};

struct CorrelateRule {
  std::string name;
  MatcherSet match;  // which signals this rule takes; empty = all
  // Grouping dimensions. The special dimension `impacted_service` groups by topology: two
  // signals share it when their sets of impacted user-facing services overlap.
  std::vector<std::string> group_by;
  Millis group_wait{30'000};
  Millis group_interval{300'000};
  Millis close_after{900'000};
  Millis max_duration{6 * 3'600'000};
  int max_members = 500;
  // Onset: a signal joins an open incident of this rule (by its group or a tie) only while the
  // incident's newest member began at most this long before it; after that it opens an
  // incident of its own. Problems that follow one another on the same services stay apart,
  // however long the first one fires. 0: off (an incident takes signals while it is open).
  Millis join_within{0};
  // A signal whose impacted services overlap no incident's also joins an open incident of
  // this rule with a member on a component its own calls, at most this many dependency hops
  // down: a caller's errors belong to the failure of what it calls. 0: off.
  int caller_hops = 0;
  // The same, for an incident with a member on the component the signal's message names (a
  // named culprit, also in a stack trace's `Caused by:`), or whose own message names it.
  bool join_named = false;
  // Co-location: a signal of this rule that no incident of its own takes joins an open incident
  // (of any rule) in which a signal began at the same place (an equal value of one of these
  // labels) at most `colocated_within` earlier, and the places where this rule's signals begin
  // are noted in their incidents. Empty: off.
  std::vector<std::string> colocated_labels;
  Millis colocated_within{120'000};
  std::vector<int> mute_time_intervals;
  std::vector<int> active_time_intervals;
  SourcePos pos;
};

// Beyond a few hops a caller reaches most of a topology: incidents would chain.
inline constexpr int kMaxCallerHops = 3;

enum class Action { kPage, kTicket, kDrop };

// One clause of a page.when entry: at least `min_members` members that are not inhibited
// match `match`, and they are attributed to at least `min_components` distinct topology
// components. With `firing_for`, a member counts only while it has been firing without a
// break for at least that long (Prometheus' `for:`, for any signal).
struct PageClause {
  MatcherSet match;
  int min_members = 1;
  int min_components = 1;
  Millis firing_for{0};
};

// Each member keeps one bit per clause of page.when (Member::clauses), so at most this many.
inline constexpr int kMaxPageClauses = 32;

// One page.when entry: an incident meets it when every clause is met, and, with `within`, by
// members first seen within that span of one another. Written as a matcher list (one clause,
// one member), as a map with `match` (one clause), or as a map with `all` (several).
struct PageCondition {
  std::vector<PageClause> all;
  Millis within{0};   // 0: no limit
  int first_bit = 0;  // the bit of all[0] in Member::clauses; all[k] has first_bit + k
  SourcePos pos;
  // Takes one member: one clause of min_members 1 and min_components 1.
  bool one_member() const {
    return all.size() == 1 && all[0].min_members == 1 && all[0].min_components == 1;
  }
  // Met by one member alone, as soon as it joins: the member "pages".
  bool single() const { return one_member() && all[0].firing_for.count() == 0; }
  // Some clause asks its members to have fired for a while: the entry can come to be met
  // with no record arriving, as time passes.
  bool timed() const {
    for (const PageClause& c : all) {
      if (c.firing_for.count() > 0) return true;
    }
    return false;
  }
  // The entry as written, in a canonical form: ['a="b"'] or {match: [...], min_members: 2}.
  std::string ToString() const;
};

struct PageRule {
  std::vector<PageCondition> when;  // page when any entry is met
  int clauses = 0;                  // of all entries, at most kMaxPageClauses
  bool timed = false;               // some entry is timed()
  Action otherwise = Action::kTicket;
  Millis repeat_interval{4 * 3'600'000};
};

struct DropRule {
  std::string name;
  MatcherSet matchers;
  std::string comment;
  SourcePos pos;
};

// Where pages go (section `routing`): the member labels a paging bridge routes on, shown in
// custom_details.routing, and PagerDuty routing keys. An incident's key is that of the first
// entry its opening signal matches, pinned for its life (PagerDuty resolves an incident only
// under the key that opened it).
struct RoutingKey {
  MatcherSet match;  // empty: every signal
  std::string routing_key;
  SourcePos pos;
};
struct RoutingRule {
  std::vector<std::string> labels;
  std::vector<RoutingKey> keys;
};

struct CompiledRules {
  std::string path;
  std::vector<InputRule> inputs;
  Topology topology;
  DedupRule dedup;
  LogRule logs;
  std::vector<TimeInterval> time_intervals;
  std::vector<Silence> silences;
  std::vector<InhibitRule> inhibit;
  std::vector<CorrelateRule> correlate;
  PageRule page;
  std::vector<DropRule> drop;
  RoutingRule routing;
  StateRule state;
  // Allowed lateness: records older than the watermark minus this are counted late.
  Millis allowed_lateness{60'000};

  int FindInput(std::string_view topic) const {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].topic == topic) return static_cast<int>(i);
    }
    return -1;
  }
};

}  // namespace noisegate::rules

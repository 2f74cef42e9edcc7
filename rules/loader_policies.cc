// The policy sections of a rules file: silences, inhibit, correlate, page, drop and routing. Each
// list entry keeps its 1-based position so explain output can point at the rule that acted.
#include <algorithm>
#include <optional>
#include <utility>

#include "rules/loader_sections.h"

namespace noisegate::rules::internal {
namespace {

// Reads an optional `name`, defaulting to e.g. "silences[3]".
std::string ReadName(YamlReader& r, const YAML::Node& item, const std::string& item_path) {
  YAML::Node n = YamlReader::Get(item, "name");
  if (YamlReader::Has(n)) {
    if (auto name = r.NonEmptyString(n, JoinPath(item_path, "name"), "a rule name")) return *name;
  }
  return item_path;
}

// A required, non-empty matcher list under `key`.
MatcherSet RequiredMatchers(YamlReader& r, const YAML::Node& item, const std::string& item_path,
                            std::string_view key) {
  if (!r.Require(item, item_path, key)) return {};
  auto m = r.Matchers(YamlReader::Get(item, key), JoinPath(item_path, key), true);
  return m ? std::move(*m) : MatcherSet();
}

std::string ReadComment(YamlReader& r, const YAML::Node& item, const std::string& item_path) {
  YAML::Node n = YamlReader::Get(item, "comment");
  if (!YamlReader::Has(n)) return {};
  return r.String(n, JoinPath(item_path, "comment"), "a comment string").value_or("");
}

void ReadIntervals(YamlReader& r, const YAML::Node& item, const std::string& item_path,
                   std::string_view key, const CompiledRules& rules, std::vector<int>* out) {
  YAML::Node n = YamlReader::Get(item, key);
  if (!YamlReader::Has(n)) return;
  if (auto refs = IntervalRefs(r, n, JoinPath(item_path, key), rules.time_intervals)) {
    *out = std::move(*refs);
  }
}

void ReadDuration(YamlReader& r, const YAML::Node& item, const std::string& item_path,
                  std::string_view key, bool allow_zero, Millis* out) {
  YAML::Node n = YamlReader::Get(item, key);
  if (!YamlReader::Has(n)) return;
  if (auto d = r.Duration(n, JoinPath(item_path, key), allow_zero)) *out = *d;
}

// inhibit's `source`/`target` and their Alertmanager spellings `source_matchers`/...
MatcherSet AliasedMatchers(YamlReader& r, const YAML::Node& item, const std::string& item_path,
                           std::string_view key, std::string_view alias) {
  YAML::Node a = YamlReader::Get(item, key);
  YAML::Node b = YamlReader::Get(item, alias);
  if (YamlReader::Has(a) && YamlReader::Has(b)) {
    r.Report(b, JoinPath(item_path, alias),
             "give either " + std::string(key) + " or " + std::string(alias) + ", not both");
    return {};
  }
  if (!YamlReader::Has(a) && !YamlReader::Has(b)) {
    r.Report(item, JoinPath(item_path, key), "missing required key \"" + std::string(key) + "\"");
    return {};
  }
  bool use_alias = YamlReader::Has(b);
  auto m = r.Matchers(use_alias ? b : a, JoinPath(item_path, use_alias ? alias : key), true);
  return m ? std::move(*m) : MatcherSet();
}

}  // namespace

void LoadSilences(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  if (!r.CheckList(node, "silences", "a list of silences")) return;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string path = IndexPath("silences", i);
    if (!r.CheckMap(item, path, {"name", "matchers", "starts", "ends", "time_intervals", "comment"},
                    "a silence like {matchers: ['namespace=\"dev\"'], comment: why}")) {
      continue;
    }
    Silence s;
    s.pos = YamlReader::Pos(item);
    s.name = ReadName(r, item, path);
    s.matchers = RequiredMatchers(r, item, path, "matchers");
    YAML::Node starts = YamlReader::Get(item, "starts");
    YAML::Node ends = YamlReader::Get(item, "ends");
    std::optional<EventTime> start_time, end_time;
    if (YamlReader::Has(starts)) start_time = r.Timestamp(starts, JoinPath(path, "starts"));
    if (YamlReader::Has(ends)) end_time = r.Timestamp(ends, JoinPath(path, "ends"));
    if (start_time) s.starts = *start_time;
    if (end_time) s.ends = *end_time;
    if (start_time && end_time && *end_time <= *start_time) {
      r.Report(ends, JoinPath(path, "ends"), "ends must be after starts");
    }
    ReadIntervals(r, item, path, "time_intervals", *rules, &s.time_intervals);
    s.comment = ReadComment(r, item, path);
    rules->silences.push_back(std::move(s));
  }
}

void LoadInhibit(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  if (!r.CheckList(node, "inhibit", "a list of inhibit rules")) return;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string path = IndexPath("inhibit", i);
    if (!r.CheckMap(item, path,
                    {"name", "source", "source_matchers", "target", "target_matchers", "equal"},
                    "an inhibit rule like {source: [...], target: [...], equal: [node]}")) {
      continue;
    }
    InhibitRule rule;
    rule.pos = YamlReader::Pos(item);
    rule.name = ReadName(r, item, path);
    rule.source = AliasedMatchers(r, item, path, "source", "source_matchers");
    rule.target = AliasedMatchers(r, item, path, "target", "target_matchers");
    if (YAML::Node n = YamlReader::Get(item, "equal"); YamlReader::Has(n)) {
      if (auto e = r.LabelNames(n, JoinPath(path, "equal"))) rule.equal = std::move(*e);
    }
    for (const Matcher& m : rule.source.matchers()) {
      if (m.name() == "signal" && m.MatchesValue("log_surge")) rule.log_sources = true;
    }
    rules->inhibit.push_back(std::move(rule));
  }
}

// `join_colocated: {labels: [node, zone], within: 2m}` of a correlate rule.
void ReadColocated(YamlReader& r, const YAML::Node& node, const std::string& path,
                   CorrelateRule* rule) {
  if (!r.CheckMap(node, path, {"labels", "within"}, "a map like {labels: [node], within: 2m}")) {
    return;
  }
  if (r.Require(node, path, "labels")) {
    YAML::Node n = YamlReader::Get(node, "labels");
    if (auto labels = r.LabelNames(n, JoinPath(path, "labels"))) {
      if (labels->empty()) {
        r.Report(n, JoinPath(path, "labels"),
                 "expected at least one label that names a place (node, zone, cluster)");
      }
      rule->colocated_labels = std::move(*labels);
    }
  }
  ReadDuration(r, node, path, "within", false, &rule->colocated_within);
}

void LoadCorrelate(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  if (!r.CheckList(node, "correlate", "a list of correlate rules")) return;
  if (node.size() == 0) {
    r.Report(node, "correlate", "expected at least one correlate rule, got an empty list");
    return;
  }
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string path = IndexPath("correlate", i);
    if (!r.CheckMap(item, path,
                    {"name", "match", "group_by", "group_wait", "group_interval", "close_after",
                     "max_duration", "max_members", "join_within", "caller_hops", "join_named",
                     "join_colocated", "mute_time_intervals", "active_time_intervals"},
                    "a correlate rule like {name: user-impact, group_by: [impacted_service]}")) {
      continue;
    }
    CorrelateRule rule;
    rule.pos = YamlReader::Pos(item);
    if (r.Require(item, path, "name")) {
      YAML::Node n = YamlReader::Get(item, "name");
      std::string name_path = JoinPath(path, "name");
      if (auto name = r.NonEmptyString(n, name_path, "a rule name")) {
        for (size_t k = 0; k < rules->correlate.size(); ++k) {
          if (rules->correlate[k].name == *name) {
            r.Report(n, name_path,
                     "duplicate correlate rule name \"" + *name + "\" (also correlate[" +
                         std::to_string(k) + "])");
            break;
          }
        }
        rule.name = std::move(*name);
      }
    }
    if (YAML::Node n = YamlReader::Get(item, "match"); YamlReader::Has(n)) {
      if (auto m = r.Matchers(n, JoinPath(path, "match"), false)) rule.match = std::move(*m);
    }
    if (YAML::Node n = YamlReader::Get(item, "group_by"); YamlReader::Has(n)) {
      if (auto g = r.LabelNames(n, JoinPath(path, "group_by"))) rule.group_by = std::move(*g);
    }
    ReadDuration(r, item, path, "group_wait", true, &rule.group_wait);
    ReadDuration(r, item, path, "group_interval", false, &rule.group_interval);
    ReadDuration(r, item, path, "close_after", false, &rule.close_after);
    ReadDuration(r, item, path, "max_duration", false, &rule.max_duration);
    ReadDuration(r, item, path, "join_within", false, &rule.join_within);
    if (YAML::Node n = YamlReader::Get(item, "max_members"); YamlReader::Has(n)) {
      if (auto m = r.Int(n, JoinPath(path, "max_members"), 1, INT32_MAX)) {
        rule.max_members = static_cast<int>(*m);
      }
    }
    // Ties beyond overlapping impact need impacted services to overlap in the first place.
    const bool by_impact = std::find(rule.group_by.begin(), rule.group_by.end(),
                                     "impacted_service") != rule.group_by.end();
    auto needs_impact = [&](const YAML::Node& n, const char* key) {
      r.Report(n, JoinPath(path, key),
               std::string(key) +
                   " joins a signal to an incident whose impacted services it does not "
                   "overlap: it needs impacted_service in group_by");
    };
    if (YAML::Node n = YamlReader::Get(item, "join_named"); YamlReader::Has(n)) {
      if (auto b = r.Bool(n, JoinPath(path, "join_named"))) {
        rule.join_named = *b;
        if (*b && !by_impact) needs_impact(n, "join_named");
      }
    }
    if (YAML::Node n = YamlReader::Get(item, "caller_hops"); YamlReader::Has(n)) {
      if (auto h = r.Int(n, JoinPath(path, "caller_hops"), 0, kMaxCallerHops)) {
        rule.caller_hops = static_cast<int>(*h);
        if (*h > 0 && !by_impact) needs_impact(n, "caller_hops");
      }
    }
    if (YAML::Node n = YamlReader::Get(item, "join_colocated"); YamlReader::Has(n)) {
      ReadColocated(r, n, JoinPath(path, "join_colocated"), &rule);
    }
    ReadIntervals(r, item, path, "mute_time_intervals", *rules, &rule.mute_time_intervals);
    ReadIntervals(r, item, path, "active_time_intervals", *rules, &rule.active_time_intervals);
    rules->correlate.push_back(std::move(rule));
  }
}

// The keys of one clause (`match`, `min_members`, `min_components`, `firing_for`) from `node`,
// a map.
std::optional<PageClause> ReadPageClause(YamlReader& r, const YAML::Node& node,
                                         const std::string& path) {
  PageClause c;
  std::optional<MatcherSet> m;
  if (r.Require(node, path, "match")) {
    m = r.Matchers(YamlReader::Get(node, "match"), JoinPath(path, "match"), true);
  }
  for (auto [key, out] : {std::pair<std::string_view, int*>{"min_members", &c.min_members},
                          {"min_components", &c.min_components}}) {
    if (YAML::Node n = YamlReader::Get(node, key); YamlReader::Has(n)) {
      if (auto v = r.Int(n, JoinPath(path, key), 1, 10'000)) *out = static_cast<int>(*v);
    }
  }
  ReadDuration(r, node, path, "firing_for", false, &c.firing_for);
  if (!m) return std::nullopt;
  c.match = std::move(*m);
  return c;
}

// One page.when entry: a matcher list, {match, min_members, min_components, firing_for,
// within}, or {all: [clauses], within}.
std::optional<PageCondition> ReadPageCondition(YamlReader& r, const YAML::Node& node,
                                               const std::string& path) {
  PageCondition c;
  if (!node.IsMap()) {
    auto m = r.Matchers(node, path, true);
    if (!m) return std::nullopt;
    c.all.push_back(PageClause{std::move(*m)});
    return c;
  }
  constexpr std::string_view kWhat =
      "a page condition like {match: ['signal=\"log_surge\"'], min_components: 2} or "
      "{all: [{match: [...]}, {match: [...]}], within: 5m}";
  if (!r.CheckMap(node, path,
                  {"match", "min_members", "min_components", "firing_for", "all", "within"},
                  kWhat)) {
    return std::nullopt;
  }
  bool ok = true;
  if (YAML::Node all = YamlReader::Get(node, "all"); YamlReader::Has(all)) {
    for (std::string_view key : {"match", "min_members", "min_components", "firing_for"}) {
      if (YamlReader::Has(YamlReader::Get(node, key))) {
        r.Report(YamlReader::Get(node, key), JoinPath(path, key),
                 "goes inside each clause of `all`, not next to it");
        ok = false;
      }
    }
    const std::string all_path = JoinPath(path, "all");
    if (!r.CheckList(all, all_path, "a list of clauses like {match: ['severity=\"critical\"']}")) {
      return std::nullopt;
    }
    if (all.size() == 0) {
      r.Report(all, all_path, "needs at least one clause");
      return std::nullopt;
    }
    size_t k = 0;
    for (auto it = all.begin(); it != all.end(); ++it, ++k) {
      const std::string clause_path = IndexPath(all_path, k);
      if (!r.CheckMap(*it, clause_path, {"match", "min_members", "min_components", "firing_for"},
                      "a clause like {match: ['severity=\"critical\"'], min_members: 2}")) {
        ok = false;
        continue;
      }
      if (auto clause = ReadPageClause(r, *it, clause_path)) {
        c.all.push_back(std::move(*clause));
      } else {
        ok = false;
      }
    }
  } else if (!YamlReader::Has(YamlReader::Get(node, "match"))) {
    r.Report(node, JoinPath(path, "match"),
             "a condition needs `match` (a matcher list) or `all` (a list of clauses)");
    ok = false;
  } else if (auto clause = ReadPageClause(r, node, path)) {
    c.all.push_back(std::move(*clause));
  } else {
    ok = false;
  }
  if (YAML::Node n = YamlReader::Get(node, "within"); YamlReader::Has(n)) {
    if (auto d = r.Duration(n, JoinPath(path, "within"), false)) {
      c.within = *d;
      if (ok && c.one_member()) {
        r.Report(n, JoinPath(path, "within"),
                 "one member meets this entry alone, so a span means nothing: give "
                 "min_members or min_components above 1, or several clauses under `all`");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return c;
}

void LoadPage(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  const std::string path = "page";
  if (!r.CheckMap(node, path, {"when", "otherwise", "repeat_interval"},
                  "a map with when, otherwise and repeat_interval")) {
    return;
  }
  PageRule& page = rules->page;
  if (YAML::Node when = YamlReader::Get(node, "when"); YamlReader::Has(when)) {
    std::string when_path = JoinPath(path, "when");
    if (r.CheckList(when, when_path,
                    "a list of matcher lists like [['severity=\"critical\"']] or conditions")) {
      size_t i = 0;
      for (auto it = when.begin(); it != when.end(); ++it, ++i) {
        const std::string entry_path = IndexPath(when_path, i);
        std::optional<PageCondition> c = ReadPageCondition(r, *it, entry_path);
        if (!c) continue;
        c->first_bit = page.clauses;
        c->pos = YamlReader::Pos(*it);
        page.clauses += static_cast<int>(c->all.size());
        if (page.clauses > kMaxPageClauses) {
          if (page.clauses - static_cast<int>(c->all.size()) <= kMaxPageClauses) {
            r.Report(*it, entry_path,
                     "page.when holds more than " + std::to_string(kMaxPageClauses) +
                         " matcher lists in all (from here on); merge entries with regular "
                         "expressions");
          }
          continue;
        }
        page.timed |= c->timed();
        page.when.push_back(std::move(*c));
      }
    }
  }
  if (YAML::Node n = YamlReader::Get(node, "otherwise"); YamlReader::Has(n)) {
    if (auto a = r.Choice(n, JoinPath(path, "otherwise"), "action", {"ticket", "drop"})) {
      page.otherwise = *a == "drop" ? Action::kDrop : Action::kTicket;
    }
  }
  ReadDuration(r, node, path, "repeat_interval", true, &page.repeat_interval);
}

void LoadDrop(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  if (!r.CheckList(node, "drop", "a list of drop rules")) return;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string path = IndexPath("drop", i);
    if (!r.CheckMap(item, path, {"name", "matchers", "comment"},
                    "a drop rule like {matchers: ['alertname=\"Watchdog\"']}")) {
      continue;
    }
    DropRule rule;
    rule.pos = YamlReader::Pos(item);
    rule.name = ReadName(r, item, path);
    rule.matchers = RequiredMatchers(r, item, path, "matchers");
    rule.comment = ReadComment(r, item, path);
    rules->drop.push_back(std::move(rule));
  }
}

void LoadRouting(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  if (!r.CheckMap(node, "routing", {"labels", "keys"},
                  "a map like {labels: [team], keys: [{match: ['team=\"db\"'], routing_key: "
                  "R0...}]}")) {
    return;
  }
  RoutingRule& routing = rules->routing;
  if (YAML::Node n = YamlReader::Get(node, "labels"); YamlReader::Has(n)) {
    if (auto l = r.LabelNames(n, "routing.labels")) routing.labels = std::move(*l);
  }
  YAML::Node keys = YamlReader::Get(node, "keys");
  if (!YamlReader::Has(keys) || !r.CheckList(keys, "routing.keys", "a list of routing keys")) {
    return;
  }
  size_t i = 0;
  for (auto it = keys.begin(); it != keys.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string path = IndexPath("routing.keys", i);
    if (!r.CheckMap(item, path, {"match", "routing_key"},
                    "a routing key like {match: ['team=\"db\"'], routing_key: R0...}")) {
      continue;
    }
    RoutingKey key;
    key.pos = YamlReader::Pos(item);
    if (YAML::Node m = YamlReader::Get(item, "match"); YamlReader::Has(m)) {
      if (auto ms = r.Matchers(m, JoinPath(path, "match"), false)) key.match = std::move(*ms);
    }
    if (r.Require(item, path, "routing_key")) {
      if (auto k = r.NonEmptyString(YamlReader::Get(item, "routing_key"),
                                    JoinPath(path, "routing_key"), "a PagerDuty routing key")) {
        key.routing_key = std::move(*k);
      }
    }
    routing.keys.push_back(std::move(key));
  }
}

}  // namespace noisegate::rules::internal

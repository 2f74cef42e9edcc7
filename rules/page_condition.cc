// The canonical text of a page.when entry, as the report and explain output show it.
#include "rules/compiled_rules.h"
#include "rules/duration.h"

namespace noisegate::rules {
namespace {

std::string MatchList(const MatcherSet& m) {
  std::string out = "[";
  for (size_t i = 0; i < m.matchers().size(); ++i) {
    if (i) out += ", ";
    out += "'" + m.matchers()[i].ToString() + "'";
  }
  return out + "]";
}

// The clause's keys, without braces.
std::string Clause(const PageClause& c) {
  std::string out = "match: " + MatchList(c.match);
  if (c.min_members != 1) out += ", min_members: " + std::to_string(c.min_members);
  if (c.min_components != 1) out += ", min_components: " + std::to_string(c.min_components);
  if (c.firing_for.count() > 0) out += ", firing_for: " + FormatDuration(c.firing_for);
  return out;
}

}  // namespace

std::string PageCondition::ToString() const {
  if (all.size() == 1) {
    if (single() && within.count() == 0) return MatchList(all[0].match);
    std::string out = "{" + Clause(all[0]);
    if (within.count() > 0) out += ", within: " + FormatDuration(within);
    return out + "}";
  }
  std::string out = "{all: [";
  for (size_t i = 0; i < all.size(); ++i) {
    if (i) out += ", ";
    out += "{" + Clause(all[i]) + "}";
  }
  out += "]";
  if (within.count() > 0) out += ", within: " + FormatDuration(within);
  return out + "}";
}

}  // namespace noisegate::rules

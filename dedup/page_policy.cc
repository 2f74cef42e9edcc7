#include "dedup/page_policy.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <string>

#include "rules/duration.h"

namespace noisegate::dedup {
namespace {

uint32_t ConditionMask(const rules::PageCondition& c) {
  const uint64_t bits = (uint64_t{1} << c.all.size()) - 1;
  return static_cast<uint32_t>(bits << c.first_bit);
}

// The clauses of `c` that `m` counts toward at `now`: those it matches, less those whose
// firing_for it has not yet fired for without a break.
uint32_t Counted(const rules::PageCondition& c, const Member& m, EventTime now) {
  uint32_t bits = m.clauses & ConditionMask(c);
  if (bits == 0 || m.inhibited) return 0;
  for (size_t k = 0; k < c.all.size(); ++k) {
    const Millis need = c.all[k].firing_for;
    if (need.count() > 0 && !(m.firing && now - m.firing_since >= need)) {
      bits &= ~(uint32_t{1} << (c.first_bit + static_cast<int>(k)));
    }
  }
  return bits;
}

// Members counted per clause, and the distinct components among them for the clauses that
// ask for several (-1, no component, is not one).
class ClauseCounts {
 public:
  explicit ClauseCounts(const rules::PageCondition& c) : c_(c) {}
  // `bits`: the member's Counted() clauses.
  void Add(const Member& m, uint32_t bits, int d) {
    for (size_t k = 0; k < c_.all.size(); ++k) {
      if ((bits >> (c_.first_bit + static_cast<int>(k)) & 1) == 0) continue;
      count_[k] += d;
      if (c_.all[k].min_components <= 1 || m.component < 0) continue;
      auto it = std::find_if(components_.begin(), components_.end(), [&](const auto& e) {
        return e.clause == k && e.component == m.component;
      });
      if (it == components_.end()) {
        components_.push_back({k, m.component, d});
        ++distinct_[k];
      } else if ((it->members += d) == 0) {
        components_.erase(it);
        --distinct_[k];
      }
    }
  }
  int count(size_t k) const { return count_[k]; }
  int distinct(size_t k) const { return distinct_[k]; }
  bool Satisfied() const {
    for (size_t k = 0; k < c_.all.size(); ++k) {
      if (count_[k] < c_.all[k].min_members) return false;
      if (c_.all[k].min_components > 1 && distinct_[k] < c_.all[k].min_components) return false;
    }
    return true;
  }

 private:
  struct Component {
    size_t clause;
    int component;
    int members;
  };
  const rules::PageCondition& c_;
  std::array<int, rules::kMaxPageClauses> count_{}, distinct_{};
  std::vector<Component> components_;
};

struct Counting {
  const Member* member;
  uint32_t bits;  // its Counted() clauses
};

// Whether the members (those that count toward `c`) meet every clause of `c`, all of them at
// once or, with `within`, members first seen within that span of one another. Sorts `ms`.
bool Met(const rules::PageCondition& c, std::vector<Counting>& ms) {
  ClauseCounts all(c);
  for (const Counting& m : ms) all.Add(*m.member, m.bits, 1);
  if (!all.Satisfied()) return false;  // (no window of them does either)
  if (c.within.count() == 0) return true;
  // (Members join in order of first_seen, but a restored or re-fired one may not.)
  std::stable_sort(ms.begin(), ms.end(), [](const Counting& a, const Counting& b) {
    return a.member->first_seen < b.member->first_seen;
  });
  ClauseCounts window(c);
  size_t left = 0;
  for (size_t right = 0; right < ms.size(); ++right) {
    window.Add(*ms[right].member, ms[right].bits, 1);
    while (ms[right].member->first_seen - ms[left].member->first_seen > c.within) {
      window.Add(*ms[left].member, ms[left].bits, -1);
      ++left;
    }
    if (window.Satisfied()) return true;
  }
  return false;
}

}  // namespace

uint32_t PageClauses(const rules::PageRule& page, const rules::LabelSource& labels) {
  uint32_t bits = 0;
  for (const rules::PageCondition& c : page.when) {
    for (size_t k = 0; k < c.all.size(); ++k) {
      if (c.all[k].match.Matches(labels)) bits |= uint32_t{1} << (c.first_bit + k);
    }
  }
  return bits;
}

bool PagesAlone(const rules::PageRule& page, uint32_t clauses) {
  for (const rules::PageCondition& c : page.when) {
    if (c.single() && (clauses >> c.first_bit & 1)) return true;
  }
  return false;
}

bool CountsToward(const rules::PageRule& page, int condition, const Member& m, EventTime now) {
  if (m.inhibited) return false;
  if (condition == -2) return m.pages && m.clauses == 0;
  if (condition < 0 || static_cast<size_t>(condition) >= page.when.size()) return false;
  return Counted(page.when[static_cast<size_t>(condition)], m, now) != 0;
}

int MetPageCondition(const rules::PageRule& page, const std::vector<Member>& members,
                     EventTime now) {
  // One pass for what the members match at all; the windows and counts of a condition are
  // looked at only when every one of its clauses is matched by some member.
  uint32_t any = 0;
  bool paged_alone_before = false;
  for (const Member& m : members) {
    if (m.inhibited) continue;
    any |= m.clauses;
    paged_alone_before |= m.pages && m.clauses == 0;
  }
  thread_local std::vector<Counting> counted;  // (reused: routes are recomputed often)
  for (size_t i = 0; i < page.when.size(); ++i) {
    const rules::PageCondition& c = page.when[i];
    const uint32_t mask = ConditionMask(c);
    if (c.single()) {
      if ((any & mask) != 0) return static_cast<int>(i);
      continue;
    }
    if ((any & mask) != mask) continue;
    counted.clear();
    for (const Member& m : members) {
      if (uint32_t bits = Counted(c, m, now)) counted.push_back({&m, bits});
    }
    if (Met(c, counted)) return static_cast<int>(i);
  }
  return paged_alone_before ? -2 : -1;
}

EventTime NextPageChange(const rules::PageRule& page, const std::vector<Member>& members,
                         EventTime now) {
  EventTime next = kMaxTime;
  if (!page.timed) return next;
  for (const rules::PageCondition& c : page.when) {
    if (!c.timed()) continue;
    const uint32_t mask = ConditionMask(c);
    for (const Member& m : members) {
      if (!m.firing || m.inhibited || (m.clauses & mask) == 0) continue;
      for (size_t k = 0; k < c.all.size(); ++k) {
        const Millis need = c.all[k].firing_for;
        if (need.count() == 0 || (m.clauses >> (c.first_bit + static_cast<int>(k)) & 1) == 0) {
          continue;
        }
        const EventTime due = m.firing_since + need;
        if (due > now) next = std::min(next, due);
      }
    }
  }
  return next;
}

std::string PageShortfall(const rules::PageRule& page, int condition,
                          const std::vector<Member>& members, EventTime now) {
  if (condition < 0 || static_cast<size_t>(condition) >= page.when.size()) return "";
  const rules::PageCondition& c = page.when[static_cast<size_t>(condition)];
  const uint32_t mask = ConditionMask(c);
  ClauseCounts all(c);
  bool any = false;
  for (const Member& m : members) {
    // (A member still short of a clause's firing_for is named by that clause's count.)
    if (!m.inhibited && (m.clauses & mask) != 0) any = true;
    if (uint32_t bits = Counted(c, m, now)) all.Add(m, bits, 1);
  }
  if (!any) return "";
  if (all.Satisfied()) {
    return "its members meet every clause, but not within " + rules::FormatDuration(c.within) +
           " of one another";
  }
  std::string out;
  for (size_t k = 0; k < c.all.size(); ++k) {
    const rules::PageClause& clause = c.all[k];
    std::string got;
    if (all.count(k) < clause.min_members || (clause.min_members == 1 && all.count(k) == 0)) {
      got = std::to_string(all.count(k)) + " of " + std::to_string(clause.min_members) +
            (clause.min_members == 1 ? " member" : " members");
      if (clause.firing_for.count() > 0) {
        got += " firing for " + rules::FormatDuration(clause.firing_for);
      }
    }
    if (clause.min_components > 1 && all.distinct(k) < clause.min_components) {
      got += (got.empty() ? "" : ", ") + std::to_string(all.distinct(k)) + " of " +
             std::to_string(clause.min_components) + " components";
    }
    if (got.empty()) continue;
    if (!out.empty()) out += "; ";
    out += c.all.size() > 1 ? "clause " + std::to_string(k + 1) + ": " + got : got;
  }
  return out;
}

uint64_t PageWhenDigest(const rules::PageRule& page) {
  // The clauses' matchers in bit order: what a bit means. Counts and spans are read when the
  // route is computed, so tuning them keeps the bits.
  std::string d;
  for (const rules::PageCondition& c : page.when) {
    for (const rules::PageClause& clause : c.all) d += clause.match.ToString() + "\n";
  }
  return XXH3_64bits(d.data(), d.size());
}

}  // namespace noisegate::dedup

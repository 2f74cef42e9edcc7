// Page policy: which page.when entry an incident meets. A member keeps one bit per clause of
// page.when (Member::clauses), set from its labels when it joins; an entry is met by the
// members that are not inhibited. The engine routes with it; the report explains with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dedup/incident.h"
#include "rules/compiled_rules.h"
#include "rules/matcher.h"

namespace noisegate::dedup {

// The clauses of page.when that `labels` match: bit PageCondition::first_bit + k for all[k].
uint32_t PageClauses(const rules::PageRule& page, const rules::LabelSource& labels);

// Whether a member with these clause bits meets an entry alone (it "pages").
bool PagesAlone(const rules::PageRule& page, uint32_t clauses);

// The first page.when entry that `members` meet, or -1. Members restored from a state written
// before clause bits existed, or under another page.when, have none: they page when they paged
// alone under those rules (Member::pages), reported as -2.
// `now` is the engine's event time: a clause with firing_for counts a member only once it has
// been firing that long (Member::firing_since).
int MetPageCondition(const rules::PageRule& page, const std::vector<Member>& members,
                     EventTime now);

// When, after `now`, a firing member comes to count toward a clause with firing_for, so that
// the entry may be met with no record arriving (kMaxTime when never).
EventTime NextPageChange(const rules::PageRule& page, const std::vector<Member>& members,
                         EventTime now);

// The members that count toward entry `condition` at `now` (not inhibited, matching one of its
// clauses, firing for long enough).
bool CountsToward(const rules::PageRule& page, int condition, const Member& m, EventTime now);

// How far the members are from meeting entry `condition` at `now` ("2 of 3 components", "0 of
// 1 member firing for 5m", per clause of `all`; or that they do, but not within its span), or
// "" when no member matches it.
std::string PageShortfall(const rules::PageRule& page, int condition,
                          const std::vector<Member>& members, EventTime now);

// A digest of page.when's matcher lists in bit order: clause bits written under others mean
// something else (min_members, min_components and within do not change what a bit means).
uint64_t PageWhenDigest(const rules::PageRule& page);

}  // namespace noisegate::dedup

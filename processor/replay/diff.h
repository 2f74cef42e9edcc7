// `replay --diff`: what changed between two rule versions over the same input. Incidents are
// matched across the versions by the member fingerprints they share (their dedup_keys differ
// when the rules do); for each match the route, the time of the first trigger or first page
// and the members are compared, and incidents notified under one version only are listed.
// The comparison is printed after the summary and, with --report, drawn into the report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace noisegate::processor {

struct ReplaySummary;

struct DiffEntry {
  enum class Kind {
    kChanged,  // matched, and its route, first trigger, first page or members changed
    kSplit,    // a B incident that shares members with an A incident but is not its match
    kOnlyA,    // notified under A only
    kOnlyB,    // notified under B only
  };
  Kind kind = Kind::kChanged;
  std::string a_id, b_id;         // the incident under each version (empty: none)
  std::string summary;            // as its trigger said (A's when there is one)
  bool paged = false;             // kSplit, kOnly*: the incident on its side paged (else ticketed)
  int64_t at_ms = 0;              // kSplit, kOnly*: its first page, else its first ticket
  size_t shared = 0;              // kSplit: the members it shares with A's incident
  std::vector<std::string> what;  // kChanged: one line per change
};

struct ReplayDiff {
  std::string name_a, name_b;
  std::vector<DiffEntry> entries;  // A's incidents in order of first notification, then B's
  size_t notified_a = 0, paged_a = 0, notified_b = 0, paged_b = 0;
  size_t only_a = 0, only_b = 0, changed = 0;  // (changed counts splits too)
  bool any() const { return only_a + only_b + changed > 0; }
};

// Needs both summaries made with ReplayOptions::keep_members.
ReplayDiff CompareReplays(const std::string& name_a, const ReplaySummary& a,
                          const std::string& name_b, const ReplaySummary& b);

void PrintDiff(const ReplayDiff& diff, std::ostream& out);

// Compares and prints; true when there is any difference.
bool PrintDiff(const std::string& name_a, const ReplaySummary& a, const std::string& name_b,
               const ReplaySummary& b, std::ostream& out);

}  // namespace noisegate::processor

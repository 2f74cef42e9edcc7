// `replay --diff`: which incidents page under one rule version and not the other.
#include <algorithm>
#include <map>
#include <set>

#include "processor/replay/replay.h"

namespace noisegate::processor {
namespace {

struct Paged {
  std::string id;
  int64_t first_at = 0;
  std::string summary;
  std::set<uint64_t> fingerprints;
};

std::vector<Paged> PagedIncidents(const ReplaySummary& s) {
  std::map<std::string, size_t> index;
  std::vector<Paged> out;
  for (const EmittedEvent& e : s.events) {
    if (e.route != rules::Action::kPage || e.action != dedup::NotifyAction::kTrigger) continue;
    auto [it, inserted] = index.try_emplace(e.incident, out.size());
    if (inserted) out.push_back(Paged{e.incident, e.at_ms, e.summary, {}});
    out[it->second].fingerprints.insert(e.fingerprints.begin(), e.fingerprints.end());
  }
  return out;
}

bool Shares(const Paged& p, const std::vector<Paged>& others) {
  for (const Paged& o : others) {
    for (uint64_t fp : p.fingerprints) {
      if (o.fingerprints.count(fp)) return true;
    }
  }
  return false;
}

}  // namespace

bool PrintDiff(const std::string& name_a, const ReplaySummary& a, const std::string& name_b,
               const ReplaySummary& b, std::ostream& out) {
  std::vector<Paged> pa = PagedIncidents(a), pb = PagedIncidents(b);
  size_t only_a = 0, only_b = 0;
  out << "\n== diff: " << name_a << " (A) vs " << name_b << " (B)\n";
  for (const Paged& p : pa) {
    if (Shares(p, pb)) continue;
    ++only_a;
    out << "  pages only under A: " << FormatRfc3339(EventTime{p.first_at}) << " " << p.id << " "
        << p.summary << "\n";
  }
  for (const Paged& p : pb) {
    if (Shares(p, pa)) continue;
    ++only_b;
    out << "  pages only under B: " << FormatRfc3339(EventTime{p.first_at}) << " " << p.id << " "
        << p.summary << "\n";
  }
  out << "  paged incidents: A " << pa.size() << ", B " << pb.size() << "; only A " << only_a
      << ", only B " << only_b << "\n";
  return only_a + only_b > 0;
}

}  // namespace noisegate::processor

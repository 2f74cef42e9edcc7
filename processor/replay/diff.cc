// `replay --diff`: what changed between two rule versions over the same input. Incidents are
// matched across the versions by the member fingerprints they share (their dedup_keys differ
// when the rules do); for each match the route, the time of the first trigger and the members
// are compared, and incidents notified under one version only are listed.
#include <algorithm>
#include <map>
#include <set>

#include "processor/replay/replay.h"

namespace noisegate::processor {
namespace {

// One incident as its notifications show it.
struct Notified {
  std::string id;
  bool paged = false;    // a page trigger went out (else only tickets)
  int64_t first_at = 0;  // its first trigger
  int64_t first_page_at = 0;
  std::string summary;
  std::set<uint64_t> fingerprints;  // every member any trigger listed
};

std::vector<Notified> NotifiedIncidents(const ReplaySummary& s) {
  std::map<std::string, size_t> index;
  std::vector<Notified> out;
  for (const EmittedEvent& e : s.events) {
    if (e.action != dedup::NotifyAction::kTrigger) continue;
    auto [it, inserted] = index.try_emplace(e.incident, out.size());
    if (inserted) out.push_back(Notified{e.incident, false, e.at_ms, 0, e.summary, {}});
    Notified& n = out[it->second];
    if (e.route == rules::Action::kPage && !n.paged) {
      n.paged = true;
      n.first_page_at = e.at_ms;
      n.summary = e.summary;
    }
    n.fingerprints.insert(e.fingerprints.begin(), e.fingerprints.end());
  }
  return out;
}

size_t Shared(const Notified& a, const Notified& b) {
  size_t n = 0;
  for (uint64_t fp : a.fingerprints) n += b.fingerprints.count(fp);
  return n;
}

// For each incident of `from`, the index of the incident of `to` it shares most members with
// (-1: none).
std::vector<int> Match(const std::vector<Notified>& from, const std::vector<Notified>& to) {
  std::vector<int> out(from.size(), -1);
  for (size_t i = 0; i < from.size(); ++i) {
    size_t best = 0;
    for (size_t j = 0; j < to.size(); ++j) {
      size_t n = Shared(from[i], to[j]);
      if (n > best) {
        best = n;
        out[i] = static_cast<int>(j);
      }
    }
  }
  return out;
}

const char* Route(const Notified& n) { return n.paged ? "page" : "ticket"; }

std::string Delta(int64_t ms) {
  std::string sign = ms < 0 ? "-" : "+";
  ms = ms < 0 ? -ms : ms;
  std::string s = sign;
  if (ms >= 3'600'000) s += std::to_string(ms / 3'600'000) + "h";
  if (ms % 3'600'000 >= 60'000) s += std::to_string(ms % 3'600'000 / 60'000) + "m";
  if (ms % 60'000 != 0 || ms == 0) {
    s += std::to_string(ms % 60'000 / 1000);
    if (ms % 1000) s += "." + std::to_string(1000 + ms % 1000).substr(1);
    s += "s";
  }
  return s;
}

}  // namespace

bool PrintDiff(const std::string& name_a, const ReplaySummary& a, const std::string& name_b,
               const ReplaySummary& b, std::ostream& out) {
  std::vector<Notified> na = NotifiedIncidents(a), nb = NotifiedIncidents(b);
  std::vector<int> a_to_b = Match(na, nb), b_to_a = Match(nb, na);
  size_t only_a = 0, only_b = 0, changed = 0;
  out << "\n== diff: " << name_a << " (A) vs " << name_b << " (B)\n";
  for (size_t i = 0; i < na.size(); ++i) {
    const Notified& x = na[i];
    if (a_to_b[i] < 0) {
      ++only_a;
      out << "  " << (x.paged ? "pages" : "tickets")
          << " only under A: " << FormatRfc3339(EventTime{x.paged ? x.first_page_at : x.first_at})
          << " " << x.id << " " << x.summary << "\n";
      continue;
    }
    const Notified& y = nb[static_cast<size_t>(a_to_b[i])];
    std::vector<std::string> what;
    if (x.paged != y.paged) what.push_back(std::string("route ") + Route(x) + " -> " + Route(y));
    if (x.first_at != y.first_at) {
      what.push_back("first trigger " + FormatRfc3339(EventTime{x.first_at}) + " -> " +
                     FormatRfc3339(EventTime{y.first_at}) + " (" + Delta(y.first_at - x.first_at) +
                     ")");
    }
    if (x.paged && y.paged && x.first_page_at != y.first_page_at && x.first_at == y.first_at) {
      what.push_back("first page " + FormatRfc3339(EventTime{x.first_page_at}) + " -> " +
                     FormatRfc3339(EventTime{y.first_page_at}) + " (" +
                     Delta(y.first_page_at - x.first_page_at) + ")");
    }
    size_t shared = Shared(x, y);
    size_t gone = x.fingerprints.size() - shared, added = y.fingerprints.size() - shared;
    if (gone > 0 || added > 0) {
      what.push_back("members " + std::to_string(x.fingerprints.size()) + " -> " +
                     std::to_string(y.fingerprints.size()) + " (" + std::to_string(gone) +
                     " only under A, " + std::to_string(added) + " only under B)");
    }
    if (what.empty()) continue;
    ++changed;
    out << "  changed: " << x.id << " -> " << y.id << " " << x.summary << "\n";
    for (const std::string& w : what) out << "      " << w << "\n";
  }
  // B incidents that share members with A but are no A incident's closest match: A's
  // incident split (or B took some of its members).
  std::set<int> matched(a_to_b.begin(), a_to_b.end());
  for (size_t j = 0; j < nb.size(); ++j) {
    if (b_to_a[j] < 0 || matched.count(static_cast<int>(j))) continue;
    const Notified& y = nb[j];
    const Notified& x = na[static_cast<size_t>(b_to_a[j])];
    ++changed;
    out << "  split: " << x.id << " -> also " << y.id << " (" << Route(y) << " at "
        << FormatRfc3339(EventTime{y.paged ? y.first_page_at : y.first_at}) << ", " << Shared(y, x)
        << " of its members were in A's) " << y.summary << "\n";
  }
  for (size_t j = 0; j < nb.size(); ++j) {
    if (b_to_a[j] >= 0) continue;
    const Notified& y = nb[j];
    ++only_b;
    out << "  " << (y.paged ? "pages" : "tickets")
        << " only under B: " << FormatRfc3339(EventTime{y.paged ? y.first_page_at : y.first_at})
        << " " << y.id << " " << y.summary << "\n";
  }
  auto paged = [](const std::vector<Notified>& v) {
    return std::count_if(v.begin(), v.end(), [](const Notified& n) { return n.paged; });
  };
  out << "  incidents notified: A " << na.size() << " (" << paged(na) << " paged), B " << nb.size()
      << " (" << paged(nb) << " paged); only A " << only_a << ", only B " << only_b << ", changed "
      << changed << "\n";
  return only_a + only_b + changed > 0;
}

}  // namespace noisegate::processor

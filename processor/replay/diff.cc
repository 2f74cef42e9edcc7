#include "processor/replay/diff.h"

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

ReplayDiff CompareReplays(const std::string& name_a, const ReplaySummary& a,
                          const std::string& name_b, const ReplaySummary& b) {
  std::vector<Notified> na = NotifiedIncidents(a), nb = NotifiedIncidents(b);
  std::vector<int> a_to_b = Match(na, nb), b_to_a = Match(nb, na);
  ReplayDiff d;
  d.name_a = name_a;
  d.name_b = name_b;
  auto first_sent = [](const Notified& n) { return n.paged ? n.first_page_at : n.first_at; };
  for (size_t i = 0; i < na.size(); ++i) {
    const Notified& x = na[i];
    if (a_to_b[i] < 0) {
      ++d.only_a;
      d.entries.push_back(
          DiffEntry{DiffEntry::Kind::kOnlyA, x.id, "", x.summary, x.paged, first_sent(x), 0, {}});
      continue;
    }
    const Notified& y = nb[static_cast<size_t>(a_to_b[i])];
    DiffEntry e{DiffEntry::Kind::kChanged, x.id, y.id, x.summary, x.paged, 0, 0, {}};
    if (x.paged != y.paged) e.what.push_back(std::string("route ") + Route(x) + " -> " + Route(y));
    if (x.first_at != y.first_at) {
      e.what.push_back("first trigger " + FormatRfc3339(EventTime{x.first_at}) + " -> " +
                       FormatRfc3339(EventTime{y.first_at}) + " (" +
                       Delta(y.first_at - x.first_at) + ")");
    }
    if (x.paged && y.paged && x.first_page_at != y.first_page_at && x.first_at == y.first_at) {
      e.what.push_back("first page " + FormatRfc3339(EventTime{x.first_page_at}) + " -> " +
                       FormatRfc3339(EventTime{y.first_page_at}) + " (" +
                       Delta(y.first_page_at - x.first_page_at) + ")");
    }
    size_t shared = Shared(x, y);
    size_t gone = x.fingerprints.size() - shared, added = y.fingerprints.size() - shared;
    if (gone > 0 || added > 0) {
      e.what.push_back("members " + std::to_string(x.fingerprints.size()) + " -> " +
                       std::to_string(y.fingerprints.size()) + " (" + std::to_string(gone) +
                       " only under A, " + std::to_string(added) + " only under B)");
    }
    if (e.what.empty()) continue;
    ++d.changed;
    d.entries.push_back(std::move(e));
  }
  // B incidents that share members with A but are no A incident's closest match: A's
  // incident split (or B took some of its members).
  std::set<int> matched(a_to_b.begin(), a_to_b.end());
  for (size_t j = 0; j < nb.size(); ++j) {
    if (b_to_a[j] < 0 || matched.count(static_cast<int>(j))) continue;
    const Notified& y = nb[j];
    const Notified& x = na[static_cast<size_t>(b_to_a[j])];
    ++d.changed;
    d.entries.push_back(DiffEntry{
        DiffEntry::Kind::kSplit, x.id, y.id, y.summary, y.paged, first_sent(y), Shared(y, x), {}});
  }
  for (size_t j = 0; j < nb.size(); ++j) {
    if (b_to_a[j] >= 0) continue;
    const Notified& y = nb[j];
    ++d.only_b;
    d.entries.push_back(
        DiffEntry{DiffEntry::Kind::kOnlyB, "", y.id, y.summary, y.paged, first_sent(y), 0, {}});
  }
  auto paged = [](const std::vector<Notified>& v) {
    return static_cast<size_t>(
        std::count_if(v.begin(), v.end(), [](const Notified& n) { return n.paged; }));
  };
  d.notified_a = na.size();
  d.paged_a = paged(na);
  d.notified_b = nb.size();
  d.paged_b = paged(nb);
  return d;
}

void PrintDiff(const ReplayDiff& d, std::ostream& out) {
  out << "\n== diff: " << d.name_a << " (A) vs " << d.name_b << " (B)\n";
  for (const DiffEntry& e : d.entries) {
    const char* sent = e.paged ? "pages" : "tickets";
    switch (e.kind) {
      case DiffEntry::Kind::kOnlyA:
      case DiffEntry::Kind::kOnlyB:
        out << "  " << sent << " only under " << (e.kind == DiffEntry::Kind::kOnlyA ? "A" : "B")
            << ": " << FormatRfc3339(EventTime{e.at_ms}) << " "
            << (e.a_id.empty() ? e.b_id : e.a_id) << " " << e.summary << "\n";
        break;
      case DiffEntry::Kind::kChanged:
        out << "  changed: " << e.a_id << " -> " << e.b_id << " " << e.summary << "\n";
        for (const std::string& w : e.what) out << "      " << w << "\n";
        break;
      case DiffEntry::Kind::kSplit:
        out << "  split: " << e.a_id << " -> also " << e.b_id << " ("
            << (e.paged ? "page" : "ticket") << " at " << FormatRfc3339(EventTime{e.at_ms}) << ", "
            << e.shared << " of its members were in A's) " << e.summary << "\n";
        break;
    }
  }
  out << "  incidents notified: A " << d.notified_a << " (" << d.paged_a << " paged), B "
      << d.notified_b << " (" << d.paged_b << " paged); only A " << d.only_a << ", only B "
      << d.only_b << ", changed " << d.changed << "\n";
}

bool PrintDiff(const std::string& name_a, const ReplaySummary& a, const std::string& name_b,
               const ReplaySummary& b, std::ostream& out) {
  ReplayDiff d = CompareReplays(name_a, a, name_b, b);
  PrintDiff(d, out);
  return d.any();
}

}  // namespace noisegate::processor

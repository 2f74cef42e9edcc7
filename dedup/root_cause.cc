#include "dedup/root_cause.h"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <utility>

namespace noisegate::dedup {
namespace {

// Root candidates: the members' components (and the culprits their logs name) that depend
// on no other such component: where the failure most likely starts. A component whose own
// errors blame another (a named culprit) is a victim, whatever the topology declares, unless
// what they name is one of its callers.
std::vector<int> RootCandidates(const Incident& inc, const rules::Topology& topo) {
  std::vector<int> nodes;
  for (const Member& m : inc.members) {
    if (m.inhibited) continue;  // muted by the incident's own cause: a symptom, not a root
    if (m.culprit >= 0) nodes.push_back(m.culprit);
    const bool blames_other =
        m.culprit >= 0 && (m.component < 0 || !topo.DependsOn(m.culprit, m.component));
    if (m.component >= 0 && !blames_other) nodes.push_back(m.component);
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  std::vector<int> roots;
  for (int a : nodes) {
    bool depends = false;
    for (int b : nodes) {
      if (a != b && topo.DependsOn(a, b)) depends = true;
    }
    if (!depends) roots.push_back(a);
  }
  std::sort(roots.begin(), roots.end(),
            [&](int x, int y) { return topo.node(x).name < topo.node(y).name; });
  return roots;
}

// One label, as the place inventory reads a place.
class OneLabel : public rules::LabelSource {
 public:
  OneLabel(std::string_view name, std::string_view value) : name_(name), value_(value) {}
  std::string_view Get(std::string_view name) const override {
    return name == name_ ? value_ : std::string_view();
  }

 private:
  std::string_view name_, value_;
};

// Places where signals of the incident began together (join_colocated tied one to another
// there): the place, not the services, is where the failure most likely is. A place that holds
// others of them (the zone of a tied node, by the place inventory) comes first: its tie reached
// beyond them.
std::vector<const Place*> RootPlaces(const Incident& inc, const rules::PlaceInventory& inventory) {
  std::vector<const Place*> places;
  for (const Place& p : inc.places) {
    if (p.tied) places.push_back(&p);
  }
  if (places.size() < 2 || inventory.empty()) return places;
  auto holds = [&](const Place* p) {
    int n = 0;
    for (const Place* q : places) {
      if (q != p && inventory.Lookup(OneLabel(q->label(), q->value()), p->label()) == p->value()) {
        ++n;
      }
    }
    return n;
  };
  std::vector<std::pair<int, const Place*>> ranked;
  for (const Place* p : places) ranked.emplace_back(-holds(p), p);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < places.size(); ++i) places[i] = ranked[i].second;
  return places;
}

// The member that best names the problem: with a root place, a signal of no service and no
// topology component (the place's own alert: a node or zone down) first; then a root-candidate
// member, then the highest severity, then the earliest.
const Member* Lead(const Incident& inc, const std::vector<int>& roots, bool place_root) {
  const Member* best = nullptr;
  auto rank = [&](const Member& m) {
    bool root = std::find(roots.begin(), roots.end(), m.component) != roots.end() ||
                std::find(roots.begin(), roots.end(), m.culprit) != roots.end();
    // Only members that kept their detail can name the problem.
    const bool of_the_place = place_root && m.component < 0 && m.service().empty();
    return std::make_tuple(m.detail != nullptr, !m.inhibited, of_the_place, root,
                           static_cast<int>(m.severity), -m.first_seen.ms);
  };
  for (const Member& m : inc.members) {
    if (best == nullptr || rank(m) > rank(*best)) best = &m;
  }
  return best;
}

}  // namespace

RootCause RankRoots(const Incident& inc, const rules::Topology& topo) {
  RootCause r;
  r.components = RootCandidates(inc, topo);
  r.places = RootPlaces(inc, topo.places());
  r.lead = Lead(inc, r.components, !r.places.empty());
  return r;
}

}  // namespace noisegate::dedup

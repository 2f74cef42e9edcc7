// Topology: the services an SRE team declares, which ones users touch, what each depends on,
// and how raw labels map to components. The engine asks it which user-facing services a
// signal on a component can impact, and which components are roots among an incident's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rules/matcher.h"
#include "rules/place_inventory.h"

namespace noisegate::rules {

struct ComponentRule {
  MatcherSet match;
  int node = -1;  // index into Topology::nodes
  int line = 0;   // where the rule is written, for explain
};

struct TopologyNode {
  std::string name;
  bool user_facing = false;
  std::vector<int> depends_on;  // indexes
  std::vector<int> dependents;  // reverse edges
  // The nearest user-facing services a failure here reaches: itself when user-facing,
  // otherwise the first user-facing service on every path up the dependents. Sorted by name.
  std::vector<int> impacts;
  std::vector<int> ancestors;  // every node that transitively depends on this one (sorted)
};

class Topology {
 public:
  // Adds (or finds) a node by name. Only the loader calls these.
  int AddNode(std::string_view name);
  void AddDependency(int from, int to);
  void SetUserFacing(int node, bool user_facing) { nodes_[node].user_facing = user_facing; }
  // Computes impacts and ancestors; returns the name of a node on a dependency cycle, if any.
  std::string Finish();

  int Find(std::string_view name) const;
  const TopologyNode& node(int i) const { return nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  const std::vector<ComponentRule>& components() const { return components_; }
  std::vector<ComponentRule>& mutable_components() { return components_; }
  // Where places lie (topology.places).
  const PlaceInventory& places() const { return places_; }
  PlaceInventory& mutable_places() { return places_; }

  // The component a signal belongs to: the first component rule whose matchers match,
  // else the node named by the `service` label (then `component`, `app`), else -1.
  int Attribute(const LabelSource& labels) const;
  // Named culprits: the first topology node (other than `self`) whose name appears as a whole
  // word in the first 4 KiB of `text` or `more` (a message and its stack trace), or -1.
  int FindNamed(std::string_view text, std::string_view more, int self) const;
  // True when `a` transitively depends on `b`.
  bool DependsOn(int a, int b) const;
  // What `node` calls at most `hops` dependency edges down (its callees, theirs, ...), not
  // `node` itself. Sorted by index.
  std::vector<int> Callees(int node, int hops) const;

 private:
  std::vector<TopologyNode> nodes_;
  std::vector<ComponentRule> components_;
  PlaceInventory places_;
};

}  // namespace noisegate::rules

// The place inventory: what places lie in. Signals carry the label of the nearest place (a log
// line its node, a pod alert its node and pod, a node alert its node) but seldom the enclosing
// ones (the node's zone). The inventory, `topology.places` in the rules, says that node-1 lies
// in zone eu-west-1a, so that matchers, group_by and join_colocated see the zone of a signal
// that carries only its node. A signal's own labels win over the inventory.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/matcher.h"

namespace noisegate::rules {

class PlaceInventory {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // How many places the chain may climb (pod -> node -> zone -> region).
  static constexpr int kMaxDepth = 4;

  // Declares that the place `label`=`value` lies in `in` (label, value pairs). Loader only.
  void Add(const std::string& label, const std::string& value, Labels in);

  bool empty() const { return places_.empty(); }
  // The labels that name places, in the order declared.
  const std::vector<std::string>& labels() const { return labels_; }
  // The value the inventory gives `name` for a signal whose own labels are `own`: from the
  // places it carries, then the places those lie in (first declared place label first), or "".
  std::string_view Lookup(const LabelSource& own, std::string_view name) const;
  // Every label the inventory gives the signal, `name` ascending (for `noisegate decode`).
  Labels All(const LabelSource& own) const;

 private:
  std::string_view Resolve(const LabelSource& own, std::string_view name, int depth) const;

  std::vector<std::string> labels_;
  std::vector<std::string> given_;  // the labels some place lies in (sorted, distinct)
  // label -> value -> what it lies in
  std::map<std::string, std::map<std::string, Labels, std::less<>>, std::less<>> places_;
};

}  // namespace noisegate::rules

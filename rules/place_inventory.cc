#include "rules/place_inventory.h"

#include <algorithm>

namespace noisegate::rules {

void PlaceInventory::Add(const std::string& label, const std::string& value, Labels in) {
  if (std::find(labels_.begin(), labels_.end(), label) == labels_.end()) labels_.push_back(label);
  for (const auto& [name, v] : in) {
    auto at = std::lower_bound(given_.begin(), given_.end(), name);
    if (at == given_.end() || *at != name) given_.insert(at, name);
  }
  places_[label][value] = std::move(in);
}

std::string_view PlaceInventory::Lookup(const LabelSource& own, std::string_view name) const {
  if (places_.empty() || !std::binary_search(given_.begin(), given_.end(), name)) return {};
  return Resolve(own, name, 0);
}

std::string_view PlaceInventory::Resolve(const LabelSource& own, std::string_view name,
                                         int depth) const {
  for (const std::string& label : labels_) {
    if (label == name) continue;
    std::string_view value = own.Get(label);
    // (Only a label some place gives can come from the inventory: the climb stays short.)
    if (value.empty() && depth + 1 < kMaxDepth &&
        std::binary_search(given_.begin(), given_.end(), label)) {
      value = Resolve(own, label, depth + 1);
    }
    if (value.empty()) continue;
    auto of_label = places_.find(label);
    auto place = of_label->second.find(value);
    if (place == of_label->second.end()) continue;
    for (const auto& [given, v] : place->second) {
      if (given == name) return v;
    }
  }
  return {};
}

PlaceInventory::Labels PlaceInventory::All(const LabelSource& own) const {
  Labels out;
  for (const std::string& name : given_) {
    if (!own.Get(name).empty()) continue;
    std::string_view v = Lookup(own, name);
    if (!v.empty()) out.emplace_back(name, std::string(v));
  }
  return out;
}

}  // namespace noisegate::rules

// A LabelSource over a map, for tests of matchers, the topology and the place inventory.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "rules/matcher.h"

namespace noisegate::rules::testing {

class MapLabels : public LabelSource {
 public:
  MapLabels(std::initializer_list<std::pair<const std::string, std::string>> l) : labels_(l) {}
  std::string_view Get(std::string_view name) const override {
    auto it = labels_.find(std::string(name));
    return it == labels_.end() ? std::string_view() : std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> labels_;
};

}  // namespace noisegate::rules::testing

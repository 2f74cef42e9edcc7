// The varied estate: the seed draws the estate itself (services, backends, nodes and zones,
// who calls whom, what the catalog leaves out) and which failures happen where and when, so
// that rules written from the catalog alone can be scored on estates they were not tuned on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/estate/estate.h"

namespace noisegate::estate {

// The messages and labelled incidents of the varied estate for `seed`, and its service catalog
// as a rules file's `topology:` section (YAML). `scale` multiplies the background traffic;
// `hours` (at least 4) is its length, and more hours hold more incidents.
void VariedEstate(uint64_t seed, int scale, int hours, std::vector<Message>* msgs,
                  std::vector<Truth>* truth, std::string* topology);

}  // namespace noisegate::estate

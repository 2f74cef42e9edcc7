// The sample estate, for which examples/rules.yaml was written (sample_estate.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "tools/estate/estate.h"

namespace noisegate::estate {

// The messages and labelled incidents of the sample estate for `seed`; `scale` multiplies the
// background traffic, `hours` (at least 4) is its length.
void SampleEstate(uint64_t seed, int scale, int hours, std::vector<Message>* msgs,
                  std::vector<Truth>* truth);

}  // namespace noisegate::estate

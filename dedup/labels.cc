#include "dedup/labels.h"

#include <utility>

namespace noisegate {

void LabelSet::Canonicalize() {
  // Insertion sort: label sets are small and usually arrive sorted (Alertmanager sends them so),
  // and a stable sort keeps "last added wins" simple.
  const size_t n = entries_.size();
  for (size_t i = 1; i < n; ++i) {
    for (size_t j = i; j > 0 && Name(entries_[j]) < Name(entries_[j - 1]); --j) {
      std::swap(entries_[j], entries_[j - 1]);
    }
  }
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    bool superseded = i + 1 < n && Name(entries_[i + 1]) == Name(entries_[i]);
    if (superseded || entries_[i].value_size == 0) continue;
    entries_[out++] = entries_[i];
  }
  entries_.resize(out);
}

}  // namespace noisegate

#include "dedup/labels.h"

namespace noisegate {

void LabelSet::Set(std::string_view name, std::string_view value) {
  for (size_t i = 0; i < size_; ++i) {
    if (items_[i].name == name) {
      items_[i].value.assign(value);
      return;
    }
  }
  Add(name, value);
  Canonicalize();
}

void LabelSet::Canonicalize() {
  // Insertion sort: label sets are small, and a stable sort keeps "last added wins" simple.
  for (size_t i = 1; i < size_; ++i) {
    for (size_t j = i; j > 0 && items_[j].name < items_[j - 1].name; --j) {
      std::swap(items_[j], items_[j - 1]);
    }
  }
  size_t out = 0;
  for (size_t i = 0; i < size_; ++i) {
    bool superseded = i + 1 < size_ && items_[i + 1].name == items_[i].name;
    if (superseded || items_[i].value.empty()) continue;
    if (out != i) std::swap(items_[out], items_[i]);
    ++out;
  }
  size_ = out;
}

}  // namespace noisegate

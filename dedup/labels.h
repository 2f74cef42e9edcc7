// LabelSet: the name=value labels of one record, kept sorted by name after Canonicalize().
// Storage is reused between records (Clear keeps the strings' capacity), so a decoder that
// refills the same LabelSet allocates nothing in the steady state.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace noisegate {

struct Label {
  std::string name;
  std::string value;
};

class LabelSet {
 public:
  void Clear() { size_ = 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Label* begin() const { return items_.data(); }
  const Label* end() const { return items_.data() + size_; }
  const Label& operator[](size_t i) const { return items_[i]; }

  // Appends a label; a later Set of the same name replaces the value. Call Canonicalize()
  // after the last Add.
  void Add(std::string_view name, std::string_view value) {
    if (size_ == items_.size()) items_.emplace_back();
    Label& l = items_[size_++];
    l.name.assign(name);
    l.value.assign(value);
  }
  // Sets or replaces one label and keeps the set sorted.
  void Set(std::string_view name, std::string_view value);

  // Sorts by name; for duplicate names the last one added wins. Empty values are removed,
  // because a missing label and an empty one are the same (Alertmanager semantics).
  void Canonicalize();

  // The value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const {
    for (size_t i = 0; i < size_; ++i) {
      if (items_[i].name == name) return items_[i].value;
    }
    return {};
  }
  bool Has(std::string_view name) const {
    for (size_t i = 0; i < size_; ++i) {
      if (items_[i].name == name) return true;
    }
    return false;
  }

  bool operator==(const LabelSet& o) const {
    if (size_ != o.size_) return false;
    for (size_t i = 0; i < size_; ++i) {
      if (items_[i].name != o.items_[i].name || items_[i].value != o.items_[i].value) return false;
    }
    return true;
  }

 private:
  std::vector<Label> items_;
  size_t size_ = 0;
};

}  // namespace noisegate

// LabelSet: the name=value labels of one record, kept sorted by name after Canonicalize().
// Names and values live back to back in one text buffer, indexed by offsets, so adding a label
// is two appends rather than two string assignments, and copying a set copies two buffers.
// Storage is reused between records (Clear keeps the capacity), so a decoder that refills the
// same LabelSet allocates nothing in the steady state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace noisegate {

// One label, as views into the LabelSet it came from: valid until that set is next changed.
struct Label {
  std::string_view name;
  std::string_view value;
};

class LabelSet {
 private:
  struct Entry {
    uint32_t name_offset, name_size;
    uint32_t value_offset, value_size;
  };

 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Label;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Label;

    Iterator() = default;
    Label operator*() const { return set_->At(*entry_); }
    Iterator& operator++() {
      ++entry_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++entry_;
      return old;
    }
    bool operator==(const Iterator& o) const { return entry_ == o.entry_; }

   private:
    friend class LabelSet;
    Iterator(const LabelSet* set, const Entry* entry) : set_(set), entry_(entry) {}
    const LabelSet* set_ = nullptr;
    const Entry* entry_ = nullptr;
  };

  void Clear() {
    entries_.clear();
    text_.clear();
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Iterator begin() const { return Iterator(this, entries_.data()); }
  Iterator end() const { return Iterator(this, entries_.data() + entries_.size()); }
  Label operator[](size_t i) const { return At(entries_[i]); }

  // Appends a label (the views must not point into this set). Call Canonicalize() after the
  // last Add.
  void Add(std::string_view name, std::string_view value) {
    Entry& e = entries_.emplace_back();
    e.name_offset = static_cast<uint32_t>(text_.size());
    e.name_size = static_cast<uint32_t>(name.size());
    e.value_offset = e.name_offset + e.name_size;
    e.value_size = static_cast<uint32_t>(value.size());
    text_.append(name);
    text_.append(value);
  }
  // Sorts by name; for duplicate names the last one added wins. Empty values are removed,
  // because a missing label and an empty one are the same (Alertmanager semantics).
  void Canonicalize();

  // The value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const {
    for (const Entry& e : entries_) {
      if (Name(e) == name) return Value(e);
    }
    return {};
  }
  bool Has(std::string_view name) const {
    for (const Entry& e : entries_) {
      if (Name(e) == name) return true;
    }
    return false;
  }

  bool operator==(const LabelSet& o) const {
    if (size() != o.size()) return false;
    for (size_t i = 0; i < size(); ++i) {
      if (Name(entries_[i]) != o.Name(o.entries_[i]) ||
          Value(entries_[i]) != o.Value(o.entries_[i])) {
        return false;
      }
    }
    return true;
  }

 private:
  std::string_view Name(const Entry& e) const {
    return {text_.data() + e.name_offset, e.name_size};
  }
  std::string_view Value(const Entry& e) const {
    return {text_.data() + e.value_offset, e.value_size};
  }
  Label At(const Entry& e) const { return Label{Name(e), Value(e)}; }

  std::vector<Entry> entries_;
  std::string text_;  // names and values, in the order added
};

}  // namespace noisegate

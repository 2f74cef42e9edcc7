// Fingerprints: XXH3 (fixed seed) over a canonical encoding of a signal's identity: a kind
// byte, then the chosen labels sorted by name, each name and value length-prefixed. The
// encoding is order-independent and unambiguous; golden tests pin the hash values so they
// never change silently between versions (state and dedup keys depend on them).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/labels.h"
#include "dedup/record.h"
#include "dedup/types.h"

namespace noisegate::dedup {

inline constexpr uint64_t kFingerprintSeed = 0x6e6f69736567617aULL;  // "noisegaz"

// Builds canonical keys into a reused buffer, so computing a fingerprint allocates nothing.
class KeyBuilder {
 public:
  void Begin(SignalKind kind) {
    size_ = 0;
    Reserve(1);
    data_[size_++] = kind == SignalKind::kAlert ? 'A' : 'L';
  }
  // Appends one name/value pair. Callers append in name order (see AppendLabels).
  void Append(std::string_view name, std::string_view value);
  // Appends the labels named in `names` (any order; sorted here), or all labels when `names`
  // is empty. Missing and empty labels are left out: Alertmanager treats them as the same.
  void AppendLabels(const LabelSet& labels, const std::vector<std::string>& sorted_names);
  std::string_view key() const { return {data_.get(), size_}; }
  Fingerprint Hash() const;
  // An independent second hash of the same key, to tell fingerprint collisions apart.
  uint64_t Verify() const;

 private:
  // Makes room for `more` bytes after the key so far (kept between keys: no allocation in the
  // steady state, and unlike std::string no zero-fill of the room).
  void Reserve(size_t more);

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

Fingerprint HashKey(std::string_view canonical_key);

}  // namespace noisegate::dedup

// Fingerprints: XXH3 (fixed seed) over a canonical encoding of a signal's identity: a kind
// byte, then the chosen labels sorted by name, each name and value length-prefixed. The
// encoding is order-independent and unambiguous; golden tests pin the hash values so they
// never change silently between versions (state and dedup keys depend on them).
#pragma once

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
    buf_.clear();
    buf_.push_back(kind == SignalKind::kAlert ? 'A' : 'L');
  }
  // Appends one name/value pair. Callers append in name order (see AppendLabels).
  void Append(std::string_view name, std::string_view value);
  // Appends the labels named in `names` (any order; sorted here), or all labels when `names`
  // is empty. Missing and empty labels are left out: Alertmanager treats them as the same.
  void AppendLabels(const LabelSet& labels, const std::vector<std::string>& sorted_names);
  const std::string& key() const { return buf_; }
  Fingerprint Hash() const;
  // An independent second hash of the same key, to tell fingerprint collisions apart.
  uint64_t Verify() const;

 private:
  std::string buf_;
};

Fingerprint HashKey(std::string_view canonical_key);

}  // namespace noisegate::dedup

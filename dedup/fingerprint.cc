#include "dedup/fingerprint.h"

#include <xxhash.h>

namespace noisegate::dedup {
namespace {

void AppendVarint(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

}  // namespace

void KeyBuilder::Append(std::string_view name, std::string_view value) {
  AppendVarint(buf_, name.size());
  buf_.append(name);
  AppendVarint(buf_, value.size());
  buf_.append(value);
}

void KeyBuilder::AppendLabels(const LabelSet& labels, const std::vector<std::string>& names) {
  if (names.empty()) {
    for (const Label& l : labels) Append(l.name, l.value);  // LabelSet is sorted by name
    return;
  }
  for (const std::string& n : names) {  // the rules loader keeps these sorted and unique
    std::string_view v = labels.Get(n);
    if (!v.empty()) Append(n, v);
  }
}

Fingerprint HashKey(std::string_view key) {
  return Fingerprint{XXH3_64bits_withSeed(key.data(), key.size(), kFingerprintSeed)};
}

Fingerprint KeyBuilder::Hash() const { return HashKey(buf_); }

uint64_t KeyBuilder::Verify() const {
  return XXH3_64bits_withSeed(buf_.data(), buf_.size(), ~kFingerprintSeed);
}

}  // namespace noisegate::dedup

// FingerprintIndex: maps fingerprints to state slots. Equal hashes of different identities
// (a 64-bit collision) are kept apart by comparing the canonical keys, so a collision can
// never merge two alerts.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace noisegate::dedup {

class FingerprintIndex {
 public:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  // Returns (slot, inserted). A new identity gets the next slot number (0, 1, 2 ...).
  std::pair<uint32_t, bool> FindOrInsert(uint64_t fp, std::string_view key) {
    auto [it, inserted] = first_.try_emplace(fp, static_cast<uint32_t>(keys_.size()));
    uint32_t slot = it->second;
    if (!inserted) {
      while (true) {
        if (keys_[slot] == key) return {slot, false};
        if (next_[slot] == kNoSlot) break;
        slot = next_[slot];
      }
      next_[slot] = static_cast<uint32_t>(keys_.size());
    }
    keys_.emplace_back(key);
    next_.push_back(kNoSlot);
    return {static_cast<uint32_t>(keys_.size() - 1), true};
  }
  size_t size() const { return keys_.size(); }
  const std::string& key(uint32_t slot) const { return keys_[slot]; }
  // Bytes held per identity, for the memory benchmark.
  size_t MemoryBytes() const {
    size_t bytes = first_.capacity() * (sizeof(uint64_t) + sizeof(uint32_t) + 1) +
                   keys_.capacity() * sizeof(std::string) + next_.capacity() * sizeof(uint32_t);
    for (const std::string& k : keys_) bytes += k.capacity() > 15 ? k.capacity() + 1 : 0;
    return bytes;
  }

 private:
  absl::flat_hash_map<uint64_t, uint32_t> first_;  // fingerprint -> first slot
  std::vector<std::string> keys_;                  // canonical key per slot
  std::vector<uint32_t> next_;                     // collision chain
};

}  // namespace noisegate::dedup

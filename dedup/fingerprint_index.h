// FingerprintIndex: maps fingerprints to state slots. Two different identities with equal
// 64-bit fingerprints are kept apart by a second, independent 64-bit hash of the canonical key
// (together a 128-bit identity), so a fingerprint collision does not merge two alerts. Keeping
// the hash instead of the key itself is what holds the state near 100 bytes per fingerprint
// (a kube-prometheus alert's canonical key alone is about 250 bytes).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace noisegate::dedup {

class FingerprintIndex {
 public:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  // Returns (slot, inserted). A new identity gets the next slot number (0, 1, 2 ...).
  std::pair<uint32_t, bool> FindOrInsert(uint64_t fp, uint64_t verify) {
    auto [it, inserted] = first_.try_emplace(fp, static_cast<uint32_t>(verify_.size()));
    uint32_t slot = it->second;
    if (!inserted) {
      while (true) {
        if (verify_[slot] == verify) return {slot, false};
        if (next_[slot] == kNoSlot) break;
        slot = next_[slot];
      }
      next_[slot] = static_cast<uint32_t>(verify_.size());
    }
    verify_.push_back(verify);
    next_.push_back(kNoSlot);
    return {static_cast<uint32_t>(verify_.size() - 1), true};
  }
  // The slot of (fp, verify), or kNoSlot.
  uint32_t Find(uint64_t fp, uint64_t verify) const {
    auto it = first_.find(fp);
    if (it == first_.end()) return kNoSlot;
    for (uint32_t slot = it->second; slot != kNoSlot; slot = next_[slot]) {
      if (verify_[slot] == verify) return slot;
    }
    return kNoSlot;
  }
  size_t size() const { return verify_.size(); }

  // Checkpoint support (dedup/snapshot.cc): visits (verify, next) per slot in slot order ...
  template <typename F>
  void ForEachSlot(F&& f) const {
    for (size_t i = 0; i < verify_.size(); ++i) f(verify_[i], next_[i]);
  }
  // ... and rebuilds the index from them and each slot's fingerprint (`states[i].fp`).
  template <typename States>
  void Restore(const States& states, const std::vector<std::pair<uint64_t, uint32_t>>& slots) {
    first_.clear();
    verify_.clear();
    next_.clear();
    std::vector<bool> chained(slots.size(), false);
    for (const auto& [verify, next] : slots) {
      if (next != kNoSlot) chained[next] = true;
    }
    for (size_t i = 0; i < slots.size(); ++i) {
      verify_.push_back(slots[i].first);
      next_.push_back(slots[i].second);
      if (!chained[i]) first_.emplace(states[i].fp, static_cast<uint32_t>(i));
    }
  }

 private:
  absl::flat_hash_map<uint64_t, uint32_t> first_;  // fingerprint -> first slot
  std::vector<uint64_t> verify_;                   // second hash per slot
  std::vector<uint32_t> next_;                     // collision chain
};

}  // namespace noisegate::dedup

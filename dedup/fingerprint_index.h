// FingerprintIndex: maps fingerprints to state slots. Two different identities with equal
// 64-bit fingerprints are kept apart by a second, independent 64-bit hash of the canonical key
// (together a 128-bit identity), so a fingerprint collision does not merge two alerts. Keeping
// the hash instead of the key itself is what holds the state near 100 bytes per fingerprint
// (a kube-prometheus alert's canonical key alone is about 250 bytes).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace noisegate::dedup {

class FingerprintIndex {
 public:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  // Returns (slot, inserted). A new identity gets the lowest free slot, or the next slot
  // number (0, 1, 2 ...) when none is free. "Lowest" makes the slot a function of the set of
  // live slots, not of the order they were freed in: timers tie-break by slot, so a restored
  // engine must hand out the same slots as one that never stopped.
  std::pair<uint32_t, bool> FindOrInsert(uint64_t fp, uint64_t verify) {
    auto [it, inserted] = first_.try_emplace(fp, kNoSlot);
    uint32_t tail = kNoSlot;
    if (!inserted) {
      for (uint32_t slot = it->second;; slot = next_[slot]) {
        if (verify_[slot] == verify) return {slot, false};
        if (next_[slot] == kNoSlot) {
          tail = slot;
          break;
        }
      }
    }
    uint32_t slot;
    if (!free_.empty()) {
      std::pop_heap(free_.begin(), free_.end(), std::greater<>());
      slot = free_.back();
      free_.pop_back();
      verify_[slot] = verify;
      next_[slot] = kNoSlot;
    } else {
      slot = static_cast<uint32_t>(verify_.size());
      verify_.push_back(verify);
      next_.push_back(kNoSlot);
    }
    if (inserted) {
      it->second = slot;
    } else {
      next_[tail] = slot;
    }
    return {slot, true};
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
  // Calls f(slot) for every identity whose fingerprint is `fp` (one, but for collisions).
  template <typename F>
  void ForEach(uint64_t fp, F&& f) const {
    auto it = first_.find(fp);
    if (it == first_.end()) return;
    for (uint32_t slot = it->second; slot != kNoSlot; slot = next_[slot]) f(slot);
  }
  // Forgets the identity in `slot` (whose fingerprint is `fp`); the slot is reused.
  void Erase(uint64_t fp, uint32_t slot) {
    auto it = first_.find(fp);
    if (it == first_.end()) return;
    if (it->second == slot) {
      if (next_[slot] == kNoSlot) {
        first_.erase(it);
      } else {
        it->second = next_[slot];
      }
    } else {
      uint32_t prev = it->second;
      while (prev != kNoSlot && next_[prev] != slot) prev = next_[prev];
      if (prev == kNoSlot) return;
      next_[prev] = next_[slot];
    }
    next_[slot] = kNoSlot;
    verify_[slot] = 0;
    free_.push_back(slot);
    std::push_heap(free_.begin(), free_.end(), std::greater<>());
  }
  // The second hash of the identity in `slot`.
  uint64_t verify(uint32_t slot) const { return verify_[slot]; }
  // Slots handed out so far (live and free).
  size_t size() const { return verify_.size(); }
  // Identities held now.
  size_t live() const { return verify_.size() - free_.size(); }

  // Checkpoint support (dedup/snapshot.cc): visits (verify, next) per slot in slot order ...
  template <typename F>
  void ForEachSlot(F&& f) const {
    for (size_t i = 0; i < verify_.size(); ++i) f(verify_[i], next_[i]);
  }
  // ... and rebuilds the index from them and each slot's fingerprint (`states[i].fp`);
  // `is_free(i)` says which slots hold no identity.
  template <typename States, typename IsFree>
  void Restore(const States& states, const std::vector<std::pair<uint64_t, uint32_t>>& slots,
               IsFree&& is_free) {
    first_.clear();
    verify_.clear();
    next_.clear();
    free_.clear();
    std::vector<bool> chained(slots.size(), false);
    for (const auto& [verify, next] : slots) {
      if (next != kNoSlot && next < slots.size()) chained[next] = true;
    }
    for (size_t i = 0; i < slots.size(); ++i) {
      verify_.push_back(slots[i].first);
      next_.push_back(slots[i].second);
      if (is_free(i)) {
        next_.back() = kNoSlot;
        free_.push_back(static_cast<uint32_t>(i));
      } else if (!chained[i]) {
        first_.emplace(states[i].fp, static_cast<uint32_t>(i));
      }
    }
    std::make_heap(free_.begin(), free_.end(), std::greater<>());
  }

 private:
  absl::flat_hash_map<uint64_t, uint32_t> first_;  // fingerprint -> first slot
  std::vector<uint64_t> verify_;                   // second hash per slot
  std::vector<uint32_t> next_;                     // collision chain
  std::vector<uint32_t> free_;                     // min-heap of free slots
};

}  // namespace noisegate::dedup

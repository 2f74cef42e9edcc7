// Internal state types of the Engine: per-fingerprint state and log rate counters. Kept out
// of engine.h so that the public header stays about the contract, not the layout.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

#include "dedup/engine.h"

namespace noisegate::dedup {

inline constexpr uint32_t kNone = UINT32_MAX;
// FpState::member of a slot that holds no fingerprint (expired, waiting for reuse).
inline constexpr int32_t kFreeMember = -2;
inline constexpr int kMaxFlapChanges = rules::kMaxFlappingChanges;

// The key of an inhibit rule's `equal` labels (seeded with the rule's identity): a source and
// a target with the same key are alike in every equal label (engine_muting.cc).
uint64_t InhibitEqualHash(uint64_t seed, const std::vector<std::string>& equal,
                          const rules::LabelSource& labels);

struct Engine::FpState {
  uint64_t fp = 0;
  uint32_t incident = kNone;  // incident slot
  uint32_t incident_generation = 0;
  int32_t member = -1;  // index in the incident's members
  uint32_t log_rate = kNone;
  uint32_t generation = 0;  // bumps when the slot's timer is re-armed
  SignalKind kind = SignalKind::kAlert;
  bool firing = false;  // alerts: firing; logs: surging (active)
  bool flapping = false;
  uint8_t nchanges = 0;  // state changes seen (saturating); history beyond the last change
                         // lives in Engine::flap_history_, only for fingerprints that change
  EventTime last_seen, last_change;
  EventTime timer_at = kMaxTime;

  bool free() const { return member == kFreeMember; }
};
// One per fingerprint active or recently active (expired ones leave a free slot that the next
// new fingerprint takes): the fields are ordered so that none pads.
static_assert(sizeof(Engine::FpState) == 56);

// Recent state-change times of a fingerprint that changed more than once.
struct Engine::FlapHistory {
  std::array<int64_t, kMaxFlapChanges> changes{};  // ring, ms
  uint8_t head = 0;                                // next slot to write
  uint8_t count = 0;                               // filled slots (at most kMaxFlapChanges)
  void Push(int64_t ms) {
    changes[head] = ms;
    head = static_cast<uint8_t>((head + 1) % kMaxFlapChanges);
    count = static_cast<uint8_t>(std::min<int>(count + 1, kMaxFlapChanges));
  }
};

// Per log signal: counts over the last `within` in four sub-buckets, and an exponentially
// weighted baseline of the count per sub-bucket over `baseline_window`.
//
// For a signal first seen during warm-up the baseline is bias-corrected: `weight` is the same
// average taken over ones, so baseline / weight is its mean rate over what it has shown so far
// even when that is much less than `baseline_window` (a steady error has its full rate as
// baseline at the end of a short warm-up, not a fraction of it). A signal first seen after
// warm-up starts with weight 1: its baseline grows from zero. While the signal surges, the
// baseline learns nothing, so a long surge does not become its own baseline.
struct Engine::LogRate {
  int64_t bucket = INT64_MIN;  // absolute index of the newest sub-bucket
  std::array<uint32_t, 4> counts{};
  double baseline = 0;  // EWMA of counts per sub-bucket
  double weight = 0;    // EWMA of 1 per sub-bucket folded (1 - (1 - alpha)^folded)
  // While surging: the last time the rate was at or above the surge threshold. The signal
  // ends `quiet_for` after it.
  EventTime last_above;

  // Moves to the sub-bucket of `b`, folding the ones that leave the window into the baseline
  // (`learn`), or dropping them (while surging).
  void Advance(int64_t b, double alpha, bool learn) {
    if (bucket == INT64_MIN) {
      bucket = b;
      return;
    }
    if (b <= bucket) return;
    int64_t steps = b - bucket;
    int64_t fold = std::min<int64_t>(steps, 4);
    for (int64_t k = 1; k <= fold; ++k) {
      uint32_t& c = counts[static_cast<size_t>(((bucket + k) % 4 + 4) % 4)];
      if (learn) {
        baseline = baseline * (1 - alpha) + c * alpha;
        weight = weight * (1 - alpha) + alpha;
      }
      c = 0;
    }
    if (learn && steps > 4) {
      double keep = std::pow(1 - alpha, static_cast<double>(steps - 4));
      baseline *= keep;
      weight = 1 - (1 - weight) * keep;
    }
    bucket = b;
  }
  uint32_t Recent() const { return counts[0] + counts[1] + counts[2] + counts[3]; }
  // The mean count per sub-bucket learned so far (0 before anything left the window).
  double Baseline() const { return weight > 0 ? baseline / weight : 0; }
};

inline Engine::FpState& Engine::Fp(uint32_t slot) {
  if (tracking_) changed_fps_.Mark(slot);
  return fps_[slot];
}

inline Incident& Engine::Inc(uint32_t slot) {
  if (tracking_) changed_incidents_.Mark(slot);
  return incidents_[slot];
}

// (Here, not in engine_timers.cc: it is on the path of every alert record.)
inline void Engine::Schedule(TimerKind kind, uint32_t slot, EventTime at) {
  if (kind == TimerKind::kIncident) {
    Incident& inc = Inc(slot);
    if (at >= inc.scheduled) return;
    inc.scheduled = at;
    timers_.push(Timer{at, kind, slot, inc.generation});
    return;
  }
  FpState& st = Fp(slot);
  if (st.timer_at <= at && st.timer_at > watermark_) return;
  st.timer_at = at;
  timers_.push(Timer{at, kind, slot, ++st.generation});
}

}  // namespace noisegate::dedup

// Per-entry checkpoints: the engine's state as one value per fingerprint slot, one per incident
// slot and one of globals, so that the live driver's compacted changelog holds one key per
// entry and a commit writes only the entries that changed (Kafka Streams' changelog model).
// See Engine::TrackChanges in engine.h.
#include <algorithm>

#include "dedup/codec.h"
#include "dedup/engine.h"
#include "dedup/engine_state.h"
#include "dedup/state_codec.h"

namespace noisegate::dedup {
namespace {

constexpr uint64_t kGlobalsMagic = 0x3173656972746e65;  // "entries1"
// Version 2: the identity in the globals carries the log identity; version 3 a digest of
// page.when; version 4 the same layout, with log signals that may be inhibition sources (a
// build that reads at most 3 would never remove them); version 5 adds the runtime silences at
// the end. Versions 1 to 4 are still read.
constexpr uint32_t kEntriesVersion = 5;
// Version 2: the log rate carries its bias weight and when it was last at the surge threshold
// (version 1 is still read).
constexpr uint8_t kFpEntryVersion = 2;
// Version 2: members carry the page.when clauses they match; version 3: the incident carries
// the places where its signals began; version 4: a member that fired again carries when
// (versions 1 to 3 are still read); version 5: detailed members may carry runbook and image
// links and routing labels, an incident its routing key (flag bits a build that reads at most 4
// would not know).
constexpr uint8_t kIncidentEntryVersion = 5;

}  // namespace

std::vector<uint32_t> Engine::ChangeSet::Take() {
  std::vector<uint32_t> out;
  out.swap(list_);
  std::sort(out.begin(), out.end());
  for (uint32_t slot : out) bits_[slot / 64] &= ~(uint64_t{1} << (slot % 64));
  return out;
}

void Engine::TrackChanges(bool all) {
  tracking_ = true;
  if (!all) return;
  for (uint32_t slot = 0; slot < fps_.size(); ++slot) {
    if (!fps_[slot].free()) changed_fps_.Mark(slot);
  }
  for (uint32_t slot = 0; slot < incidents_.size(); ++slot) changed_incidents_.Mark(slot);
}

void Engine::SaveChanges(const PutEntry& put, const EraseEntry& erase, std::string* globals) {
  std::string bytes;
  for (uint32_t slot : changed_fps_.Take()) {
    const FpState& st = fps_[slot];
    if (st.free()) {
      erase(EntryKind::kFingerprint, slot);
      continue;
    }
    // The fingerprint with everything keyed by its slot: its index entry, flap history, log
    // rate (by value: indexes into log_rates_ are renumbered on load) and held record.
    bytes.clear();
    Writer w(&bytes);
    w.U8(kFpEntryVersion);
    FpState fields = st;
    if (fields.log_rate != kNone) fields.log_rate = 0;  // the index is the loader's to choose
    state_codec::PutFpFields(fields, w);
    w.U64(fp_index_.verify(slot));
    auto flap = flap_history_.find(slot);
    w.Bool(flap != flap_history_.end());
    if (flap != flap_history_.end()) state_codec::PutFlapHistory(flap->second, w);
    w.Bool(st.log_rate != kNone);
    if (st.log_rate != kNone) state_codec::PutLogRate(log_rates_[st.log_rate], w);
    auto held = held_.find(slot);
    w.Bool(held != held_.end());
    if (held != held_.end()) EncodeRecord(held->second, w);
    put(EntryKind::kFingerprint, slot, bytes);
  }
  for (uint32_t slot : changed_incidents_.Take()) {
    bytes.clear();
    Writer w(&bytes);
    w.U8(kIncidentEntryVersion);
    state_codec::PutIncident(incidents_[slot], w);
    put(EntryKind::kIncident, slot, bytes);
  }
  globals->clear();
  Writer w(globals);
  w.U64(kGlobalsMagic);
  w.Var(kEntriesVersion);
  SaveIdentity(w);
  // How many entries there are, so that a restore notices a changelog that lost some.
  w.Var(fps_.size());
  w.Var(fp_index_.live());
  w.Var(incidents_.size());
  SaveOpenIndexes(w);
  SaveVersionsAndTraces(w);
  SaveSilences(w);
}

Status Engine::LoadEntries(const Entries& entries) {
  auto corrupt = [](std::string what) {
    return MakeError(ErrorCode::kParse, "engine state entries: " + std::move(what));
  };
  Reader rd(entries.globals);
  if (rd.U64() != kGlobalsMagic) return corrupt("the globals are not noisegate's");
  const uint64_t version = rd.Var();
  if (version < 1 || version > kEntriesVersion) {
    return corrupt("format version " + std::to_string(version) + ", this build reads 1 to " +
                   std::to_string(kEntriesVersion));
  }
  RuleRemap remap;
  // Identity and open indexes are laid out as in a whole-state checkpoint of format 3
  // (entries 1), 4 (entries 2) or 5 (entries 3 to 5: 4 differs only in what it may hold, 5
  // adds the runtime silences).
  const uint64_t snapshot_semantics = version <= 3 ? version + 2 : 5;
  if (Status st = LoadIdentity(rd, snapshot_semantics, &remap); !st) return st;
  const uint64_t nslots = rd.Var();
  const uint64_t live = rd.Var();
  const uint64_t nincidents = rd.Var();
  if (!rd.ok()) return corrupt("the globals are cut short");
  if (live != entries.fingerprints.size()) {
    return corrupt(std::to_string(entries.fingerprints.size()) + " fingerprint entries, " +
                   std::to_string(live) +
                   " expected (the changelog lost some, or is not "
                   "compacted but deleted by time)");
  }
  if (nincidents != entries.incidents.size()) {
    return corrupt(std::to_string(entries.incidents.size()) + " incident entries, " +
                   std::to_string(nincidents) + " expected");
  }
  if (live > nslots || nslots > UINT32_MAX) return corrupt("more fingerprints than slots");
  LoadOpenIndexes(rd, nincidents, nslots);
  LoadVersionsAndTraces(rd, snapshot_semantics);
  if (version >= 5) LoadSilences(rd);
  if (!rd.ok()) return corrupt("the globals are corrupt");
  if (!rd.done()) return corrupt("trailing bytes in the globals");

  // Fingerprints: every slot starts free; the entries fill theirs.
  fps_.resize(nslots);
  for (FpState& st : fps_) st.member = kFreeMember;
  std::vector<std::pair<uint64_t, uint32_t>> index(nslots, {0, FingerprintIndex::kNoSlot});
  std::vector<bool> filled(nslots, false);
  for (const auto& [slot, value] : entries.fingerprints) {
    if (slot >= nslots || filled[slot]) return corrupt("fingerprint slot out of range or twice");
    filled[slot] = true;
    Reader e(value);
    const uint8_t entry_version = e.U8();
    if (entry_version < 1 || entry_version > kFpEntryVersion) {
      return corrupt("unknown fingerprint entry version");
    }
    FpState& st = fps_[slot];
    state_codec::GetFpFields(e, &st);
    index[slot].first = e.U64();
    if (e.Bool()) state_codec::GetFlapHistory(e, &flap_history_[slot]);
    if (e.Bool()) {
      st.log_rate = static_cast<uint32_t>(log_rates_.size());
      LogRate& rate = log_rates_.emplace_back();
      state_codec::GetLogRate(e, &rate, entry_version >= 2);
      if (entry_version < 2) rate.last_above = st.last_seen;
    } else {
      st.log_rate = kNone;
    }
    if (e.Bool() && !DecodeRecord(e, &held_[slot])) e.Fail();
    if (!e.ok() || !e.done() || st.free()) {
      return corrupt("fingerprint entry " + std::to_string(slot) + " is corrupt");
    }
  }
  // Collision chains in slot order (which of two colliding identities is found first does
  // not matter: they are told apart by the second hash).
  absl::flat_hash_map<uint64_t, uint32_t> last_of;
  last_of.reserve(live);
  for (uint32_t slot = 0; slot < nslots; ++slot) {
    if (!filled[slot]) continue;
    auto [it, inserted] = last_of.try_emplace(fps_[slot].fp, slot);
    if (!inserted) {
      index[it->second].second = slot;
      it->second = slot;
    }
  }
  fp_index_.Restore(fps_, index, [&](size_t i) { return !filled[i]; });

  incidents_.resize(nincidents);
  std::vector<bool> have(nincidents, false);
  for (const auto& [slot, value] : entries.incidents) {
    if (slot >= nincidents || have[slot]) return corrupt("incident slot out of range or twice");
    have[slot] = true;
    Reader e(value);
    const uint8_t entry_version = e.U8();
    if (entry_version < 1 || entry_version > kIncidentEntryVersion) {
      return corrupt("unknown incident entry version");
    }
    Incident& inc = incidents_[slot];
    state_codec::GetIncident(e, &inc);
    if (inc.rule >= static_cast<int>(remap.correlate.size())) e.Fail();
    if (!e.ok() || !e.done())
      return corrupt("incident entry " + std::to_string(slot) + " is corrupt");
  }
  // Timers: each entry says when its own is due; the one it says is the only live one.
  for (uint32_t slot = 0; slot < nslots; ++slot) {
    const FpState& st = fps_[slot];
    if (filled[slot] && st.timer_at != kMaxTime) {
      timers_.push(Timer{st.timer_at, TimerKind::kFingerprint, slot, st.generation});
    }
  }
  for (uint32_t slot = 0; slot < nincidents; ++slot) {
    const Incident& inc = incidents_[slot];
    if (inc.state != IncidentState::kClosed && inc.scheduled != kMaxTime) {
      timers_.push(Timer{inc.scheduled, TimerKind::kIncident, slot, inc.generation});
    }
  }
  tracking_ = true;
  return FinishLoad(remap, snapshot_semantics);
}

}  // namespace noisegate::dedup

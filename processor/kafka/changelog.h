// The changelog of correlate partitions, on the compacted changelog topic, in the same
// partition number as the repartition partition it checkpoints. Kafka Streams' model: one key
// per entry of the engine's state (dedup::Engine::SaveChanges), so that a commit writes only
// the entries that changed, a fingerprint that expires leaves a tombstone, and compaction keeps
// the newest value of each key:
//   "<p>/g"         the globals: generation, the offset the state covers, the engine's globals
//                   and the merger's marks; written by every checkpoint (in chunks "<p>/g/<i>"
//                   when larger than a message may be)
//   "<p>/f/<slot>"  a fingerprint slot's entry (a tombstone once it expired)
//   "<p>/i/<slot>"  an incident slot's entry
//   "<p>/m/<slot>"  a record the merger holds back in that slot (a tombstone once released)
// An entry larger than a message may be (an incident of many members, long summaries) goes in
// parts "<entry key>/<n>" under a header at the entry's key.
// Everything of a checkpoint is in the one transaction that also commits the input offsets it
// covers, so a read_committed reader sees whole checkpoints only.
//
// noisegate before per-entry checkpoints wrote each checkpoint whole, in chunks "<p>/<n>" under
// a manifest "<p>". Those are still read; the first checkpoint after such a restore writes every
// entry and tombstones the old keys.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/engine.h"
#include "dedup/result.h"

namespace noisegate::processor {

inline constexpr size_t kChangelogChunkBytes = 512 * 1024;

struct ChangelogMessage {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone (deletes the key on compaction)
};

std::string GlobalsKey(int32_t partition);
std::string EntryKey(int32_t partition, dedup::Engine::EntryKind kind, uint32_t slot);
std::string MergerEntryKey(int32_t partition, uint32_t slot);

// Appends the messages that put `value` under the entry key `key`: the value whole, or in parts
// when larger than `chunk_bytes`; parts the key had before (`previous_parts`) beyond the new
// count get tombstones. Returns the part count (0: whole).
uint32_t EncodeEntry(const std::string& key, std::string_view value, uint32_t previous_parts,
                     std::vector<ChangelogMessage>* out, size_t chunk_bytes = kChangelogChunkBytes);
// Appends the tombstones of an entry and of its parts.
void EraseEntry(const std::string& key, uint32_t previous_parts,
                std::vector<ChangelogMessage>* out);

// Appends the messages of a checkpoint's globals: the generation and payload under GlobalsKey,
// or, when the payload is larger than `chunk_bytes` (a merger holding a large backlog), in
// chunks "<p>/g/<i>" under a manifest there; chunks of the previous globals beyond the new
// count get tombstones. Returns the chunk count (0: inline).
uint32_t EncodeGlobals(int32_t partition, uint64_t generation, std::string_view payload,
                       uint32_t previous_chunks, std::vector<ChangelogMessage>* out,
                       size_t chunk_bytes = kChangelogChunkBytes);

// Rebuilds the newest checkpoint of one partition from its changelog, read in offset order.
class ChangelogReader {
 public:
  explicit ChangelogReader(int32_t partition)
      : partition_(partition), prefix_(std::to_string(partition) + "/") {}
  // One changelog message; `value` null for a tombstone. Keys of other partitions are
  // counted and ignored.
  void Add(std::string_view key, const std::string_view* value);

  struct Checkpoint {
    uint64_t generation = 0;
    // Per-entry: `payload` is the globals' payload, `fingerprints`, `incidents` and `buffered`
    // (the merger's records) the newest value of each entry by slot (views into the reader, or
    // into `assembled` for entries that were in parts). Whole (written before per-entry
    // checkpoints): `payload` is the whole checkpoint.
    bool per_entry = false;
    std::string payload;
    std::vector<std::pair<uint32_t, std::string_view>> fingerprints, incidents, buffered;
    std::deque<std::string> assembled;  // a deque: moving it keeps the views valid
  };
  // The checkpoint of what was read so far: the per-entry one if there is one, else the whole
  // one (`whole`: the whole one even if there are entries); nullopt when the changelog holds
  // none; an error when it is incomplete or does not match its manifest. Reading on and
  // calling it again is fine.
  Result<std::optional<Checkpoint>> Finish(bool whole = false) const;
  // Whether a whole checkpoint's manifest is held (besides entries: a noisegate from before
  // per-entry checkpoints wrote one after them, in a rolling upgrade or a rollback).
  bool has_whole() const { return manifest_.has_value(); }
  // Every key of this partition the changelog holds now (before Finish): what a checkpoint
  // that does not take them over (one after a whole checkpoint, or after a failed restore)
  // must delete.
  std::vector<std::string> HeldKeys() const;
  uint64_t foreign_keys() const { return foreign_; }
  // Entry keys held in parts now, with their part counts (what the next put or delete of
  // that entry must delete beyond its own parts).
  std::map<std::string, uint32_t> EntryParts() const;
  // Chunks of the globals held now (what the next globals must delete beyond their own).
  uint32_t globals_chunks() const {
    return globals_chunks_.empty() ? 0 : globals_chunks_.rbegin()->first + 1;
  }
  size_t messages() const { return messages_; }

 private:
  int32_t partition_;
  std::string prefix_;  // "<p>/"
  std::optional<std::string> manifest_, globals_;
  std::map<uint32_t, std::string> chunks_, globals_chunks_;
  // Entries by kind (see kEntryKinds in changelog.cc) and slot.
  absl::flat_hash_map<uint32_t, std::string> entries_[3];
  // Parts of entries, by kind and slot, then part number.
  std::map<std::pair<int, uint32_t>, std::map<uint32_t, std::string>> parts_;
  uint64_t foreign_ = 0;
  size_t messages_ = 0;
};

}  // namespace noisegate::processor

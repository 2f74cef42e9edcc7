// The changelog of correlate partitions: each checkpoint of one partition's engine state goes
// to the compacted changelog topic, in the same partition number, as chunks under keys
// "<p>/<i>" and a manifest under "<p>" naming the generation, chunk count, size and hash. All
// of a checkpoint is written in the one transaction that also commits the input offsets it
// covers, so a read_committed reader sees whole checkpoints only; compaction keeps the newest
// value per key, which is the newest checkpoint. Chunks keep messages under the broker's
// message.max.bytes whatever the state size.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/result.h"

namespace noisegate::processor {

struct ChangelogMessage {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone (deletes the key on compaction)
};

inline constexpr size_t kChangelogChunkBytes = 512 * 1024;

// Appends the messages of one checkpoint. `previous_chunks` is the chunk count of the last
// checkpoint of this partition: keys it used beyond the new count get tombstones.
void EncodeCheckpoint(int32_t partition, uint64_t generation, std::string_view state,
                      uint32_t previous_chunks, std::vector<ChangelogMessage>* out,
                      size_t chunk_bytes = kChangelogChunkBytes);

// Rebuilds the newest checkpoint of one partition from its changelog, read in offset order.
class CheckpointAssembler {
 public:
  explicit CheckpointAssembler(int32_t partition) : partition_(partition) {}
  // One changelog message; `value` null for a tombstone. Keys of other partitions are
  // counted and ignored.
  void Add(std::string_view key, const std::string_view* value);
  struct Checkpoint {
    uint64_t generation = 0;
    uint32_t chunks = 0;
    std::string state;
  };
  // The newest whole checkpoint; nullopt when the changelog holds none; an error when it is
  // incomplete or does not match its manifest's size and hash.
  Result<std::optional<Checkpoint>> Finish();
  uint64_t foreign_keys() const { return foreign_; }

 private:
  int32_t partition_;
  std::optional<std::string> manifest_;
  std::map<uint32_t, std::string> chunks_;
  uint64_t foreign_ = 0;
};

}  // namespace noisegate::processor

// The changelog format of noisegate before per-entry checkpoints (checkpoint versions 1 and
// 2), written by tests that prove it is still read: each checkpoint whole, in chunks "<p>/<i>"
// under a manifest "<p>".
#pragma once

#include <xxhash.h>

#include <string>
#include <string_view>
#include <vector>

#include "dedup/codec.h"
#include "processor/kafka/changelog.h"

namespace noisegate::processor {

// What noisegate wrote before per-entry checkpoints (up to format 2): the whole checkpoint in
// chunks "<p>/<i>" and a manifest "<p>"; `previous_chunks` of the last one get tombstones.
inline void EncodeCheckpoint(int32_t partition, uint64_t generation, std::string_view state,
                             uint32_t previous_chunks, std::vector<ChangelogMessage>* out,
                             size_t chunk_bytes = 512 * 1024) {
  uint32_t chunks = 0;
  for (size_t pos = 0; pos < state.size() || chunks == 0; pos += chunk_bytes) {
    std::string value;
    dedup::Writer w(&value);
    w.U8('C');
    w.U64(generation);
    w.Var(chunks);
    value.append(state.substr(pos, chunk_bytes));
    out->push_back({std::to_string(partition) + "/" + std::to_string(chunks), std::move(value)});
    ++chunks;
    if (state.empty()) break;
  }
  for (uint32_t i = chunks; i < previous_chunks; ++i) {
    out->push_back({std::to_string(partition) + "/" + std::to_string(i), std::nullopt});
  }
  std::string manifest;
  dedup::Writer w(&manifest);
  w.U8('M');
  w.U64(generation);
  w.Var(chunks);
  w.Var(state.size());
  w.U64(XXH3_64bits(state.data(), state.size()));
  out->push_back({std::to_string(partition), std::move(manifest)});
}

}  // namespace noisegate::processor

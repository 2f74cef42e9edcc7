#include "processor/kafka/changelog.h"

#include <xxhash.h>

#include "dedup/codec.h"

namespace noisegate::processor {
namespace {

constexpr uint8_t kChunkTag = 'C';
constexpr uint8_t kManifestTag = 'M';

std::string ManifestKey(int32_t p) { return std::to_string(p); }
size_t VarLen(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

std::string ChunkKey(int32_t p, uint32_t i) { return std::to_string(p) + "/" + std::to_string(i); }

}  // namespace

void EncodeCheckpoint(int32_t partition, uint64_t generation, std::string_view state,
                      uint32_t previous_chunks, std::vector<ChangelogMessage>* out,
                      size_t chunk_bytes) {
  uint32_t chunks = 0;
  for (size_t pos = 0; pos < state.size() || chunks == 0; pos += chunk_bytes) {
    std::string value;
    dedup::Writer w(&value);
    w.U8(kChunkTag);
    w.U64(generation);
    w.Var(chunks);
    value.append(state.substr(pos, chunk_bytes));
    out->push_back(ChangelogMessage{ChunkKey(partition, chunks), std::move(value)});
    ++chunks;
    if (state.empty()) break;
  }
  for (uint32_t i = chunks; i < previous_chunks; ++i) {
    out->push_back(ChangelogMessage{ChunkKey(partition, i), std::nullopt});
  }
  std::string manifest;
  dedup::Writer w(&manifest);
  w.U8(kManifestTag);
  w.U64(generation);
  w.Var(chunks);
  w.Var(state.size());
  w.U64(XXH3_64bits(state.data(), state.size()));
  out->push_back(ChangelogMessage{ManifestKey(partition), std::move(manifest)});
}

void CheckpointAssembler::Add(std::string_view key, const std::string_view* value) {
  std::string prefix = std::to_string(partition_);
  if (key == prefix) {
    if (value == nullptr) {
      manifest_.reset();
    } else {
      manifest_ = std::string(*value);
    }
    return;
  }
  if (key.size() <= prefix.size() + 1 || key.substr(0, prefix.size()) != prefix ||
      key[prefix.size()] != '/') {
    ++foreign_;
    return;
  }
  uint32_t index = 0;
  for (char ch : key.substr(prefix.size() + 1)) {
    if (ch < '0' || ch > '9' || index > 100'000'000) {
      ++foreign_;
      return;
    }
    index = index * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (value == nullptr) {
    chunks_.erase(index);
  } else {
    chunks_[index] = std::string(*value);
  }
}

Result<std::optional<CheckpointAssembler::Checkpoint>> CheckpointAssembler::Finish() {
  if (!manifest_) return std::optional<Checkpoint>();
  auto bad = [this](const std::string& why) {
    return MakeError(ErrorCode::kParse,
                     "changelog of partition " + std::to_string(partition_) + ": " + why);
  };
  dedup::Reader m(*manifest_);
  if (m.U8() != kManifestTag) return bad("the manifest is not a manifest");
  Checkpoint cp;
  cp.generation = m.U64();
  cp.chunks = static_cast<uint32_t>(m.Var());
  uint64_t size = m.Var();
  uint64_t hash = m.U64();
  if (!m.ok()) return bad("the manifest is cut short");
  for (uint32_t i = 0; i < cp.chunks; ++i) {
    auto it = chunks_.find(i);
    if (it == chunks_.end()) {
      return bad("chunk " + std::to_string(i) + " of generation " + std::to_string(cp.generation) +
                 " is missing");
    }
    dedup::Reader c(it->second);
    if (c.U8() != kChunkTag || c.U64() != cp.generation || c.Var() != i || !c.ok()) {
      return bad("chunk " + std::to_string(i) + " is not of generation " +
                 std::to_string(cp.generation));
    }
    cp.state.append(it->second, 1 + 8 + VarLen(i), std::string::npos);
  }
  if (cp.state.size() != size || XXH3_64bits(cp.state.data(), cp.state.size()) != hash) {
    return bad("the checkpoint does not match its manifest's size and hash");
  }
  return std::optional<Checkpoint>(std::move(cp));
}

}  // namespace noisegate::processor

#include "processor/kafka/changelog.h"

#include <xxhash.h>

#include "dedup/codec.h"

namespace noisegate::processor {
namespace {

constexpr uint8_t kChunkTag = 'C';
constexpr uint8_t kManifestTag = 'M';
constexpr uint8_t kGlobalsTag = 'G';          // globals inline
constexpr uint8_t kGlobalsManifestTag = 'H';  // globals in chunks "<p>/g/<i>"
constexpr uint8_t kEntryTag = 'E';            // an entry, whole
constexpr uint8_t kEntryHeaderTag = 'P';      // an entry in parts "<key>/<n>"
constexpr uint8_t kPartTag = 'p';

size_t VarLen(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// A slot number of at most 10 digits, no sign, no leading zeros.
std::optional<uint32_t> ParseSlot(std::string_view s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// The kinds of entries, by their index in ChangelogReader::entries_: the letter of their keys
// and what an error calls them.
struct EntryKindName {
  const char* infix;
  const char* name;
};
constexpr EntryKindName kEntryKinds[] = {
    {"/f/", "fingerprint"}, {"/i/", "incident"}, {"/m/", "buffered record"}};

std::string KindKey(int32_t partition, int kind, uint32_t slot) {
  return std::to_string(partition) + kEntryKinds[kind].infix + std::to_string(slot);
}

}  // namespace

std::string GlobalsKey(int32_t partition) { return std::to_string(partition) + "/g"; }

std::string EntryKey(int32_t partition, dedup::Engine::EntryKind kind, uint32_t slot) {
  return KindKey(partition, kind == dedup::Engine::EntryKind::kFingerprint ? 0 : 1, slot);
}

std::string MergerEntryKey(int32_t partition, uint32_t slot) { return KindKey(partition, 2, slot); }

uint32_t EncodeEntry(const std::string& key, std::string_view value, uint32_t previous_parts,
                     std::vector<ChangelogMessage>* out, size_t chunk_bytes) {
  std::string head;
  dedup::Writer w(&head);
  uint32_t parts = 0;
  if (value.size() < chunk_bytes) {
    w.U8(kEntryTag);
    head.append(value);
  } else {
    for (size_t pos = 0; pos < value.size(); pos += chunk_bytes, ++parts) {
      std::string part;
      dedup::Writer pw(&part);
      pw.U8(kPartTag);
      pw.Var(parts);
      part.append(value.substr(pos, chunk_bytes));
      out->push_back({key + "/" + std::to_string(parts), std::move(part)});
    }
    w.U8(kEntryHeaderTag);
    w.Var(parts);
    w.Var(value.size());
    w.U64(XXH3_64bits(value.data(), value.size()));
  }
  for (uint32_t i = parts; i < previous_parts; ++i) {
    out->push_back({key + "/" + std::to_string(i), std::nullopt});
  }
  out->push_back({key, std::move(head)});
  return parts;
}

void EraseEntry(const std::string& key, uint32_t previous_parts,
                std::vector<ChangelogMessage>* out) {
  for (uint32_t i = 0; i < previous_parts; ++i) {
    out->push_back({key + "/" + std::to_string(i), std::nullopt});
  }
  out->push_back({key, std::nullopt});
}

uint32_t EncodeGlobals(int32_t partition, uint64_t generation, std::string_view payload,
                       uint32_t previous_chunks, std::vector<ChangelogMessage>* out,
                       size_t chunk_bytes) {
  std::string value;
  dedup::Writer w(&value);
  uint32_t chunks = 0;
  if (payload.size() <= chunk_bytes) {
    w.U8(kGlobalsTag);
    w.U64(generation);
    value.append(payload);
  } else {
    const std::string prefix = GlobalsKey(partition) + "/";
    for (size_t pos = 0; pos < payload.size(); pos += chunk_bytes, ++chunks) {
      std::string chunk;
      dedup::Writer c(&chunk);
      c.U8(kChunkTag);
      c.U64(generation);
      c.Var(chunks);
      chunk.append(payload.substr(pos, chunk_bytes));
      out->push_back({prefix + std::to_string(chunks), std::move(chunk)});
    }
    w.U8(kGlobalsManifestTag);
    w.U64(generation);
    w.Var(chunks);
    w.Var(payload.size());
    w.U64(XXH3_64bits(payload.data(), payload.size()));
  }
  for (uint32_t i = chunks; i < previous_chunks; ++i) {
    out->push_back({GlobalsKey(partition) + "/" + std::to_string(i), std::nullopt});
  }
  out->push_back({GlobalsKey(partition), std::move(value)});
  return chunks;
}

void ChangelogReader::Add(std::string_view key, const std::string_view* value) {
  ++messages_;
  auto set = [value](auto& slot_value) {
    if (value == nullptr) {
      slot_value.reset();
    } else {
      slot_value = std::string(*value);
    }
  };
  if (key.size() + 1 == prefix_.size() && key == std::string_view(prefix_).substr(0, key.size())) {
    set(manifest_);
    return;
  }
  if (key.size() <= prefix_.size() || key.substr(0, prefix_.size()) != prefix_) {
    ++foreign_;
    return;
  }
  std::string_view rest = key.substr(prefix_.size());
  if (rest == "g") {
    set(globals_);
    return;
  }
  if (rest.starts_with("g/")) {
    std::optional<uint32_t> i = ParseSlot(rest.substr(2));
    if (!i) {
      ++foreign_;
    } else if (value == nullptr) {
      globals_chunks_.erase(*i);
    } else {
      globals_chunks_[*i] = std::string(*value);
    }
    return;
  }
  absl::flat_hash_map<uint32_t, std::string>* entries = nullptr;
  int kind = -1;
  for (int k = 0; k < 3; ++k) {
    if (rest.size() > 2 && rest[0] == kEntryKinds[k].infix[1] && rest[1] == '/') {
      entries = &entries_[k], kind = k;
      rest.remove_prefix(2);
      break;
    }
  }
  if (size_t slash = rest.find('/'); entries != nullptr && slash != std::string_view::npos) {
    std::optional<uint32_t> slot = ParseSlot(rest.substr(0, slash));
    std::optional<uint32_t> part = ParseSlot(rest.substr(slash + 1));
    if (!slot || !part) {
      ++foreign_;
      return;
    }
    auto& parts = parts_[{kind, *slot}];
    if (value == nullptr) {
      parts.erase(*part);
      if (parts.empty()) parts_.erase({kind, *slot});
    } else {
      parts[*part].assign(value->data(), value->size());
    }
    return;
  }
  std::optional<uint32_t> slot = ParseSlot(rest);
  if (!slot) {
    ++foreign_;
    return;
  }
  if (entries == nullptr) {  // a chunk of a whole checkpoint
    if (value == nullptr) {
      chunks_.erase(*slot);
    } else {
      chunks_[*slot] = std::string(*value);
    }
  } else if (value == nullptr) {
    entries->erase(*slot);
  } else {
    (*entries)[*slot].assign(value->data(), value->size());  // reuses a superseded value's buffer
  }
}

std::vector<std::string> ChangelogReader::HeldKeys() const {
  std::vector<std::string> keys;
  if (manifest_) keys.push_back(std::to_string(partition_));
  if (globals_) keys.push_back(GlobalsKey(partition_));
  for (const auto& [i, v] : chunks_) keys.push_back(prefix_ + std::to_string(i));
  for (const auto& [i, v] : globals_chunks_)
    keys.push_back(GlobalsKey(partition_) + "/" + std::to_string(i));
  for (int kind = 0; kind < 3; ++kind) {
    for (const auto& [slot, v] : entries_[kind]) keys.push_back(KindKey(partition_, kind, slot));
  }
  for (const auto& [entry, parts] : parts_) {
    const std::string key = KindKey(partition_, entry.first, entry.second);
    for (const auto& [n, v] : parts) keys.push_back(key + "/" + std::to_string(n));
  }
  return keys;
}

std::map<std::string, uint32_t> ChangelogReader::EntryParts() const {
  std::map<std::string, uint32_t> out;
  for (const auto& [entry, parts] : parts_) {
    if (parts.empty()) continue;
    out[KindKey(partition_, entry.first, entry.second)] = parts.rbegin()->first + 1;
  }
  return out;
}

// Reassembles what a manifest (after its tag) says is in `chunks`.
Result<std::string> Assemble(std::string_view manifest,
                             const std::map<uint32_t, std::string>& chunks, uint64_t* generation,
                             const std::string& what) {
  auto bad = [&what](const std::string& why) {
    return MakeError(ErrorCode::kParse, what + ": " + why);
  };
  dedup::Reader m(manifest);
  *generation = m.U64();
  const uint64_t n = m.Var();
  const uint64_t size = m.Var();
  const uint64_t hash = m.U64();
  if (!m.ok()) return bad("the manifest is cut short");
  std::string out;
  for (uint32_t i = 0; i < n; ++i) {
    auto it = chunks.find(i);
    if (it == chunks.end()) {
      return bad("chunk " + std::to_string(i) + " of generation " + std::to_string(*generation) +
                 " is missing");
    }
    dedup::Reader c(it->second);
    if (c.U8() != kChunkTag || c.U64() != *generation || c.Var() != i || !c.ok()) {
      return bad("chunk " + std::to_string(i) + " is not of generation " +
                 std::to_string(*generation));
    }
    out.append(it->second, 1 + 8 + VarLen(i), std::string::npos);
  }
  if (out.size() != size || XXH3_64bits(out.data(), out.size()) != hash) {
    return bad("the checkpoint does not match its manifest's size and hash");
  }
  return out;
}

Result<std::optional<ChangelogReader::Checkpoint>> ChangelogReader::Finish(bool whole) const {
  const std::string what = "changelog of partition " + std::to_string(partition_);
  auto bad = [&what](const std::string& why) {
    return MakeError(ErrorCode::kParse, what + ": " + why);
  };
  Checkpoint cp;
  if (globals_ && !whole) {
    cp.per_entry = true;
    const uint8_t tag = globals_->empty() ? 0 : static_cast<uint8_t>((*globals_)[0]);
    const std::string_view rest =
        std::string_view(*globals_).substr(std::min<size_t>(1, globals_->size()));
    if (tag == kGlobalsTag) {
      dedup::Reader g(rest);
      cp.generation = g.U64();
      if (!g.ok()) return bad("the globals are cut short");
      cp.payload = std::string(rest.substr(8));
    } else if (tag == kGlobalsManifestTag) {
      auto payload = Assemble(rest, globals_chunks_, &cp.generation, what + " (globals)");
      if (!payload) return payload.error();
      cp.payload = std::move(*payload);
    } else {
      return bad("the globals are not globals");
    }
    // Entries: whole ones without their tag; those in parts put together and checked.
    for (int kind = 0; kind < 3; ++kind) {
      const auto& entries = entries_[kind];
      auto& out = kind == 0 ? cp.fingerprints : kind == 1 ? cp.incidents : cp.buffered;
      out.reserve(entries.size());
      for (const auto& [slot, value] : entries) {
        const std::string name =
            std::string(kEntryKinds[kind].name) + " entry " + std::to_string(slot);
        if (!value.empty() && static_cast<uint8_t>(value[0]) == kEntryTag) {
          out.emplace_back(slot, std::string_view(value).substr(1));
          continue;
        }
        dedup::Reader h(value);
        if (h.U8() != kEntryHeaderTag) return bad(name + " is not an entry");
        const uint64_t n = h.Var();
        const uint64_t size = h.Var();
        const uint64_t hash = h.U64();
        if (!h.ok() || !h.done()) return bad(name + ": the header is corrupt");
        auto parts = parts_.find({kind, slot});
        std::string& whole = cp.assembled.emplace_back();
        for (uint32_t i = 0; i < n; ++i) {
          const std::string* part = nullptr;
          if (parts != parts_.end()) {
            auto it = parts->second.find(i);
            if (it != parts->second.end()) part = &it->second;
          }
          if (part == nullptr) return bad(name + ": part " + std::to_string(i) + " is missing");
          dedup::Reader pr(*part);
          if (pr.U8() != kPartTag || pr.Var() != i || !pr.ok()) {
            return bad(name + ": part " + std::to_string(i) + " is corrupt");
          }
          whole.append(*part, 1 + VarLen(i), std::string::npos);
        }
        if (whole.size() != size || XXH3_64bits(whole.data(), whole.size()) != hash) {
          return bad(name + " does not match its header's size and hash");
        }
        out.emplace_back(slot, std::string_view(whole));
      }
    }
    return std::optional<Checkpoint>(std::move(cp));
  }
  const size_t entries = entries_[0].size() + entries_[1].size() + entries_[2].size();
  if (!whole && entries > 0) return bad(std::to_string(entries) + " entries without their globals");
  if (!manifest_) return std::optional<Checkpoint>();
  if (manifest_->empty() || (*manifest_)[0] != kManifestTag)
    return bad("the manifest is not a manifest");
  auto payload = Assemble(std::string_view(*manifest_).substr(1), chunks_, &cp.generation, what);
  if (!payload) return payload.error();
  cp.payload = std::move(*payload);
  return std::optional<Checkpoint>(std::move(cp));
}

}  // namespace noisegate::processor

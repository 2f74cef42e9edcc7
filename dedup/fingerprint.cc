#include "dedup/fingerprint.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace noisegate::dedup {
namespace {

constexpr size_t kMaxVarintBytes = 10;

// Writes `n` as a LEB128 varint at `p`; returns the end.
char* PutVarint(char* p, size_t n) {
  while (n >= 0x80) {
    *p++ = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  *p++ = static_cast<char>(n);
  return p;
}

// Copies n bytes. Label names and values are mostly under 16 bytes, where a call to memcpy
// costs more than the copy: those are two overlapping fixed-size moves that stay inside
// [src, src + n).
inline void CopySmall(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t head, tail;
    std::memcpy(&head, src, 8);
    std::memcpy(&tail, src + n - 8, 8);
    std::memcpy(dst, &head, 8);
    std::memcpy(dst + n - 8, &tail, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t head, tail;
    std::memcpy(&head, src, 4);
    std::memcpy(&tail, src + n - 4, 4);
    std::memcpy(dst, &head, 4);
    std::memcpy(dst + n - 4, &tail, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, n);
  }
}

// Appends (varint length, bytes) of `s` at `p`; returns the end.
char* PutField(char* p, std::string_view s) {
  p = PutVarint(p, s.size());
  CopySmall(p, s.data(), s.size());
  return p + s.size();
}

}  // namespace

void KeyBuilder::Reserve(size_t more) {
  if (size_ + more <= capacity_) return;
  size_t cap = std::max<size_t>(capacity_ * 2, 256);
  while (cap < size_ + more) cap *= 2;
  auto grown = std::make_unique_for_overwrite<char[]>(cap);
  if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
  data_ = std::move(grown);
  capacity_ = cap;
}

void KeyBuilder::Append(std::string_view name, std::string_view value) {
  // Room for the pair first, then written through a pointer: no per-byte push_back with its
  // capacity check.
  Reserve(name.size() + value.size() + 2 * kMaxVarintBytes);
  char* end = PutField(PutField(data_.get() + size_, name), value);
  size_ = static_cast<size_t>(end - data_.get());
}

void KeyBuilder::AppendLabels(const LabelSet& labels, const std::vector<std::string>& names) {
  if (names.empty()) {
    // All labels, which LabelSet keeps sorted by name: size the buffer once.
    size_t bound = 0;
    for (const Label& l : labels) bound += l.name.size() + l.value.size() + 2 * kMaxVarintBytes;
    Reserve(bound);
    char* end = data_.get() + size_;
    for (const Label& l : labels) end = PutField(PutField(end, l.name), l.value);
    size_ = static_cast<size_t>(end - data_.get());
    return;
  }
  for (const std::string& n : names) {  // the rules loader keeps these sorted and unique
    std::string_view v = labels.Get(n);
    if (!v.empty()) Append(n, v);
  }
}

Fingerprint HashKey(std::string_view key) {
  return Fingerprint{XXH3_64bits_withSeed(key.data(), key.size(), kFingerprintSeed)};
}

Fingerprint KeyBuilder::Hash() const { return HashKey(key()); }

uint64_t KeyBuilder::Verify() const {
  return XXH3_64bits_withSeed(data_.get(), size_, ~kFingerprintSeed);
}

}  // namespace noisegate::dedup

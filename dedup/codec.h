// A small binary codec for engine state and records crossing Kafka between noisegate's own
// stages (the repartition and changelog topics). Little-endian fixed widths, varints for
// lengths, no alignment. Readers are bounds-checked: a short or corrupt buffer sets ok() to
// false and yields zeros, never reads past the end. Not an edge format: only noisegate reads it.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "dedup/record.h"

namespace noisegate::dedup {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void Var(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  // Signed values as zigzag varints.
  void SVar(int64_t v) { Var((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void U64(uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_->append(b, 8);
  }
  void F64(double v) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    U64(u);
  }
  void Str(std::string_view s) {
    Var(s.size());
    out_->append(s.data(), s.size());
  }
  void Time(EventTime t) { SVar(t.ms); }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool ok() const { return ok_; }
  bool done() const { return p_ == end_; }
  size_t rest() const { return static_cast<size_t>(end_ - p_); }  // bytes not read yet
  // Marks the input corrupt (for checks of decoded values).
  void Fail() { ok_ = false; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(*p_++);
  }
  bool Bool() { return U8() != 0; }
  uint64_t Var() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!Need(1)) return 0;
      auto b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t SVar() {
    uint64_t u = Var();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    p_ += 8;
    return v;
  }
  double F64() {
    uint64_t u = U64();
    double v;
    std::memcpy(&v, &u, 8);
    return v;
  }
  std::string_view Str() {
    uint64_t n = Var();
    if (!Need(n)) return {};
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  EventTime Time() { return EventTime{SVar()}; }
  // A count of items that each take at least `min_bytes`: rejects counts the input cannot
  // hold, so a corrupt length never makes the caller reserve gigabytes.
  uint64_t Count(size_t min_bytes = 1) {
    uint64_t n = Var();
    if (n > static_cast<uint64_t>(end_ - p_) / (min_bytes == 0 ? 1 : min_bytes)) {
      ok_ = false;
      return 0;
    }
    return n;
  }

 private:
  bool Need(uint64_t n) {
    if (!ok_ || n > static_cast<uint64_t>(end_ - p_)) {
      ok_ = false;
      return false;
    }
    return true;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// A silence's model (also a part of a silence record).
void EncodeSilence(const SilenceSpec& s, Writer& w);
std::shared_ptr<const SilenceSpec> DecodeSilence(Reader& rd);  // check rd.ok() after

// A whole Record, address included.
void EncodeRecord(const Record& r, Writer& w);
// Overwrites `r`; false (and `r` unspecified) when the bytes are not a record.
bool DecodeRecord(Reader& rd, Record* r);

}  // namespace noisegate::dedup

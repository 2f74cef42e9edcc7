// What the live processes read from the host: the wall clock (readiness, latency, request
// times; never the engine's event time) and whole files (rules, credentials).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace noisegate::processor {

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads all of `path` into `out`; false when it cannot be opened or read.
inline bool ReadWholeFile(const std::string& path, std::string* out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  out->clear();
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

}  // namespace noisegate::processor

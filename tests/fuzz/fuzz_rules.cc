// libFuzzer target for the rules loader: arbitrary bytes into LoadRulesString. The loader
// must never throw or crash, and must return rules exactly when it reports no diagnostic.
// Seeds: tests/fuzz/corpus/rules/; dictionary: tests/fuzz/rules.dict.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using noisegate::rules::LoadResult;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult result = noisegate::rules::LoadRulesString(text, "fuzz.yaml");
  if ((result.rules == nullptr) == result.diagnostics.empty()) __builtin_trap();
  // kMaxDiagnostics, plus the alias-budget diagnostic and the "more problems" summary.
  if (result.diagnostics.size() > 102) __builtin_trap();
  for (const auto& d : result.diagnostics) {
    if (d.line < 0 || d.column < 0 || d.ToString().empty()) __builtin_trap();
  }
  if (result.rules != nullptr) {
    const auto& rules = *result.rules;
    if (rules.correlate.empty()) __builtin_trap();
    for (size_t i = 0; i < rules.topology.size(); ++i) {
      for (int n : rules.topology.node(static_cast<int>(i)).impacts) {
        if (n < 0 || static_cast<size_t>(n) >= rules.topology.size()) __builtin_trap();
      }
    }
    for (const auto& t : rules.time_intervals) (void)t.Contains(noisegate::EventTime{0});
  }
  return 0;
}

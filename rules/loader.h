// The strict rules loader: YAML text -> an immutable CompiledRules, or a list of diagnostics.
// Unknown keys, wrong types and bad values are errors with file:line:column and YAML path;
// nothing falls back to a default silently. The reference for the syntax is rules/README.md.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/compiled_rules.h"
#include "rules/diagnostic.h"

namespace noisegate::rules {

struct LoadResult {
  // The compiled rules, or null when there is any diagnostic. Shared and immutable: drivers
  // keep it as long as they need and swap the pointer on reload.
  std::shared_ptr<const CompiledRules> rules;
  // Every problem found, ordered by position in the file.
  std::vector<Diagnostic> diagnostics;
};

// Reads and compiles the rules file at `path`. An unreadable file gives one diagnostic at
// "path:0:0". Never throws; safe to call from any thread.
LoadResult LoadRulesFile(const std::string& path);

// Compiles rules from YAML text; `file_name` is used in diagnostics and as rules->path.
// Never throws, whatever the bytes.
LoadResult LoadRulesString(std::string_view yaml, const std::string& file_name);

}  // namespace noisegate::rules

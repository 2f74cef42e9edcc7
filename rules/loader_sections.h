// The loader's sections, one function per top-level key of a rules file. Each reads its
// node into `rules` and reports problems to `r`; only rules/loader*.cc include this header.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rules/compiled_rules.h"
#include "rules/yaml_reader.h"

namespace noisegate::rules::internal {

void LoadInputs(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadTopology(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadDedup(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadLogs(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadState(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadTimeIntervals(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadSilences(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadInhibit(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadCorrelate(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadPage(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadDrop(YamlReader& r, const YAML::Node& node, CompiledRules* rules);
void LoadRouting(YamlReader& r, const YAML::Node& node, CompiledRules* rules);

// Resolves a list of time interval names (defined under time_intervals) to their indexes.
std::optional<std::vector<int>> IntervalRefs(YamlReader& r, const YAML::Node& node,
                                             const std::string& path,
                                             const std::vector<TimeInterval>& defined);

}  // namespace noisegate::rules::internal

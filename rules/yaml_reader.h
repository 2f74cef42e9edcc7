// YamlReader: strict, typed reads of yaml-cpp nodes for the rules loader. A read that fails
// records a Diagnostic (1-based line:column of the node, YAML path, message) and returns
// nullopt, so the loader keeps walking and reports every problem of a file in one pass.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dedup/types.h"
#include "rules/compiled_rules.h"
#include "rules/diagnostic.h"
#include "rules/matcher.h"

namespace noisegate::rules {

// YAML paths as printed in diagnostics: inputs[0].fields.time.
std::string JoinPath(std::string_view parent, std::string_view key);
std::string IndexPath(std::string_view parent, size_t index);

// The candidate a mistyped `word` most plausibly meant (small edit distance), or "".
std::string_view ClosestMatch(std::string_view word,
                              const std::vector<std::string_view>& candidates);
// `word` lower-cased (ASCII).
std::string Lower(std::string_view word);
// Label names as in matchers: [A-Za-z_][A-Za-z0-9_.-]*.
bool IsLabelName(std::string_view name);

// Thrown by YamlReader::Charge when YAML aliases make the walk too long; the loader catches
// it, keeps the diagnostic already recorded and stops.
struct WalkBudgetExceeded {};

class YamlReader {
 public:
  // `document_size` (bytes) sizes the walk budget: a file is walked in time linear in its size
  // even when aliases repeat the same subtree many times ("billion laughs").
  YamlReader(std::string file, size_t document_size)
      : file_(std::move(file)), budget_(100'000 + 10 * document_size) {}

  // Records a problem at `node` (at the file start when the node has no position). An empty
  // value (`key:` then a newline) is reported at its key: yaml-cpp puts its mark on the next
  // token, often the following line.
  void Report(const YAML::Node& node, std::string path, std::string message);
  void ReportAt(const YAML::Mark& mark, std::string path, std::string message);
  bool has_errors() const { return count_ > 0; }
  // The diagnostics ordered by position; a file with very many problems keeps the first
  // kMaxDiagnostics and says how many more there were.
  std::vector<Diagnostic> TakeDiagnostics();
  static constexpr size_t kMaxDiagnostics = 100;

  // 1-based position of a node (0:0 when it has none).
  static SourcePos Pos(const YAML::Node& node);
  // True for a key that is present (an explicit null counts as present).
  static bool Has(const YAML::Node& node) { return node.IsDefined(); }
  // The value of `key` in a map (callers check IsMap first); undefined when absent.
  static YAML::Node Get(const YAML::Node& map, std::string_view key);

  // Checks that `node` is a map (described as `what` in the error) whose keys are strings
  // from `known`, each given once; reports unknown keys with the closest known one. Returns
  // false only when `node` is not a map (the caller then skips its fields).
  bool CheckMap(const YAML::Node& node, const std::string& path,
                std::initializer_list<std::string_view> known, std::string_view what);
  // Counts the children of a map or list about to be walked; reports and throws
  // WalkBudgetExceeded past the budget. CheckMap and CheckList call it.
  void Charge(const YAML::Node& node);
  // Remembers where the key of an empty value is (CheckMap does this for its keys).
  void NoteEmptyValue(const YAML::Node& key, const YAML::Node& value);
  // Reports a missing key of `map` and returns false when `key` is absent.
  bool Require(const YAML::Node& map, const std::string& path, std::string_view key);
  // Checks that `node` is a list; `what` describes the expected list ("a list of matchers").
  bool CheckList(const YAML::Node& node, const std::string& path, std::string_view what);

  // Scalars. `what` names the expected value in the message ("expected <what>").
  std::optional<std::string> String(const YAML::Node& node, const std::string& path,
                                    std::string_view what = "a string");
  std::optional<std::string> NonEmptyString(const YAML::Node& node, const std::string& path,
                                            std::string_view what = "a string");
  std::optional<bool> Bool(const YAML::Node& node, const std::string& path);
  std::optional<int64_t> Int(const YAML::Node& node, const std::string& path, int64_t min,
                             int64_t max);
  // A duration like 30s; `allow_zero` permits "0" (meaning "never" or "none").
  std::optional<Millis> Duration(const YAML::Node& node, const std::string& path, bool allow_zero);
  // An RFC 3339 date-time like 2026-12-01T02:00:00Z.
  std::optional<EventTime> Timestamp(const YAML::Node& node, const std::string& path);
  // One of `choices` (with a did-you-mean for a typo).
  std::optional<std::string> Choice(const YAML::Node& node, const std::string& path,
                                    std::string_view what,
                                    const std::vector<std::string_view>& choices);

  // Lists. A list of distinct label names, e.g. a fingerprint.
  std::optional<std::vector<std::string>> LabelNames(const YAML::Node& node,
                                                     const std::string& path);
  // A list of matchers in Alertmanager syntax; `non_empty` makes an empty list an error.
  std::optional<MatcherSet> Matchers(const YAML::Node& node, const std::string& path,
                                     bool non_empty);

 private:
  void TypeError(const YAML::Node& node, const std::string& path, std::string_view what);

  std::string file_;
  // Empty values by the stream position of their (misleading) mark -> the mark of their key.
  std::unordered_map<int, YAML::Mark> empty_values_;
  std::vector<Diagnostic> diagnostics_;
  size_t count_ = 0;                             // including those beyond kMaxDiagnostics
  size_t budget_;                                // node visits left
  std::optional<Diagnostic> budget_diagnostic_;  // always kept, first
};

// What a node is, for messages: "a map", "a list", "null", "the string \"x\"".
std::string Describe(const YAML::Node& node);

}  // namespace noisegate::rules

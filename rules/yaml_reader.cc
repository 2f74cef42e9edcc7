// YamlReader: strict, typed reads of yaml-cpp nodes that turn every mismatch into a
// Diagnostic. yaml-cpp marks are 0-based; diagnostics are 1-based like compilers print them.
#include "rules/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "rules/duration.h"

namespace noisegate::rules {
namespace {

// Past this many stored diagnostics a pathological file (or a fuzzer) only gets counted.
constexpr size_t kMaxStored = 1000;

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so that
// "gruop_by" is one edit from "group_by".
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

std::string JoinChoices(const std::vector<std::string_view>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += choices[i];
  }
  return out;
}

}  // namespace

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

std::string IndexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string_view ClosestMatch(std::string_view word,
                              const std::vector<std::string_view>& candidates) {
  // Long inputs are not typos of a short key; skip the quadratic distance for them.
  if (word.size() > 64) return {};
  std::string lower = Lower(word);
  std::string_view best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(lower, Lower(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A third of the word may be wrong (at least 2 edits), or the word is a prefix/suffix
  // fragment of the key, e.g. "source" for "source_matchers".
  size_t limit = std::max<size_t>(2, lower.size() / 3);
  if (best_distance <= limit) return best;
  if (lower.size() >= 4) {
    for (std::string_view c : candidates) {
      if (c.starts_with(lower) || lower.starts_with(c)) return c;
    }
  }
  return {};
}

std::string Lower(std::string_view word) {
  std::string out(word);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined()) return "nothing";
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (s.size() > 40) return "the string " + Quoted(s.substr(0, 37)) + "...";
      return "the string " + Quoted(s);
    }
    case YAML::NodeType::Null:
      return "null (an empty value)";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

void YamlReader::Report(const YAML::Node& node, std::string path, std::string message) {
  if (diagnostics_.size() >= kMaxStored) {
    ++count_;
    return;
  }
  YAML::Mark mark = YAML::Mark::null_mark();
  if (node.IsDefined()) mark = node.Mark();
  if (node.IsNull() && !mark.is_null()) {
    auto it = empty_values_.find(mark.pos);
    if (it != empty_values_.end()) mark = it->second;
  }
  ReportAt(mark, std::move(path), std::move(message));
}

void YamlReader::ReportAt(const YAML::Mark& mark, std::string path, std::string message) {
  ++count_;
  if (diagnostics_.size() >= kMaxStored) return;
  Diagnostic d;
  d.file = file_;
  if (!mark.is_null()) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.path = std::move(path);
  d.message = std::move(message);
  diagnostics_.push_back(std::move(d));
}

std::vector<Diagnostic> YamlReader::TakeDiagnostics() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  std::vector<Diagnostic> out = std::move(diagnostics_);
  diagnostics_.clear();
  if (out.size() > kMaxDiagnostics) out.resize(kMaxDiagnostics);
  if (count_ > out.size()) {
    Diagnostic more;
    more.file = file_;
    more.message = std::to_string(count_ - out.size()) + " more problems not shown";
    out.push_back(std::move(more));
  }
  if (budget_diagnostic_) out.insert(out.begin(), std::move(*budget_diagnostic_));
  budget_diagnostic_.reset();
  count_ = 0;
  return out;
}

void YamlReader::Charge(const YAML::Node& node) {
  size_t cost = node.size() + 1;
  if (cost <= budget_) {
    budget_ -= cost;
    return;
  }
  YAML::Mark mark = node.Mark();
  budget_diagnostic_ = Diagnostic{
      file_, mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1, "",
      "YAML aliases repeat parts of this file so often that it expands to far more nodes than "
      "it has; reading stopped here (write the repeated parts out or alias them less)"};
  throw WalkBudgetExceeded{};
}

void YamlReader::NoteEmptyValue(const YAML::Node& key, const YAML::Node& value) {
  if (!value.IsNull()) return;
  YAML::Mark mark = value.Mark();
  if (!mark.is_null()) empty_values_.emplace(mark.pos, key.Mark());
}

SourcePos YamlReader::Pos(const YAML::Node& node) {
  if (!node.IsDefined()) return {};
  YAML::Mark m = node.Mark();
  if (m.is_null()) return {};
  return SourcePos{m.line + 1, m.column + 1};
}

YAML::Node YamlReader::Get(const YAML::Node& map, std::string_view key) {
  // First occurrence; CheckMap reports any later duplicate.
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void YamlReader::TypeError(const YAML::Node& node, const std::string& path, std::string_view what) {
  Report(node, path, "expected " + std::string(what) + ", got " + Describe(node));
}

bool YamlReader::CheckMap(const YAML::Node& node, const std::string& path,
                          std::initializer_list<std::string_view> known, std::string_view what) {
  if (!node.IsMap()) {
    TypeError(node, path, what);
    return false;
  }
  Charge(node);
  std::vector<std::string_view> keys(known);
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      Report(key, path, "expected a plain key, got " + Describe(key));
      continue;
    }
    NoteEmptyValue(key, it->second);
    const std::string& name = key.Scalar();
    std::string key_path = JoinPath(path, name);
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
      std::string message = "unknown key " + Quoted(name);
      std::string_view close = ClosestMatch(name, keys);
      if (!close.empty()) {
        message += "; did you mean " + Quoted(close) + "?";
      } else {
        message += "; expected one of " + JoinChoices(keys);
      }
      Report(key, key_path, message);
      continue;
    }
    if (!seen.insert(name).second) Report(key, key_path, "duplicate key " + Quoted(name));
  }
  return true;
}

bool YamlReader::Require(const YAML::Node& map, const std::string& path, std::string_view key) {
  if (Has(Get(map, key))) return true;
  Report(map, JoinPath(path, key), "missing required key " + Quoted(key));
  return false;
}

bool YamlReader::CheckList(const YAML::Node& node, const std::string& path, std::string_view what) {
  if (node.IsSequence()) {
    Charge(node);
    return true;
  }
  TypeError(node, path, what);
  return false;
}

std::optional<std::string> YamlReader::String(const YAML::Node& node, const std::string& path,
                                              std::string_view what) {
  if (!node.IsScalar()) {
    TypeError(node, path, what);
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> YamlReader::NonEmptyString(const YAML::Node& node,
                                                      const std::string& path,
                                                      std::string_view what) {
  std::optional<std::string> s = String(node, path, what);
  if (s && s->empty()) {
    Report(node, path, "expected " + std::string(what) + ", got an empty string");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> YamlReader::Bool(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar()) {
    std::string v = Lower(node.Scalar());
    if (v == "true") return true;
    if (v == "false") return false;
  }
  TypeError(node, path, "true or false");
  return std::nullopt;
}

std::optional<int64_t> YamlReader::Int(const YAML::Node& node, const std::string& path, int64_t min,
                                       int64_t max) {
  if (!node.IsScalar()) {
    TypeError(node, path, "an integer");
    return std::nullopt;
  }
  const std::string& s = node.Scalar();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    TypeError(node, path, "an integer");
    return std::nullopt;
  }
  if (v < min || v > max) {
    std::string range = max == INT32_MAX
                            ? "at least " + std::to_string(min)
                            : "between " + std::to_string(min) + " and " + std::to_string(max);
    Report(node, path, "must be " + range + ", got " + s);
    return std::nullopt;
  }
  return v;
}

std::optional<Millis> YamlReader::Duration(const YAML::Node& node, const std::string& path,
                                           bool allow_zero) {
  if (!node.IsScalar()) {
    TypeError(node, path, "a duration like 30s");
    return std::nullopt;
  }
  Result<Millis> d = ParseDuration(node.Scalar());
  if (!d) {
    Report(node, path, "expected a duration like 30s: " + d.error().detail);
    return std::nullopt;
  }
  if (!allow_zero && d->count() == 0) {
    Report(node, path, "must be longer than 0, like 30s");
    return std::nullopt;
  }
  return *d;
}

std::optional<EventTime> YamlReader::Timestamp(const YAML::Node& node, const std::string& path) {
  EventTime t;
  if (!node.IsScalar() || !ParseRfc3339(node.Scalar(), &t)) {
    TypeError(node, path, "an RFC 3339 time like 2026-12-01T02:00:00Z");
    return std::nullopt;
  }
  return t;
}

std::optional<std::string> YamlReader::Choice(const YAML::Node& node, const std::string& path,
                                              std::string_view what,
                                              const std::vector<std::string_view>& choices) {
  std::optional<std::string> s = String(node, path, what);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::string message = "unknown " + std::string(what) + " " + Quoted(*s);
  std::string_view close = ClosestMatch(*s, choices);
  if (!close.empty()) message += "; did you mean " + Quoted(close) + "?";
  message += " (expected " + JoinChoices(choices) + ")";
  Report(node, path, message);
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::LabelNames(const YAML::Node& node,
                                                               const std::string& path) {
  if (!CheckList(node, path, "a list of label names")) return std::nullopt;
  std::vector<std::string> out;
  bool ok = true;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string item_path = IndexPath(path, i);
    std::optional<std::string> name = String(item, item_path, "a label name");
    if (!name) {
      ok = false;
      continue;
    }
    if (!IsLabelName(*name)) {
      Report(item, item_path,
             "invalid label name " + Quoted(*name) +
                 " (letters, digits, _, . and -, not starting with a digit)");
      ok = false;
      continue;
    }
    if (std::find(out.begin(), out.end(), *name) != out.end()) {
      Report(item, item_path, "label " + Quoted(*name) + " is listed twice");
      ok = false;
      continue;
    }
    out.push_back(std::move(*name));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<MatcherSet> YamlReader::Matchers(const YAML::Node& node, const std::string& path,
                                               bool non_empty) {
  constexpr std::string_view kWhat = "a list of matchers like ['severity=\"critical\"']";
  if (!CheckList(node, path, kWhat)) return std::nullopt;
  if (non_empty && node.size() == 0) {
    Report(node, path, "expected at least one matcher, got an empty list");
    return std::nullopt;
  }
  std::vector<Matcher> out;
  bool ok = true;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string item_path = IndexPath(path, i);
    std::optional<std::string> text =
        String(item, item_path, "a matcher like severity=\"critical\"");
    if (!text) {
      ok = false;
      continue;
    }
    Result<Matcher> m = Matcher::Parse(*text);
    if (!m) {
      Report(item, item_path, "invalid matcher " + Quoted(*text) + ": " + m.error().detail);
      ok = false;
      continue;
    }
    out.push_back(std::move(m).value());
  }
  if (!ok) return std::nullopt;
  return MatcherSet(std::move(out));
}

}  // namespace noisegate::rules

// The strict rules loader: parses YAML with yaml-cpp, walks it section by section and compiles
// CompiledRules. yaml-cpp exceptions stop at this file; everything else becomes a Diagnostic.
// This file holds the document level and the inputs, topology, dedup and logs sections.
#include "rules/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "rules/duration.h"
#include "rules/loader_sections.h"

namespace noisegate::rules {
namespace internal {
namespace {

// The input formats the decoders implement (processor/decode registry). The core cannot link
// the decoders, so the names are repeated here; a decoder test checks they agree.
const std::vector<std::string_view> kFormats = {"alertmanager", "grafana",  "newrelic",
                                                "datadog",      "json_log", "silences"};

// RFC 6901: "" is the whole document (not a field), and '~' must be escaped as ~0 or ~1.
bool ReadPointer(YamlReader& r, const YAML::Node& node, const std::string& path, std::string* out) {
  std::optional<std::string> p = r.String(node, path, "a JSON pointer like /exception/type");
  if (!p) return false;
  if (p->empty() || (*p)[0] != '/') {
    r.Report(node, path, "expected a JSON pointer starting with '/', like /exception/type");
    return false;
  }
  for (size_t i = 0; i < p->size(); ++i) {
    if ((*p)[i] == '~' && (i + 1 == p->size() || ((*p)[i + 1] != '0' && (*p)[i + 1] != '1'))) {
      r.Report(node, path, "invalid JSON pointer: '~' must be written ~0 (and '/' as ~1)");
      return false;
    }
  }
  *out = std::move(*p);
  return true;
}

void LoadFields(YamlReader& r, const YAML::Node& node, const std::string& path, InputRule* in) {
  if (!r.CheckMap(node, path,
                  {"time", "level", "service", "message", "error_type", "stack_trace", "trace_id",
                   "version"},
                  "a map of field names to JSON pointers")) {
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) continue;  // reported by CheckMap
    const std::string name = it->first.Scalar();
    std::string pointer;
    if (ReadPointer(r, it->second, JoinPath(path, name), &pointer)) {
      in->fields.emplace_back(name, std::move(pointer));
    }
  }
}

void LoadExtraLabels(YamlReader& r, const YAML::Node& node, const std::string& path,
                     InputRule* in) {
  if (!node.IsMap()) {
    r.Report(node, path, "expected a map of label names to JSON pointers, got " + Describe(node));
    return;
  }
  r.Charge(node);
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar() || !IsLabelName(key.Scalar())) {
      r.Report(key, path, "expected a label name as key, got " + Describe(key));
      continue;
    }
    r.NoteEmptyValue(key, it->second);
    const std::string name = key.Scalar();
    std::string label_path = JoinPath(path, name);
    if (!seen.insert(name).second) {
      r.Report(key, label_path, "duplicate key \"" + name + "\"");
      continue;
    }
    std::string pointer;
    if (ReadPointer(r, it->second, label_path, &pointer)) {
      in->labels.emplace_back(name, std::move(pointer));
    }
  }
}

void LoadInput(YamlReader& r, const YAML::Node& item, const std::string& path,
               CompiledRules* rules) {
  if (!r.CheckMap(item, path, {"topic", "format", "fields", "labels", "min_level", "fingerprint"},
                  "an input like {topic: alerts.prometheus, format: alertmanager}")) {
    return;
  }
  InputRule in;
  in.pos = YamlReader::Pos(item);
  if (r.Require(item, path, "topic")) {
    YAML::Node topic = YamlReader::Get(item, "topic");
    std::string topic_path = JoinPath(path, "topic");
    if (auto t = r.NonEmptyString(topic, topic_path, "a Kafka topic name")) {
      int other = rules->FindInput(*t);
      if (other >= 0) {
        r.Report(topic, topic_path,
                 "duplicate topic \"" + *t + "\" (also inputs[" + std::to_string(other) + "])");
      }
      in.topic = std::move(*t);
    }
  }
  std::optional<std::string> format;
  if (r.Require(item, path, "format")) {
    format =
        r.Choice(YamlReader::Get(item, "format"), JoinPath(path, "format"), "format", kFormats);
    if (format) in.format = *format;
  }
  for (std::string_view key : {"fields", "labels"}) {
    YAML::Node n = YamlReader::Get(item, key);
    if (!YamlReader::Has(n)) continue;
    std::string key_path = JoinPath(path, key);
    if (format && *format != "json_log") {
      r.Report(n, key_path, std::string(key) + " is only for format json_log, not " + *format);
      continue;
    }
    if (key == "fields") {
      LoadFields(r, n, key_path, &in);
    } else {
      LoadExtraLabels(r, n, key_path, &in);
    }
  }
  if (YAML::Node n = YamlReader::Get(item, "min_level"); YamlReader::Has(n)) {
    std::string level_path = JoinPath(path, "min_level");
    if (auto s = r.String(n, level_path, "a log level")) {
      in.min_level = ParseLogLevel(*s);
      if (in.min_level == LogLevel::kUnknown) {
        r.Report(
            n, level_path,
            "unknown log level \"" + *s + "\" (expected trace, debug, info, warn, error or fatal)");
      }
    }
  }
  if (YAML::Node n = YamlReader::Get(item, "fingerprint"); YamlReader::Has(n)) {
    in.fingerprint = r.LabelNames(n, JoinPath(path, "fingerprint"));
  }
  rules->inputs.push_back(std::move(in));
}

}  // namespace

void LoadInputs(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  if (!r.CheckList(node, "inputs", "a list of inputs")) return;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    LoadInput(r, *it, IndexPath("inputs", i), rules);
  }
}

void LoadDedup(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  const std::string path = "dedup";
  if (!r.CheckMap(node, path, {"fingerprint", "flapping", "resolve_timeout"},
                  "a map with fingerprint, flapping and resolve_timeout")) {
    return;
  }
  DedupRule& dedup = rules->dedup;
  if (YAML::Node n = YamlReader::Get(node, "fingerprint"); YamlReader::Has(n)) {
    if (auto f = r.LabelNames(n, JoinPath(path, "fingerprint"))) dedup.fingerprint = *f;
  }
  if (YAML::Node n = YamlReader::Get(node, "flapping"); YamlReader::Has(n)) {
    std::string fp = JoinPath(path, "flapping");
    if (r.CheckMap(n, fp, {"changes", "within", "stable_for"},
                   "a map like {changes: 4, within: 15m, stable_for: 10m}")) {
      if (r.Require(n, fp, "changes")) {
        auto c =
            r.Int(YamlReader::Get(n, "changes"), JoinPath(fp, "changes"), 2, kMaxFlappingChanges);
        if (c) dedup.flapping.changes = static_cast<int>(*c);
      }
      if (r.Require(n, fp, "within")) {
        auto d = r.Duration(YamlReader::Get(n, "within"), JoinPath(fp, "within"), false);
        if (d) dedup.flapping.within = *d;
      }
      if (r.Require(n, fp, "stable_for")) {
        auto d = r.Duration(YamlReader::Get(n, "stable_for"), JoinPath(fp, "stable_for"), false);
        if (d) dedup.flapping.stable_for = *d;
      }
    }
  }
  if (YAML::Node n = YamlReader::Get(node, "resolve_timeout"); YamlReader::Has(n)) {
    if (auto d = r.Duration(n, JoinPath(path, "resolve_timeout"), true)) {
      dedup.resolve_timeout = *d;
    }
  }
}

void LoadState(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  const std::string path = "state";
  if (!r.CheckMap(node, path, {"retention", "version_retention"},
                  "a map like {retention: 1h, version_retention: 7d}")) {
    return;
  }
  if (YAML::Node n = YamlReader::Get(node, "retention"); YamlReader::Has(n)) {
    if (auto d = r.Duration(n, JoinPath(path, "retention"), true)) rules->state.retention = *d;
  }
  if (YAML::Node n = YamlReader::Get(node, "version_retention"); YamlReader::Has(n)) {
    if (auto d = r.Duration(n, JoinPath(path, "version_retention"), false)) {
      rules->state.version_retention = *d;
    }
  }
}

namespace {

// "5x", "2.5x" or "3": how many times the baseline rate a surge must reach.
std::optional<double> ReadFactor(YamlReader& r, const YAML::Node& node, const std::string& path) {
  constexpr std::string_view kWhat = "a factor like 5x";
  std::optional<std::string> s = r.String(node, path, kWhat);
  if (!s) return std::nullopt;
  std::string_view text = *s;
  if (!text.empty() && (text.back() == 'x' || text.back() == 'X')) text.remove_suffix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    r.Report(node, path, "expected a factor like 5x, got " + Describe(node));
    return std::nullopt;
  }
  if (v <= 0) {
    r.Report(node, path, "must be greater than 0, got " + *s);
    return std::nullopt;
  }
  return v;
}

void LoadSurge(YamlReader& r, const YAML::Node& node, const std::string& path, SurgeRule* surge) {
  if (!r.CheckMap(
          node, path,
          {"min_count", "within", "over_baseline", "baseline_window", "warmup", "quiet_for"},
          "a map like {min_count: 20, within: 1m, over_baseline: 5x}")) {
    return;
  }
  if (YAML::Node n = YamlReader::Get(node, "min_count"); YamlReader::Has(n)) {
    if (auto c = r.Int(n, JoinPath(path, "min_count"), 1, INT32_MAX)) {
      surge->min_count = static_cast<int>(*c);
    }
  }
  if (YAML::Node n = YamlReader::Get(node, "over_baseline"); YamlReader::Has(n)) {
    if (auto f = ReadFactor(r, n, JoinPath(path, "over_baseline"))) surge->over_baseline = *f;
  }
  struct DurationField {
    std::string_view key;
    Millis* out;
    bool allow_zero;
  };
  bool windows_ok = true;
  for (const DurationField& f : {DurationField{"within", &surge->within, false},
                                 DurationField{"baseline_window", &surge->baseline_window, false},
                                 DurationField{"warmup", &surge->warmup, true},
                                 DurationField{"quiet_for", &surge->quiet_for, false}}) {
    YAML::Node n = YamlReader::Get(node, f.key);
    if (!YamlReader::Has(n)) continue;
    if (auto d = r.Duration(n, JoinPath(path, f.key), f.allow_zero)) {
      *f.out = *d;
    } else if (f.key == "within" || f.key == "baseline_window") {
      windows_ok = false;
    }
  }
  if (windows_ok && surge->baseline_window <= surge->within) {
    // Point at whichever of the two the file sets (baseline_window when both are).
    YAML::Node at = YamlReader::Get(node, "baseline_window");
    std::string key = "baseline_window";
    if (!YamlReader::Has(at)) {
      at = YamlReader::Get(node, "within");
      key = "within";
    }
    r.Report(at, JoinPath(path, key),
             "baseline_window (" + FormatDuration(surge->baseline_window) +
                 ") must be longer than within (" + FormatDuration(surge->within) + ")");
  }
}

}  // namespace

void LoadLogs(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  const std::string path = "logs";
  if (!r.CheckMap(node, path, {"template", "fingerprint", "surge"},
                  "a map with template, fingerprint and surge")) {
    return;
  }
  LogRule& logs = rules->logs;
  if (YAML::Node n = YamlReader::Get(node, "template"); YamlReader::Has(n)) {
    if (auto t = r.Choice(n, JoinPath(path, "template"), "template", {"auto", "none", "omit"})) {
      logs.template_auto = *t != "none";
      logs.template_in_key = *t != "omit";
    }
  }
  if (YAML::Node n = YamlReader::Get(node, "fingerprint"); YamlReader::Has(n)) {
    if (auto f = r.LabelNames(n, JoinPath(path, "fingerprint"))) logs.fingerprint = *f;
  }
  if (YAML::Node n = YamlReader::Get(node, "surge"); YamlReader::Has(n)) {
    LoadSurge(r, n, JoinPath(path, "surge"), &logs.surge);
  }
}

namespace {

// Records where documents start. yaml-cpp 0.7's LoadAll never returns on some malformed input
// (a stray ',' yields an endless run of empty documents at the same position), so the loader
// probes at most two documents with the event parser and loads the first with YAML::Load.
class DocumentProbe : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

void LoadDocument(YamlReader& r, const std::string& text, CompiledRules* rules) {
  {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentProbe probe;
    for (int i = 0; i < 2 && parser.HandleNextDocument(probe); ++i) {
    }
    if (probe.starts.size() == 2) {
      if (probe.starts[1].pos == probe.starts[0].pos) {
        r.ReportAt(probe.starts[1], "", "YAML syntax error: unexpected character");
        return;
      }
      r.ReportAt(probe.starts[1], "",
                 "a rules file holds one YAML document; found a second one here");
    }
  }
  YAML::Node root = YAML::Load(text);
  if (root.IsNull()) {
    r.ReportAt(YAML::Mark(), "correlate",
               "missing required key \"correlate\" (the rules file is empty)");
    return;
  }
  if (!r.CheckMap(root, "",
                  {"inputs", "topology", "dedup", "logs", "time_intervals", "silences", "inhibit",
                   "correlate", "page", "drop", "routing", "state", "allowed_lateness"},
                  "a map of sections (inputs, topology, dedup, ..., correlate)")) {
    return;
  }
  using Section = void (*)(YamlReader&, const YAML::Node&, CompiledRules*);
  // time_intervals first: silences and correlate rules refer to them by name.
  static constexpr std::pair<std::string_view, Section> kSections[] = {
      {"time_intervals", LoadTimeIntervals},
      {"inputs", LoadInputs},
      {"dedup", LoadDedup},
      {"logs", LoadLogs},
      {"silences", LoadSilences},
      {"inhibit", LoadInhibit},
      {"correlate", LoadCorrelate},
      {"page", LoadPage},
      {"drop", LoadDrop},
      {"routing", LoadRouting},
      {"state", LoadState}};
  for (auto [key, load] : kSections) {
    YAML::Node n = YamlReader::Get(root, key);
    if (YamlReader::Has(n)) load(r, n, rules);
  }
  // Always finished, so an absent topology is still a usable (empty) one.
  LoadTopology(r, YamlReader::Get(root, "topology"), rules);
  r.Require(root, "", "correlate");
  if (YAML::Node n = YamlReader::Get(root, "allowed_lateness"); YamlReader::Has(n)) {
    if (auto d = r.Duration(n, "allowed_lateness", true)) rules->allowed_lateness = *d;
  }
}

}  // namespace
}  // namespace internal

LoadResult LoadRulesString(std::string_view yaml, const std::string& file_name) {
  YamlReader r(file_name, yaml.size());
  auto rules = std::make_shared<CompiledRules>();
  try {
    internal::LoadDocument(r, std::string(yaml), rules.get());
  } catch (const YAML::ParserException& e) {
    r.ReportAt(e.mark, "", "YAML syntax error: " + e.msg);
  } catch (const WalkBudgetExceeded&) {
    // Already reported where the budget ran out.
  } catch (const std::exception& e) {
    // Not expected (every read checks the node type first), but the loader must not throw.
    r.ReportAt(YAML::Mark::null_mark(), "",
               std::string("internal error while loading rules: ") + e.what());
  }
  LoadResult out;
  out.diagnostics = r.TakeDiagnostics();
  if (out.diagnostics.empty()) {
    rules->path = file_name;
    out.rules = std::move(rules);
  }
  return out;
}

LoadResult LoadRulesFile(const std::string& path) {
  std::string text;
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  bool ok = f != nullptr;
  if (ok) {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
    ok = !std::ferror(f);
    std::fclose(f);
  }
  if (!ok) {
    LoadResult out;
    std::string why = errno != 0 ? std::strerror(errno) : "read error";
    out.diagnostics.push_back(Diagnostic{path, 0, 0, "", "cannot read rules file: " + why});
    return out;
  }
  return LoadRulesString(text, path);
}

}  // namespace noisegate::rules

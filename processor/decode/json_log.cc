// Structured log lines (format `json_log`). All wanted JSON pointers are compiled into one trie,
// and each log object is read in a single pass that follows the trie and validates (skips)
// everything else, instead of one at_pointer search per candidate field.
#include "processor/decode/json_log.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"

namespace noisegate::processor {
namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

// Where a field is looked for: candidate slots in priority order.
struct FieldSpec {
  std::string name;         // label or field name, for details
  bool configured = false;  // an explicit pointer from the config (no fallbacks)
  std::vector<uint32_t> slots;
  std::string tried;  // " (tried /a, /b)" or " (/a)", for details
};

// A node of the pointer trie: one reference token below its parent.
struct PathNode {
  std::string token;
  std::vector<uint32_t> children;
  std::vector<uint32_t> slots;  // pointers that end here
};

constexpr uint32_t kNoNode = UINT32_MAX;

// Splits an RFC 6901 pointer into unescaped reference tokens. A pointer without the leading
// '/' is read as if it had one, since "service.name" in a config plainly means the top-level key.
std::vector<std::string> PointerTokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (!pointer.empty() && pointer.front() == '/') pointer.remove_prefix(1);
  while (true) {
    size_t slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token.push_back(raw[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        token.push_back(raw[i]);
      }
    }
    tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) break;
    pointer.remove_prefix(slash + 1);
  }
  return tokens;
}

// The eight record fields, in JsonLogFields order.
enum FieldId : size_t {
  kTime,
  kLevel,
  kService,
  kMessage,
  kErrorType,
  kStackTrace,
  kTraceId,
  kVersion,
  kNumFields
};

struct DefaultSpec {
  std::string_view name;
  std::array<std::string_view, 5> pointers;  // empty entries end the list
};

// ECS writes dotted keys at top level ("log.level") or nests them (log/level): both are tried.
constexpr DefaultSpec kFieldDefaults[kNumFields] = {
    {"time", {"/@timestamp", "/timestamp", "/time", "/ts"}},
    {"level", {"/log.level", "/log/level", "/level", "/severity"}},
    {"service", {"/service.name", "/service/name", "/service", "/app"}},
    {"message", {"/message", "/msg", "/error/message"}},
    {"error_type", {"/error.type", "/error/type", "/exception/type", "/error_type"}},
    {"stack_trace",
     {"/error.stack_trace", "/error/stack_trace", "/exception/stacktrace", "/stack_trace",
      "/stack"}},
    {"trace_id", {"/trace.id", "/trace/id", "/trace_id", "/traceId"}},
    {"version", {"/service.version", "/service/version", "/version"}},
};

constexpr DefaultSpec kLabelDefaults[] = {
    {"host", {"/host.name", "/host/name", "/host"}},
    {"node", {"/kubernetes.node.name", "/kubernetes/node/name", "/node"}},
    {"pod", {"/kubernetes.pod.name", "/kubernetes/pod/name", "/pod"}},
    {"namespace", {"/kubernetes.namespace", "/kubernetes/namespace", "/namespace"}},
    {"zone", {"/cloud.availability_zone", "/cloud/availability_zone", "/zone"}},
    {"cluster", {"/orchestrator.cluster.name", "/orchestrator/cluster/name", "/cluster"}},
};

// pino/bunyan write numeric levels.
std::string_view NumericLevelName(std::string_view level) {
  if (level == "10") return "trace";
  if (level == "20") return "debug";
  if (level == "30") return "info";
  if (level == "40") return "warn";
  if (level == "50") return "error";
  if (level == "60") return "fatal";
  return level;
}

class JsonLogDecoder final : public JsonDecoder {
 public:
  explicit JsonLogDecoder(const JsonLogFields& config) {
    nodes_.emplace_back();  // the root
    const std::string* configured[kNumFields] = {
        &config.time,       &config.level,       &config.service,  &config.message,
        &config.error_type, &config.stack_trace, &config.trace_id, &config.version};
    for (size_t i = 0; i < kNumFields; ++i) {
      fields_[i] = MakeSpec(kFieldDefaults[i], *configured[i]);
    }
    for (const DefaultSpec& d : kLabelDefaults) {
      bool overridden = false;
      for (const auto& [name, pointer] : config.labels) overridden |= name == d.name;
      if (!overridden) labels_.push_back(MakeSpec(d, {}));
    }
    for (const auto& [name, pointer] : config.labels) {
      labels_.push_back(MakeSpec(DefaultSpec{name, {}}, pointer.empty() ? "/" + name : pointer));
    }
    slot_values_.resize(num_slots_);
  }

 protected:
  error_code DecodeDocument(ondemand::document& doc, Context& ctx) override {
    ondemand::json_type type;
    NG_JSON_TRY(RootType(doc, ctx, &type));
    if (type == ondemand::json_type::object) {
      ondemand::object line;
      NG_JSON_TRY(doc.get_object().get(line));
      return DecodeLine(line, ctx, 0, 0);
    }
    if (type != ondemand::json_type::array) return simdjson::SUCCESS;
    ondemand::array lines;
    NG_JSON_TRY(doc.get_array().get(lines));
    int32_t index = 0;
    for (auto element_result : lines) {
      NG_JSON_TRY(element_result.error());
      ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
      ondemand::json_type t;
      NG_JSON_TRY(element.type().get(t));
      if (t != ondemand::json_type::object) {
        NG_JSON_TRY(SkipValue(element, 1));
        RecordIssue issue;
        issue.Set(reason::kWrongType, "document[]", "a log line must be an object");
        RejectRecord(ctx, index++, issue);
        continue;
      }
      ondemand::object line;
      NG_JSON_TRY(element.get_object().get(line));
      NG_JSON_TRY(DecodeLine(line, ctx, index++, 1));
    }
    return simdjson::SUCCESS;
  }

 private:
  FieldSpec MakeSpec(const DefaultSpec& d, const std::string& pointer) {
    FieldSpec spec;
    spec.name = d.name;
    if (!pointer.empty()) {
      spec.configured = true;
      spec.slots.push_back(AddPointer(pointer));
      spec.tried = " (" + pointer + ")";
      return spec;
    }
    spec.tried = " (tried ";
    for (std::string_view p : d.pointers) {
      if (p.empty()) break;
      if (!spec.slots.empty()) spec.tried += ", ";
      spec.tried += p;
      spec.slots.push_back(AddPointer(p));
    }
    spec.tried += ")";
    return spec;
  }

  uint32_t AddPointer(std::string_view pointer) {
    uint32_t node = 0;
    for (std::string& token : PointerTokens(pointer)) {
      uint32_t child = kNoNode;
      for (uint32_t c : nodes_[node].children) {
        if (nodes_[c].token == token) child = c;
      }
      if (child == kNoNode) {
        child = static_cast<uint32_t>(nodes_.size());
        nodes_.emplace_back().token = std::move(token);
        nodes_[node].children.push_back(child);
      }
      node = child;
    }
    nodes_[node].slots.push_back(num_slots_);
    return num_slots_++;
  }

  uint32_t FindChild(uint32_t node, std::string_view token) const {
    // The root has a few dozen default candidates; the size and first byte rule out nearly
    // all of them without a call to memcmp.
    for (uint32_t c : nodes_[node].children) {
      const std::string& t = nodes_[c].token;
      if (t.size() == token.size() && (t.empty() || t[0] == token[0]) && t == token) return c;
    }
    return kNoNode;
  }

  // Reads `value`, which sits at trie node `node` and nesting `depth`.
  error_code Visit(ondemand::value& value, uint32_t node, int depth) {
    const PathNode& n = nodes_[node];
    ondemand::json_type t;
    NG_JSON_TRY(value.type().get(t));
    const bool container = t == ondemand::json_type::object || t == ondemand::json_type::array;
    if (!container || n.children.empty()) {
      ScalarText s;
      NG_JSON_TRY(ReadScalar(value, &s, depth));
      for (uint32_t slot : n.slots) slot_values_[slot] = s;
      return simdjson::SUCCESS;
    }
    for (uint32_t slot : n.slots) slot_values_[slot].kind = JsonKind::kContainer;
    if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
    if (t == ondemand::json_type::object) {
      ondemand::object object;
      NG_JSON_TRY(value.get_object().get(object));
      return VisitObject(object, node, depth);
    }
    ondemand::array array;
    NG_JSON_TRY(value.get_array().get(array));
    size_t i = 0;
    for (auto element_result : array) {
      NG_JSON_TRY(element_result.error());
      ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
      char digits[24];
      auto end = std::to_chars(digits, digits + sizeof(digits), i++).ptr;
      uint32_t child = FindChild(node, std::string_view(digits, end - digits));
      NG_JSON_TRY(child == kNoNode ? SkipValue(element, depth + 1)
                                   : Visit(element, child, depth + 1));
    }
    return simdjson::SUCCESS;
  }

  error_code VisitObject(ondemand::object& object, uint32_t node, int depth) {
    for (auto field_result : object) {
      NG_JSON_TRY(field_result.error());
      ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
      std::string_view key;
      NG_JSON_TRY(FieldKey(field, &key));
      uint32_t child = FindChild(node, key);
      NG_JSON_TRY(child == kNoNode ? SkipValue(field.value(), depth + 1)
                                   : Visit(field.value(), child, depth + 1));
    }
    return simdjson::SUCCESS;
  }

  // The first candidate of `spec` that holds a non-empty scalar, or nullptr. A configured
  // pointer that leads to an object or array is a wrong_type issue; a default candidate that
  // does is just not a match (ECS "service" is an object, plain logs' "service" a string).
  const ScalarText* Resolve(const FieldSpec& spec, RecordIssue& issue) const {
    for (uint32_t slot : spec.slots) {
      const ScalarText& v = slot_values_[slot];
      if (v.present()) return &v;
      if (spec.configured && v.kind == JsonKind::kContainer) {
        issue.Set(reason::kWrongType, spec.name, "expected a string or number", spec.tried);
      }
    }
    return nullptr;
  }

  error_code DecodeLine(ondemand::object& line, Context& ctx, int32_t index, int depth) {
    for (ScalarText& v : slot_values_) v = ScalarText{};
    NG_JSON_TRY(VisitObject(line, 0, depth));

    Record& r = BeginRecord(ctx, index, SignalKind::kLog);
    r.state = AlertState::kFiring;
    RecordIssue issue;
    const ScalarText* service = Resolve(fields_[kService], issue);
    const ScalarText* message = Resolve(fields_[kMessage], issue);
    if (service == nullptr) {
      issue.Set(reason::kMissingField, "service", "absent", fields_[kService].tried);
    }
    if (message == nullptr) {
      issue.Set(reason::kMissingField, "message", "absent", fields_[kMessage].tried);
    }
    // Resolved even when the Kafka timestamp is the event time: a configured pointer to an
    // object or array is a wrong_type issue either way.
    const ScalarText* time = Resolve(fields_[kTime], issue);
    if (ctx.meta.kafka_ts) {
      r.time = EventTime{*ctx.meta.kafka_ts};
    } else if (time != nullptr) {
      if (!ParseTimeText(time->text, &r.time)) {
        issue.Set(reason::kBadTimestamp, "time", "not an RFC 3339 time or epoch number",
                  fields_[kTime].tried);
      }
    } else {
      issue.Set(reason::kBadTimestamp, "time", "absent, and the message has no Kafka timestamp",
                fields_[kTime].tried);
    }

    if (service != nullptr) r.labels.Add("service", service->text);
    if (const ScalarText* level = Resolve(fields_[kLevel], issue)) {
      level_.assign(level->kind == JsonKind::kNumber ? NumericLevelName(level->text) : level->text);
      ToLowerAscii(&level_);
      r.labels.Add("level", level_);
    }
    if (const ScalarText* v = Resolve(fields_[kErrorType], issue)) {
      r.labels.Add("error_type", v->text);
    }
    if (const ScalarText* v = Resolve(fields_[kVersion], issue)) r.labels.Add("version", v->text);
    // Extra labels come last: an explicitly configured label wins over a field of that name.
    for (const FieldSpec& spec : labels_) {
      if (const ScalarText* v = Resolve(spec, issue)) r.labels.Add(spec.name, v->text);
    }
    r.labels.Canonicalize();

    if (message != nullptr) r.summary.assign(message->text);
    if (const ScalarText* v = Resolve(fields_[kStackTrace], issue)) r.description.assign(v->text);
    if (const ScalarText* v = Resolve(fields_[kTraceId], issue)) r.trace_id.assign(v->text);
    EndRecord(ctx, index, issue);
    return simdjson::SUCCESS;
  }

  std::vector<PathNode> nodes_;
  uint32_t num_slots_ = 0;
  std::array<FieldSpec, kNumFields> fields_;
  std::vector<FieldSpec> labels_;
  std::vector<ScalarText> slot_values_;  // per line; views into the current parse
  std::string level_;                    // lower-cased level, reused
};

}  // namespace

std::unique_ptr<Decoder> MakeJsonLogDecoder(const DecoderConfig& config) {
  return std::make_unique<JsonLogDecoder>(config.fields);
}

}  // namespace noisegate::processor

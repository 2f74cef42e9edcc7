// The decoder registry: input format name -> factory, as one plain constant table (no static
// registration objects, so the set of formats is visible here and in registry order).
#include <array>
#include <memory>
#include <string_view>
#include <vector>

#include "processor/decode/alertmanager.h"
#include "processor/decode/datadog.h"
#include "processor/decode/decoder.h"
#include "processor/decode/json_log.h"
#include "processor/decode/newrelic.h"
#include "processor/decode/silences.h"

namespace noisegate::processor {
namespace {

struct DecoderEntry {
  std::string_view name;
  std::unique_ptr<Decoder> (*make)(const DecoderConfig&);
};

// A new format is one line here plus its file pair and tests.
constexpr std::array<DecoderEntry, 6> kDecoders = {{
    {"alertmanager", &MakeAlertmanagerDecoder},
    {"grafana", &MakeGrafanaDecoder},
    {"newrelic", &MakeNewRelicDecoder},
    {"datadog", &MakeDatadogDecoder},
    {"json_log", &MakeJsonLogDecoder},
    {"silences", &MakeSilencesDecoder},
}};

}  // namespace

std::unique_ptr<Decoder> MakeDecoder(std::string_view format, const DecoderConfig& config) {
  for (const DecoderEntry& entry : kDecoders) {
    if (entry.name == format) return entry.make(config);
  }
  return nullptr;
}

std::vector<std::string_view> DecoderFormats() {
  std::vector<std::string_view> names;
  names.reserve(kDecoders.size());
  for (const DecoderEntry& entry : kDecoders) names.push_back(entry.name);
  return names;
}

DecoderConfig DecoderConfigFor(const rules::InputRule& input) {
  DecoderConfig cfg;
  JsonLogFields& f = cfg.fields;
  std::string* slots[] = {&f.time,       &f.level,       &f.service,  &f.message,
                          &f.error_type, &f.stack_trace, &f.trace_id, &f.version};
  const char* names[] = {"time",       "level",       "service",  "message",
                         "error_type", "stack_trace", "trace_id", "version"};
  for (const auto& [name, pointer] : input.fields) {
    for (size_t i = 0; i < std::size(names); ++i) {
      if (name == names[i]) *slots[i] = pointer;
    }
  }
  f.labels = input.labels;
  return cfg;
}

}  // namespace noisegate::processor

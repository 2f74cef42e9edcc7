#include "processor/decode/message.h"

#include <algorithm>

#include "processor/decode/dead_letter.h"

namespace noisegate::processor {

std::vector<std::unique_ptr<Decoder>> MakeDecoders(const rules::CompiledRules& rules,
                                                   std::string* error) {
  std::vector<std::unique_ptr<Decoder>> out;
  for (const rules::InputRule& in : rules.inputs) {
    out.push_back(MakeDecoder(in.format, DecoderConfigFor(in)));
    if (!out.back()) {
      *error = "no decoder for format " + in.format;
      return {};
    }
  }
  return out;
}

int64_t DecodeMessage(const rules::CompiledRules& rules,
                      std::vector<std::unique_ptr<Decoder>>& decoders, const RawMessage& m,
                      size_t max_bytes, int64_t fallback_ts, RecordBatch& out,
                      std::vector<DeadLetter>& dead) {
  out.Reset();
  dead.clear();
  auto reject = [&](std::string_view reason, std::string detail) {
    dead.push_back(DeadLetter{0, std::string(reason), std::move(detail)});
  };
  int input = rules.FindInput(m.topic);
  if (!m.envelope_error.empty()) {
    reject(reason::kBadEnvelope, std::string(m.envelope_error));
  } else if (input < 0) {
    reject(reason::kUnknownTopic,
           "no input in the rules reads topic \"" + std::string(m.topic) + "\"");
  } else if (m.payload_null && rules.inputs[input].format == "silences") {
    // A tombstone: the compacted silences topic forgetting an id long expired. Nothing to do.
  } else if (m.payload_null || m.payload.empty()) {
    reject(reason::kEmpty, "the message has no value");
  } else if (m.payload.size() > max_bytes) {
    reject(reason::kTooLarge, "message of " + std::to_string(m.payload.size()) +
                                  " bytes is over the limit of " + std::to_string(max_bytes));
  } else {
    MessageMeta meta;
    meta.topic = m.topic;
    meta.partition = m.partition;
    meta.offset = m.offset;
    meta.kafka_ts = m.ts;
    meta.input = input;
    decoders[input]->Decode(m.payload, meta, out, dead);
  }
  if (m.ts) return *m.ts;
  if (out.size() == 0) return fallback_ts;
  int64_t ts = out[0].time.ms;
  for (size_t i = 1; i < out.size(); ++i) ts = std::min(ts, out[i].time.ms);
  return ts;
}

}  // namespace noisegate::processor

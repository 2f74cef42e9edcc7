// One input message, whichever driver read it (a dump line in replay, a Kafka message live):
// checked against the rules' inputs and limits, then decoded by its input's decoder. Every
// driver decodes through processor/pipeline's Ingest, which calls DecodeMessage, so a message
// is accepted or dead-lettered the same way in all of them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "processor/decode/decoder.h"

namespace noisegate::processor {

// The largest message decoded by default (replay's --max-message-bytes, live's
// max_message_bytes, rule tests); larger ones are dead letters.
inline constexpr size_t kDefaultMaxMessageBytes = 1 << 20;

struct RawMessage {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<int64_t> ts;  // the Kafka timestamp (ms), when the message has one
  std::string_view payload;
  bool payload_null = false;
  std::string_view envelope_error;  // replay: the dump line's envelope is broken
};

// One decoder per input of the rules, in input order. Null (with `error` set) when an input
// names a format no decoder reads; the rules loader refuses those, so that is a bug.
std::vector<std::unique_ptr<Decoder>> MakeDecoders(const rules::CompiledRules& rules,
                                                   std::string* error);

// Decodes `m` into `out` and `dead` (both reset first). A message of no input, without a
// value, or over `max_bytes` is one dead letter. Returns the message's event time for
// ordering: its Kafka timestamp, else its earliest record's, else `fallback_ts`.
int64_t DecodeMessage(const rules::CompiledRules& rules,
                      std::vector<std::unique_ptr<Decoder>>& decoders, const RawMessage& m,
                      size_t max_bytes, int64_t fallback_ts, RecordBatch& out,
                      std::vector<DeadLetter>& dead);

}  // namespace noisegate::processor

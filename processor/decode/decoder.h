// Decoder: turns one message value of one input format into owned Records, and every part it
// cannot use into a DeadLetter with a machine-readable reason. simdjson lives only behind this
// interface. A Decoder holds a reusable simdjson parser and padding buffer, so it belongs to
// one thread; make one per thread from the registry.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dedup/record.h"
#include "rules/compiled_rules.h"

namespace noisegate::processor {

// Where json_log finds each field: JSON pointers (RFC 6901, e.g. "/exception/type"). An empty
// pointer means "try the common defaults" (ECS `@timestamp`, `log.level`, `service.name`,
// `error.type`, ...; plain `time`, `level`, `msg`/`message`, `service`, ...).
struct JsonLogFields {
  std::string time, level, service, message, error_type, stack_trace, trace_id, version;
  // Extra labels: label name -> JSON pointer (e.g. {"node", "/kubernetes/node/name"}).
  std::vector<std::pair<std::string, std::string>> labels;
};

struct DecoderConfig {
  JsonLogFields fields;  // used by json_log only
};

// The Kafka (or dump) coordinates of one message.
struct MessageMeta {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  // The Kafka timestamp in ms when the message has one (kcat envelope, live consumer). When
  // set it is every record's event time; otherwise the format's own timestamp is used.
  std::optional<int64_t> kafka_ts;
  int32_t input = -1;  // the rules' input index, copied into each Record
};

struct DeadLetter {
  int32_t index = 0;   // position of the bad record in the message (0 for a whole message)
  std::string reason;  // short machine-readable code, see dead_letter.h
  std::string detail;  // human text
};

// Records of one message. Record objects are reused between messages (Reset keeps them).
class RecordBatch {
 public:
  void Reset() { size_ = 0; }
  Record& Next() {
    if (size_ == records_.size()) records_.emplace_back();
    Record& r = records_[size_++];
    r.Clear();
    return r;
  }
  // Drops the last record returned by Next (for a record that turned out to be bad).
  void DropLast() { --size_; }
  size_t size() const { return size_; }
  Record& operator[](size_t i) { return records_[i]; }
  const Record& operator[](size_t i) const { return records_[i]; }

 private:
  std::vector<Record> records_;
  size_t size_ = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes `payload` (any bytes; the decoder pads a copy itself). Appends records to `out`
  // and rejected parts to `dead`. Never throws. A message whose JSON is malformed is rejected
  // whole (one DeadLetter, index 0, no records); a well-formed message whose individual
  // records lack required fields rejects just those records, by index.
  virtual void Decode(std::string_view payload, const MessageMeta& meta, RecordBatch& out,
                      std::vector<DeadLetter>& dead) = 0;
};

// The decoder settings of one input of the rules (json_log field pointers and labels).
DecoderConfig DecoderConfigFor(const rules::InputRule& input);

// The registry: format name -> factory. Returns nullptr for an unknown format.
std::unique_ptr<Decoder> MakeDecoder(std::string_view format, const DecoderConfig& config);
// All registered format names, in registry order.
std::vector<std::string_view> DecoderFormats();

}  // namespace noisegate::processor

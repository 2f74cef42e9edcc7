// libFuzzer target for the input decoders: feeds arbitrary bytes to every registered decoder and
// checks the decoders' promises, not just "no crash": a message either decodes or is rejected
// whole; what is accepted is well-formed UTF-8 JSON; decoding is deterministic under reuse.
// Input layout: byte 0 bit 0 = the message has a Kafka timestamp; the rest is the payload.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "processor/decode/dead_letter.h"
#include "processor/decode/decoder.h"
#include "processor/decode/json_util.h"

namespace {

using namespace noisegate;             // NOLINT(google-build-using-namespace)
using namespace noisegate::processor;  // NOLINT(google-build-using-namespace)

#define FUZZ_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

struct Target {
  std::unique_ptr<Decoder> decoder;
  RecordBatch out;
  std::vector<DeadLetter> dead;
};

std::vector<Target>& Targets() {
  static std::vector<Target>* targets = [] {
    auto* t = new std::vector<Target>;
    for (std::string_view format : DecoderFormats()) {
      t->push_back(Target{MakeDecoder(format, {}), {}, {}});
    }
    // json_log with configured pointers as well: array indexes and escaped tokens.
    DecoderConfig config;
    config.fields.service = "/a/0/b";
    config.fields.message = "/m~1n";
    config.fields.labels = {{"x", "/x~0y/1"}};
    t->push_back(Target{MakeDecoder("json_log", config), {}, {}});
    return t;
  }();
  return *targets;
}

bool IsWholeMessageReason(std::string_view r) {
  return r == reason::kEmpty || r == reason::kNotJson || r == reason::kTruncated ||
         r == reason::kInvalidUtf8 || r == reason::kTooLarge;
}

bool IsRecordReason(std::string_view r) {
  return r == reason::kWrongType || r == reason::kMissingField || r == reason::kBadTimestamp ||
         r == reason::kUnsupportedShape || r == reason::kBadSilence;
}

void Check(const Target& t, std::string_view payload) {
  bool whole = false;
  for (const DeadLetter& d : t.dead) {
    if (d.reason == reason::kAlertsLeftOut) {
      // A notice after the message's alerts: the last dead letter, past every record.
      FUZZ_CHECK(&d == &t.dead.back());
      FUZZ_CHECK(t.out.size() == 0 || d.index > t.out[t.out.size() - 1].addr.index);
      FUZZ_CHECK(!d.detail.empty());
      continue;
    }
    FUZZ_CHECK(IsWholeMessageReason(d.reason) || IsRecordReason(d.reason));
    FUZZ_CHECK(!d.detail.empty());
    FUZZ_CHECK(d.index >= 0);
    whole |= IsWholeMessageReason(d.reason);
  }
  if (whole) {
    FUZZ_CHECK(t.dead.size() == 1 && t.dead[0].index == 0 && t.out.size() == 0);
    return;
  }
  // Accepted as JSON: it must really be one well-formed UTF-8 JSON document.
  std::string_view json = payload;
  if (json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);
  size_t offset = 0;
  FUZZ_CHECK(CheckJsonSyntax(json, &offset) == JsonSyntax::kComplete);
  FUZZ_CHECK(simdjson::validate_utf8(json.data(), json.size()));
  // Record indexes are increasing and never shared with a dead letter.
  int32_t last = -1;
  for (size_t i = 0; i < t.out.size(); ++i) {
    FUZZ_CHECK(t.out[i].addr.index > last);
    last = t.out[i].addr.index;
    for (const DeadLetter& d : t.dead) FUZZ_CHECK(d.index != last);
    // A signal has labels; a silence has none, but at least one matcher.
    if (t.out[i].kind == SignalKind::kSilence) {
      FUZZ_CHECK(t.out[i].silence != nullptr && !t.out[i].silence->matchers.empty());
    } else {
      FUZZ_CHECK(!t.out[i].labels.empty() && t.out[i].silence == nullptr);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  MessageMeta meta;
  meta.topic = "fuzz";
  if (data[0] & 1) meta.kafka_ts = 1795489200000;
  for (Target& t : Targets()) {
    t.out.Reset();
    t.dead.clear();
    t.decoder->Decode(payload, meta, t.out, t.dead);
    Check(t, payload);
    // The same message again on the reused decoder and batch gives the same result.
    const size_t records = t.out.size();
    std::vector<DeadLetter> dead = t.dead;
    std::vector<Record> first(records);
    for (size_t i = 0; i < records; ++i) first[i] = t.out[i];
    t.out.Reset();
    t.dead.clear();
    t.decoder->Decode(payload, meta, t.out, t.dead);
    FUZZ_CHECK(t.out.size() == records && t.dead.size() == dead.size());
    for (size_t i = 0; i < records; ++i) {
      const Record& a = first[i];
      const Record& b = t.out[i];
      FUZZ_CHECK(a.labels == b.labels && a.summary == b.summary && a.link == b.link &&
                 a.description == b.description && a.time == b.time && a.state == b.state &&
                 a.addr.index == b.addr.index && a.ends_at == b.ends_at &&
                 a.trace_id == b.trace_id && a.source_fingerprint == b.source_fingerprint &&
                 a.runbook == b.runbook && a.image == b.image);
    }
    for (size_t i = 0; i < dead.size(); ++i) {
      FUZZ_CHECK(dead[i].reason == t.dead[i].reason && dead[i].index == t.dead[i].index);
    }
  }
  return 0;
}

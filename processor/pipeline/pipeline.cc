#include "processor/pipeline/pipeline.h"

#include <algorithm>

namespace noisegate::processor {

Ingest::Ingest(const rules::CompiledRules& rules, size_t max_message_bytes, std::string* error)
    : rules_(&rules),
      max_message_bytes_(max_message_bytes),
      decoders_(MakeDecoders(rules, error)) {}

int64_t Ingest::Decode(const RawMessage& m, int64_t fallback_ts) {
  message_ = m;
  ts_ = DecodeMessage(*rules_, decoders_, m, max_message_bytes_, fallback_ts, batch_, dead_);
  return ts_;
}

void Ingest::HandOver(IngestSink& sink, int64_t* channel_time) {
  if (channel_time != nullptr) {
    for (size_t i = 0; i < batch_.size(); ++i) {
      Record& rec = batch_[i];
      if (rec.time.ms < *channel_time) {
        rec.merge_time = EventTime{*channel_time};
      } else {
        *channel_time = rec.time.ms;
      }
    }
    // And the message's own time, which the channel's progress marks carry (a message with no
    // record, only dead letters, moves them too): no later record may merge before a mark.
    *channel_time = std::max(*channel_time, ts_);
  }
  size_t r = 0, d = 0;
  while (r < batch_.size() || d < dead_.size()) {
    if (d < dead_.size() && (r >= batch_.size() || dead_[d].index < batch_[r].addr.index)) {
      sink.OnDeadLetter(dead_[d++], message_, ts_);
    } else {
      sink.OnRecord(batch_[r++]);
    }
  }
}

void Correlate::End(const RunOn& run_on, bool finish) {
  Release();
  engine->FireDue();
  if (run_on.at_ms) {
    engine->AdvanceWatermark(EventTime{*run_on.at_ms});
  } else if (run_on.after_ms && engine->watermark() > kMinTime) {
    engine->AdvanceWatermark(engine->watermark() + std::chrono::milliseconds(*run_on.after_ms));
  }
  if (finish) engine->Finish();
}

}  // namespace noisegate::processor

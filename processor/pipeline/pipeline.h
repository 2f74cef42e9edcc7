// The one path from an input message to the engine, taken by every driver:
//
//   source --message--> Ingest --records--> Correlate (InputMerger -> dedup::Engine) --> sinks
//                          \---dead letters--> sink
//
// A source hands over the messages of its channels (input partitions) one at a time, the
// earliest first as IngestsBefore orders them, and marks each channel's progress (the time of
// the last message it ingested, and whether it is caught up). Ingest decodes a message
// (DecodeMessage) and hands its records and dead letters on in the message's own order.
// Correlate buffers the records in an InputMerger until every channel has passed their time,
// then feeds them to the engine in event-time order; at the end of the input, End runs event
// time on.
//
// The drivers differ only in their source and sinks:
//   replay      dump files, read channel by channel (processor/replay/replay.cc); Ingest hands
//               records straight to Correlate
//   live        Kafka input partitions (processor/kafka/live_stages.cc); records cross the
//               repartition topic from Ingest, on the replica that owns the input partition,
//               to Correlate, on the one that owns the record's correlate partition; a
//               replica that owns every partition hands them straight to Correlate, as replay
//               does (processor/kafka/live_direct.cc)
//   rule tests  a test's script of messages and records in time order (processor/testing)
//   decode      Ingest alone: it prints what Ingest hands on (processor/replay/show_decoded.cc)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dedup/engine.h"
#include "processor/decode/message.h"
#include "processor/pipeline/merger.h"

namespace noisegate::processor {

// Where Ingest hands a message's records and dead letters, in their index order.
class IngestSink {
 public:
  virtual ~IngestSink() = default;
  // A decoded record; the sink may take its contents (swap it with storage of its own).
  virtual void OnRecord(Record& record) = 0;
  // A part of message `m` that is no record; `ts`: the message's event time.
  virtual void OnDeadLetter(const DeadLetter& dead, const RawMessage& m, int64_t ts) = 0;
};

// Decodes messages with the decoders of every input of the rules, with their settings.
class Ingest {
 public:
  // The rules are kept by reference (a reload builds a new Ingest). `ok()` is false, with
  // `error` set, when an input names a format no decoder reads (the loader refuses those).
  Ingest(const rules::CompiledRules& rules, size_t max_message_bytes, std::string* error);
  bool ok() const { return decoders_.size() == rules_->inputs.size(); }

  // Decodes `m` and hands its records and dead letters to `sink`. Returns the message's event
  // time (its Kafka timestamp, else its earliest record's, else `fallback_ts`).
  // `channel_time`: the latest record or message time of the message's channel so far, kept
  // by the source across messages (and restarts); a record earlier than that merges at it
  // (Record::merge_time), and it moves on to the latest record's or message's. Null: the
  // message is of no channel (the intake's check, `noisegate decode`).
  int64_t Message(const RawMessage& m, int64_t fallback_ts, IngestSink& sink,
                  int64_t* channel_time) {
    Decode(m, fallback_ts);
    HandOver(sink, channel_time);
    return ts_;
  }
  // The same in two steps, for a source that looks at a message's records before it hands
  // them over (replay marks a channel's progress by its next message's earliest record).
  // The views in `m` must stay valid until HandOver.
  int64_t Decode(const RawMessage& m, int64_t fallback_ts);
  void HandOver(IngestSink& sink, int64_t* channel_time);

  // What the last Decode gave (until the next).
  const RecordBatch& records() const { return batch_; }
  const std::vector<DeadLetter>& dead_letters() const { return dead_; }
  int64_t ts() const { return ts_; }
  const RawMessage& message() const { return message_; }

 private:
  const rules::CompiledRules* rules_;
  size_t max_message_bytes_;
  std::vector<std::unique_ptr<Decoder>> decoders_;
  RawMessage message_;
  RecordBatch batch_;
  std::vector<DeadLetter> dead_;
  int64_t ts_ = 0;
};

// How far event time runs on at the end of the input: to `at`, or `after` past the last
// record's time; neither: only what is due at the last record's time fires.
struct RunOn {
  std::optional<int64_t> at_ms;
  std::optional<int64_t> after_ms;
};

// The records of every channel, back in event-time order, into one engine.
struct Correlate {
  InputMerger merger;
  std::unique_ptr<dedup::Engine> engine;

  Correlate() = default;
  Correlate(std::shared_ptr<const rules::CompiledRules> rules, dedup::Sink* sink)
      : engine(std::make_unique<dedup::Engine>(std::move(rules), sink)) {}

  // Buffers a record (moved from `r`) of input `input` (-1: of a topic that is no input);
  // `reread`, `drop_released`: see InputMerger::Push. False: its channel released it already.
  bool Push(Record& r, int input, bool reread = false, bool drop_released = false) {
    std::swap(merger.Next(), r);  // (both keep their records' buffers)
    return merger.Push(input, input >= 0, reread, drop_released);
  }
  // Feeds the engine the records every channel has passed, in order, at most `limit`;
  // returns how many. `reread_released` hears of each one pushed as `reread`.
  size_t Release(size_t limit = SIZE_MAX) {
    dedup::Engine& e = *engine;
    return merger.Release([&e](const Record& r) { e.Process(r); }, limit);
  }
  template <typename G>
  size_t Release(size_t limit, G&& reread_released) {
    dedup::Engine& e = *engine;
    return merger.Release([&e](const Record& r) { e.Process(r); }, limit, reread_released);
  }
  // The end of the input (replay, rule tests): what is due at the last record's time fires,
  // event time runs on as `run_on` says, and then, when `finish`, what group_wait still holds
  // back is sent as if its time had come (dedup::Engine::Finish).
  void End(const RunOn& run_on, bool finish);
};

}  // namespace noisegate::processor

// Skipping the repartition hop. Records cross the repartition topic only so that the replica
// that correlates them may be another than the one that ingests them. A replica that owns every
// correlate partition and every input partition (the only one in its group, the common
// deployment) puts each record straight into its correlate partition's merger, and marks the
// mergers' input progress directly, as replay does: the broker then stores and serves each
// record once, not three times.
//
// What stays the same, so that replicas that skip the hop and replicas that take it can follow
// each other through rebalances in any order:
//   - the order: before it skips the hop, a replica reads the repartition partitions to their
//     end (records another replica ingested before the rebalance) with its input partitions
//     paused, so that nothing of an input partition reaches a merger after what follows it.
//     Whatever else arrives on the topic later is read and correlated as ever;
//   - the checkpoints, and the offsets: a partition's offset is where it has read the topic
//     to, never further;
//   - the restore check (a committed offset needs the checkpoint written with it, see
//     Restore): it needs the committed offset to move on with every checkpoint. So each
//     commit writes a one-byte marker (an empty batch, which every reader of batches takes as
//     nothing) into every repartition partition, and a partition's next checkpoint waits until
//     it has read a marker since its last one (the commit is put off until then, a few
//     hundred milliseconds at most, see Commit). Reading a marker moves the offset on without
//     making the partition's state change: an idle replica does not commit.
//
// Markers serve the hop-taken path too: timers that fire on an idle partition's wall clock
// (AdvanceIdle) change its state with nothing read, so they fire only once the partition has
// read something since its last checkpoint. Each commit writes a marker into each partition it
// checkpoints, so that one is there when the partition falls idle; when none is, the partition
// asks for one (RequestMarker) and fires once it has read it back.

#include "processor/kafka/live_internal.h"
#include "processor/output/json_writer.h"

namespace noisegate::processor::live_internal {

namespace {

// At least the size of the record's repartition message (kRecordMessage, then EncodeRecord),
// cheaply: the exact size is computed only for records near the limit.
size_t RecordBytesBound(const Record& r) {
  size_t n = 128 + r.addr.topic.size() + r.summary.size() + r.description.size() + r.link.size() +
             r.trace_id.size() + r.source_fingerprint.size() + r.runbook.size() + r.image.size();
  for (const Label& l : r.labels) n += l.name.size() + l.value.size() + 20;
  if (r.silence != nullptr) {
    const SilenceSpec& s = *r.silence;
    n += 64 + s.id.size() + s.created_by.size() + s.comment.size();
    for (const SilenceSpec::Matcher& m : s.matchers) n += m.name.size() + m.value.size() + 20;
  }
  return n;
}

}  // namespace

void Live::DecideHop() {
  hop_ = Hop::kTaken;
  bool all = cfg_.skip_repartition && repartitions_ > 0 && channels_complete_ &&
             correlate_.size() == static_cast<size_t>(repartitions_) && !channels_.empty();
  for (const InputMerger::ChannelKey& ch : channels_) {
    if (!all) break;
    all = inputs_.find(ch) != inputs_.end();
  }
  m_.repartition_skipped.Set(0);
  if (!all) {
    // (A partition paused before a revoke stays paused in librdkafka: a drain cut short.)
    PauseInputs(false);
    return;
  }
  hop_ = Hop::kDraining;
  drain_started_ = Clock::now();
  for (auto& [id, p] : correlate_) p.at_end = false;
  PauseInputs(true);
  log_ << "noisegate: level=info event=repartition_hop state=draining partitions="
       << correlate_.size() << " inputs=" << inputs_.size()
       << " reason=\"this replica owns every partition: the repartition topic is read to its "
          "end, then skipped\"\n";
}

void Live::MaybeSkipHop() {
  if (hop_ == Hop::kDraining) {
    // (Not while a marker of the drain's is yet to be read: the arming commit's markers must
    // be the first read after it, or the hop would be skipped before they were.)
    bool all_at_end = true;
    for (auto& [id, p] : correlate_) all_at_end &= p.at_end && !p.marker_requested;
    if (!all_at_end) {
      // A partition's end is reported once per arrival there. Should that report not come (a
      // busy CI run once saw a drain wait a whole minute for one), a marker moves the end on
      // and the partition reports it again, as after a rewind. Harmless otherwise: a marker
      // moves the offset, never the state.
      if (now_ - drain_started_ > kDrainNudge) {
        drain_started_ = now_;  // (the next nudge, if need be, as long after this one)
        for (auto& [id, p] : correlate_) {
          if (!p.at_end && !p.marker_requested) {
            log_ << "noisegate: level=info event=repartition_hop state=draining partition=" << id
                 << " action=\"no end reported yet: a marker moves it on\"\n";
            RequestMarker(p);
          }
        }
      }
      return;
    }
    // The next commit writes the first markers (whether or not anything else happened); it
    // goes at once.
    hop_ = Hop::kArming;
    txn_has_work_ = true;
    arm_now_ = true;
    return;
  }
  if (hop_ != Hop::kArmed) return;
  // Every partition has read a marker written by the arming commit (or after it), so it has
  // read all that was written to it before; from here on, each commit's markers are read
  // before the next one.
  for (auto& [id, p] : correlate_) {
    if (!p.marker_read) return;
  }
  hop_ = Hop::kSkipped;
  PauseInputs(false);
  m_.repartition_skipped.Set(1);
  log_ << "noisegate: level=info event=repartition_hop state=skipped partitions="
       << correlate_.size() << " inputs=" << inputs_.size() << "\n";
}

namespace {
const char kMarker = static_cast<char>(kBatchMessage);
const std::string_view kMarkerMessage(&kMarker, 1);
}  // namespace

void Live::WriteHopMarkers() {
  if (hop_ == Hop::kDraining) return;  // (it would only add to what the drain reads)
  for (auto& [id, p] : correlate_) {
    // Taking the hop, partitions read records; a marker after each checkpoint is only for the
    // timers that may come due once a partition is idle (AdvanceIdle), so that they need not
    // wait for one.
    if (hop_ == Hop::kTaken && !p.dirty) continue;
    Produce(cfg_.repartition_topic, id, {}, &kMarkerMessage, WallMs());
    p.marker_requested = true;
  }
}

void Live::RequestMarker(CorrelatePartition& p) {
  if (p.marker_requested) return;
  Produce(cfg_.repartition_topic, p.id, {}, &kMarkerMessage, WallMs());
  p.marker_requested = true;
}

bool Live::MarkersRead() const {
  for (const auto& [id, p] : correlate_) {
    if (p.dirty && !p.moved) return false;
  }
  return true;
}

void Live::AwaitMarkers(std::chrono::milliseconds wait) {
  if (hop_ != Hop::kSkipped) return;
  const auto give_up = Clock::now() + wait;
  while (!MarkersRead() && Clock::now() < give_up && !fatal_) {
    health_.Beat();
    Receive(50);
  }
}

void Live::AfterRewind() {
  after_rewind_ = false;
  switch (hop_) {
    case Hop::kDraining:
      // The repartition partitions were sought back: markers move each end on, so that each
      // reports its end again whatever librdkafka remembers of the last one.
      for (auto& [id, p] : correlate_) RequestMarker(p);
      break;
    case Hop::kArming:
    case Hop::kArmed:
    case Hop::kSkipped:
      // The state is the last checkpoint's again, and the inputs are back at their committed
      // offsets: arm again, with the inputs paused, as after the drain.
      if (hop_ == Hop::kSkipped) {
        PauseInputs(true);
        m_.repartition_skipped.Set(0);
      }
      // (Not at once, as after a drain: the commit that failed may fail again, and the loop
      // must not retry it on every turn.)
      hop_ = Hop::kArming;
      txn_has_work_ = true;
      break;
    case Hop::kTaken:
      break;
  }
}

void Live::TakeHop(const char* why) {
  if (hop_ == Hop::kTaken) return;
  hop_ = Hop::kTaken;
  m_.repartition_skipped.Set(0);
  log_ << "noisegate: level=info event=repartition_hop state=taken reason=\"" << why << "\"\n";
}

void Live::PauseInputs(bool pause) {
  std::vector<RdKafka::TopicPartition*> tps;
  for (auto& [k, ip] : inputs_) {
    tps.push_back(RdKafka::TopicPartition::create(ip.topic, ip.partition));
    if (!pause) {
      // Not caught up, nor quiet, until it has been read again: a paused partition is not
      // fetched, and how long it was quiet says nothing about its producers.
      ip.at_end = false;
      ip.last_received = Clock::now();
    }
  }
  // (librdkafka drops what it prefetched of a paused partition and fetches it again from the
  // next offset the loop has not seen.)
  RdKafka::ErrorCode err = pause ? consumer_->pause(tps) : consumer_->resume(tps);
  if (err != RdKafka::ERR_NO_ERROR) {
    log_ << "noisegate: level=warn event=" << (pause ? "pause" : "resume") << "_inputs error=\""
         << RdKafka::err2str(err) << "\"\n";
  }
  RdKafka::TopicPartition::destroy(tps);
}

void Live::OnRecord(Record& rec) {
  m_.records.Increment();
  std::string key = PartitionKey(rec, cfg_.partition_by);
  const bool direct = hop_ == Hop::kSkipped;
  // The record's repartition message; when skipping the hop, only its size matters, and only
  // near the limit: a record is dead-lettered for its size wherever it is correlated.
  buf_.clear();
  if (!direct || RecordBytesBound(rec) > kMaxRecordBytes) {
    dedup::Writer w(&buf_);
    w.U8(kRecordMessage);
    dedup::EncodeRecord(rec, w);
  }
  if (buf_.size() > kMaxRecordBytes) {
    // It could not be produced (message.max.bytes), and a transaction that cannot hold a
    // message aborts forever: dead-letter it instead.
    DeadLetter too_large{rec.addr.index, std::string(reason::kTooLarge),
                         "record of " + std::to_string(buf_.size()) +
                             " bytes after decoding is over the limit of " +
                             std::to_string(kMaxRecordBytes)};
    OnDeadLetter(too_large, ingest_->message(), ingest_->ts());
    return;
  }
  if (rec.kind == SignalKind::kSilence) {
    // A silence mutes signals of every correlate partition: each engine gets its own copy, at
    // its place in that partition's event-time order (as progress marks go to every one).
    std::string line = "noisegate: level=info event=silence id=";
    JsonWriter::Escape(rec.silence->id, &line);
    line += " ends_at_ms=" + std::to_string(rec.silence->ends.ms) + " created_by=";
    JsonWriter::Escape(rec.silence->created_by, &line);
    line += " offset=" + std::to_string(rec.addr.offset) + "\n";
    log_ << line;
    for (int32_t p = 0; p < repartitions_; ++p) {
      if (!direct) {
        ToRepartition(p, rec.silence->id, buf_);
        continue;
      }
      Record copy = rec;
      CorrelateDirect(p, copy);
    }
    return;
  }
  const int32_t partition = PartitionOf(key, repartitions_);
  if (direct) {
    CorrelateDirect(partition, rec);
    return;
  }
  ToRepartition(partition, key, buf_);
}

void Live::CorrelateDirect(int32_t partition, Record& r) {
  CorrelatePartition& p = correlate_.at(partition);  // (all of them are owned)
  // The input's index, as the correlate stage sets it for a record off the topic.
  const int input = rules_->FindInput(r.addr.topic);
  r.input = input;
  // Not checkpointed: the input's offset stays before it until it is released.
  if (p.Push(r, input, /*reread=*/true, /*drop_released=*/true)) ++ingest_rereads_;
  p.dirty = true;
  txn_has_work_ = true;
}

}  // namespace noisegate::processor::live_internal

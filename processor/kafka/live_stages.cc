// The live driver's two stages: ingest (input partitions -> decoded records on the
// repartition topic, dead letters) and correlate (repartition -> event-time merge -> engine).
#include <algorithm>

#include "dedup/check.h"
#include "processor/kafka/live_internal.h"
#include "processor/output/json_writer.h"
#include "processor/output/render.h"

namespace noisegate::processor::live_internal {

void Live::Dispatch(MessagePtr msg) {
  std::string_view topic = rd_kafka_topic_name(msg->rkt);
  if (topic == cfg_.repartition_topic) {
    auto it = correlate_.find(msg->partition);
    if (it == correlate_.end()) return;  // not ours (any more)
    CorrelatePartition& p = it->second;
    p.at_end = false;
    p.moved = true;
    if (msg->len == 1 && *static_cast<const uint8_t*>(msg->payload) == kBatchMessage) {
      // A hop marker (live_direct.cc): the offset moves on, the state does not change.
      p.next_offset = msg->offset + 1;
      p.marker_read = true;
      p.marker_requested = false;
      return;
    }
    CorrelateOne(p, *msg);
    return;
  }
  auto it = inputs_.find(std::pair<std::string_view, int32_t>(topic, msg->partition));
  if (it == inputs_.end()) return;
  InputPartition& ip = it->second;
  ip.fetched_next = msg->offset + 1;
  ip.last_received = now_;
  ip.at_end = false;
  Pending p;
  p.ts = Timestamp(*msg).value_or(WallMs());
  p.arrived = now_;
  p.msg = std::move(msg);
  ip.queue.push_back(std::move(p));
}

bool Live::CorrelateEntry(CorrelatePartition& p, uint8_t kind, dedup::Reader& rd, bool whole) {
  if (kind == kRecordMessage) {
    Record& r = p.merger.Next();
    if (!dedup::DecodeRecord(rd, &r) || (whole && !rd.done())) {
      p.merger.Discard();
      return false;
    }
    // The input's index under the rules running here: the ingesting replica may have run
    // other rules (a reload not yet everywhere), and inputs are matched by topic.
    r.input = rules_->FindInput(r.addr.topic);
    // (A successor that took over an input with the hop skipped reads again what its
    // predecessor had not released everywhere.)
    p.merger.Push(r.input, r.input >= 0, /*reread=*/false, /*drop_released=*/true);
    return true;
  }
  if (kind == kMarkMessage) {
    std::string topic(rd.Str());
    auto partition = static_cast<int32_t>(rd.SVar());
    int64_t time = rd.SVar();
    bool idle = rd.Bool();
    if (!rd.ok() || (whole && !rd.done())) return false;
    // Marks of a topic that is no input here (removed by a reload) are ignored: nobody
    // will mark it idle at the end, and it would hold everything back.
    if (rules_->FindInput(topic) >= 0) p.merger.Mark({std::move(topic), partition}, time, idle);
    return true;
  }
  return false;
}

void Live::CorrelateOne(CorrelatePartition& p, const rd_kafka_message_t& msg) {
  std::string_view value = Payload(msg);
  dedup::Reader rd(value);
  uint8_t kind = msg.payload != nullptr ? rd.U8() : 0;
  bool ok = rd.ok();
  if (ok && kind == kBatchMessage) {
    // What precedes a corrupt entry of a batch stays: the rest cannot be told apart.
    while (ok && !rd.done()) {
      const uint8_t entry = rd.U8();
      ok = rd.ok() && entry != kBatchMessage && CorrelateEntry(p, entry, rd, false);
    }
  } else {
    ok = ok && CorrelateEntry(p, kind, rd, true);
  }
  p.next_offset = msg.offset + 1;
  p.dirty = true;
  txn_has_work_ = true;
  if (!ok) {
    DeadLetterSent(cfg_.repartition_topic, msg.partition, msg.offset, 0, reason::kBadRepartition,
                   "not a record this noisegate build can read");
    line_.clear();
    RenderDeadLetter(cfg_.repartition_topic, msg.partition, msg.offset, 0, reason::kBadRepartition,
                     "not a record this noisegate build can read", value, &line_);
    std::string_view v = line_;
    Produce(cfg_.dead_letter_topic, RdKafka::Topic::PARTITION_UA, {}, &v, WallMs());
    return;
  }
  Release(p);
}

void Live::Release(CorrelatePartition& p) {
  // Bounded per call, so that a large backlog does not keep the loop from its heartbeats,
  // commits and reloads; the loop calls again while there is more.
  size_t n =
      p.Correlate::Release(kMaxReleasePerCall, [this](const Record& r) { RereadReleased(r); });
  p.backlog = n == kMaxReleasePerCall;
  // Back-pressure (Kafka Streams' buffered.records.per.partition): while records that may go
  // wait for their turn, fetch no more of the partition, so that what is buffered (and
  // checkpointed) stays a few loop turns' worth in a catch-up. Only then: records held back
  // for a lagging input must keep coming, or its progress marks would never arrive.
  if (p.backlog != p.paused) PauseRepartition(p, p.backlog);
  if (n == 0) return;
  p.dirty = true;  // (a backlog may be released in a later transaction than its messages)
  txn_has_work_ = true;
  p.seen = true;
  p.last_arrival = now_;
  p.arrival_watermark = p.engine->watermark();
}

void Live::PauseRepartition(CorrelatePartition& p, bool pause) {
  std::vector<RdKafka::TopicPartition*> tp{
      RdKafka::TopicPartition::create(cfg_.repartition_topic, p.id)};
  // (librdkafka drops what it prefetched of a paused partition and fetches it again from
  // the next offset the loop has not seen.)
  RdKafka::ErrorCode err = pause ? consumer_->pause(tp) : consumer_->resume(tp);
  RdKafka::TopicPartition::destroy(tp);
  if (err == RdKafka::ERR_NO_ERROR) p.paused = pause;
}

void Live::WriteMarks() {
  // Before the hop is skipped, nothing is ingested: marks would only add to what is read.
  if (hop_ != Hop::kTaken && hop_ != Hop::kSkipped) return;
  for (auto& [k, ip] : inputs_) {
    // Idle: caught up, and quiet for input_sync_wait. A partition that is merely caught up
    // with a steady producer is not idle: its next message is due any moment, and records
    // of other inputs must not overtake it.
    bool idle = ip.queue.empty() && Clock::now() - ip.last_received >= cfg_.input_sync_wait &&
                !MayHaveMore(ip);
    if (ip.marked && ip.marked_ts == ip.last_ts && ip.marked_idle == idle) continue;
    ip.marked = true;
    ip.marked_ts = ip.last_ts;
    ip.marked_idle = idle;
    if (hop_ == Hop::kSkipped) {
      const InputMerger::ChannelKey channel{ip.topic, ip.partition};
      for (auto& [id, p] : correlate_) {
        p.merger.Mark(channel, ip.last_ts, idle);
        p.dirty = true;
      }
      txn_has_work_ = true;
      continue;
    }
    buf_.clear();
    dedup::Writer w(&buf_);
    w.U8(kMarkMessage);
    w.Str(ip.topic);
    w.SVar(ip.partition);
    w.SVar(ip.last_ts);
    w.Bool(idle);
    for (int32_t p = 0; p < repartitions_; ++p) ToRepartition(p, {}, buf_);
  }
}

void Live::ToRepartition(int32_t partition, std::string_view key, std::string_view message) {
  // The wall clock, not the event time (which a record carries): the topic's retention must
  // count from when the record was written, or a backfill of old events would be deleted
  // before the correlate stage reads it.
  if (cfg_.repartition_batch_bytes == 0) {
    Produce(cfg_.repartition_topic, partition, key, &message, WallMs());
    return;
  }
  txn_has_work_ = true;
  repartition_batches_.resize(static_cast<size_t>(repartitions_));
  std::string& batch = repartition_batches_[static_cast<size_t>(partition)];
  if (batch.size() > 1 && batch.size() + message.size() > cfg_.repartition_batch_bytes) {
    std::string_view v = batch;
    Produce(cfg_.repartition_topic, partition, {}, &v, WallMs());
    batch.clear();
  }
  if (batch.empty()) batch.push_back(static_cast<char>(kBatchMessage));
  batch.append(message);
}

void Live::FlushRepartition() {
  for (size_t p = 0; p < repartition_batches_.size(); ++p) {
    std::string& batch = repartition_batches_[p];
    if (batch.empty()) continue;
    std::string_view v = batch;
    Produce(cfg_.repartition_topic, static_cast<int32_t>(p), {}, &v, WallMs());
    batch.clear();
  }
}

bool Live::MayHaveMore(const InputPartition& ip) {
  // Not the high watermark: with transactional producers it lies past commit markers and
  // aborted messages, which a read_committed consumer never receives.
  return !ip.at_end;
}

void Live::ReleaseInputs(bool all) {
  while (true) {
    InputPartition* best = nullptr;
    for (auto& [k, ip] : inputs_) {
      if (ip.queue.empty()) continue;
      if (best == nullptr) {
        best = &ip;
        continue;
      }
      const Pending& a = ip.queue.front();
      const Pending& b = best->queue.front();
      if (IngestsBefore(a.ts, ip.order, ip.partition, b.ts, best->order, best->partition)) {
        best = &ip;
      }
    }
    if (best == nullptr) return;
    if (!all && now_ - best->queue.front().arrived < cfg_.input_sync_wait) {
      // Event-time order across inputs: an input that is behind may still deliver an
      // earlier message; wait a little for it (Kafka Streams' max.task.idle.ms).
      bool wait = false;
      for (auto& [k, ip] : inputs_) {
        if (&ip == best || !ip.queue.empty()) continue;
        if (MayHaveMore(ip)) {
          wait = true;
          break;
        }
      }
      if (wait) return;
    }
    IngestOne(*best);
  }
}

void Live::ReportInputLag() {
  if (now_ - lag_reported_ < std::chrono::seconds(1)) return;
  lag_reported_ = now_;
  LiveMetrics::InputLags lags;
  for (const auto& [k, ip] : inputs_) {
    if (ip.at_end && ip.queue.empty()) {  // read to its end, all ingested
      lags[{ip.topic, ip.partition}] = 0;
      continue;
    }
    // The next offset to ingest: after the last one ingested, else the first one received and
    // waiting, else where the partition resumed (none known yet: no lag reported).
    int64_t next = ip.next_offset;
    if (next < 0 && !ip.queue.empty()) next = ip.queue.front().msg->offset;
    if (next < 0) next = ip.fetched_next;
    int64_t low = -1, high = -1;
    // (The watermarks the last fetch response carried: no request to the broker.)
    if (next < 0 ||
        rd_kafka_get_watermark_offsets(consumer_->c_ptr(), ip.topic.c_str(), ip.partition, &low,
                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    lags[{ip.topic, ip.partition}] = std::max<int64_t>(0, high - next);
  }
  m_.SetInputLag(lags);
}

void Live::IngestOne(InputPartition& ip) {
  Pending p = std::move(ip.queue.front());
  ip.queue.pop_front();
  const rd_kafka_message_t& m = *p.msg;
  RawMessage raw;
  raw.topic = ip.topic;
  raw.partition = ip.partition;
  raw.offset = m.offset;
  raw.ts = Timestamp(m);
  raw.payload = Payload(m);
  raw.payload_null = m.payload == nullptr;
  const int64_t last_ts_before = ip.last_ts, channel_time_before = ip.channel_time;
  ingesting_ = &ip;
  ingest_rereads_ = 0;
  int64_t ts = ingest_->Message(raw, p.ts, *this, &ip.channel_time);
  ingesting_ = nullptr;
  if (ingest_rereads_ > 0 || !ip.in_flight.empty()) {
    ip.in_flight.push_back(
        InputPartition::InFlight{m.offset, last_ts_before, channel_time_before, ingest_rereads_});
  }
  m_.Messages(ip.topic).Increment();
  ip.next_offset = m.offset + 1;
  ip.last_ts = std::max(ip.last_ts, ts);
  txn_has_work_ = true;
}

void Live::RereadReleased(const Record& r) {
  auto it = inputs_.find(std::pair<std::string_view, int32_t>(r.addr.topic, r.addr.partition));
  if (it == inputs_.end()) return;  // (an input a reload removed: see Reload)
  auto& q = it->second.in_flight;
  auto f =
      std::lower_bound(q.begin(), q.end(), r.addr.offset,
                       [](const InputPartition::InFlight& a, int64_t o) { return a.offset < o; });
  NG_CHECK(f != q.end() && f->offset == r.addr.offset && f->outstanding > 0);
  --f->outstanding;
  while (!q.empty() && q.front().outstanding == 0) q.pop_front();
}

void Live::OnDeadLetter(const DeadLetter& dl, const RawMessage& m, int64_t ts) {
  // A message read again after a restart (see InputPartition::in_flight) sent its dead
  // letters the first time.
  if (ingesting_ != nullptr && m.offset < ingesting_->ingested_next) return;
  m_.decision[static_cast<int>(dedup::Decision::kDeadLetter)]->Increment();
  DeadLetterSent(m.topic, m.partition, m.offset, dl.index, dl.reason, dl.detail);
  line_.clear();
  RenderDeadLetter(m.topic, m.partition, m.offset, dl.index, dl.reason, dl.detail, m.payload,
                   &line_);
  std::string_view v = line_;
  Produce(cfg_.dead_letter_topic, RdKafka::Topic::PARTITION_UA, {}, &v, WallMs());
  if (!cfg_.explain_topic.empty()) {
    line_.clear();
    RenderDeadLetterExplain(m.topic, m.partition, m.offset, dl.index, ts, &line_);
    v = line_;
    Produce(cfg_.explain_topic, RdKafka::Topic::PARTITION_UA, {}, &v, WallMs());
  }
}

void Live::DeadLetterSent(std::string_view topic, int32_t partition, int64_t offset, int32_t index,
                          std::string_view why, std::string_view detail) {
  // Counted and logged once its transaction commits (CountCommitted), as notifications are.
  SentDeadLetter& sent = txn_dead_letters_.emplace_back();
  sent.topic = std::string(topic);
  sent.reason = std::string(why);
  sent.fields = "topic=" + sent.topic + " partition=" + std::to_string(partition) +
                " offset=" + std::to_string(offset) + " index=" + std::to_string(index) +
                " reason=" + sent.reason + " detail=";
  // (The detail can quote the message: a bounded excerpt, cut on a character boundary.)
  constexpr size_t kMaxDetail = 200;
  size_t cut = std::min(detail.size(), kMaxDetail);
  while (cut < detail.size() && cut > 0 && (detail[cut] & 0xC0) == 0x80) --cut;
  JsonWriter::Escape(detail.substr(0, cut), &sent.fields);
}

void Live::AdvanceIdle() {
  auto now = Clock::now();
  for (auto& [id, p] : correlate_) {
    if (!p.seen || p.merger.buffered() > 0 || now - p.last_arrival < cfg_.idle_timeout) continue;
    // Idle: event time goes on with the wall clock from the last record's time, so a lone
    // alert still pages after group_wait.
    EventTime target =
        p.arrival_watermark + std::chrono::duration_cast<milliseconds>(now - p.last_arrival);
    if (target <= p.engine->watermark()) continue;
    if (p.engine->NextTimer() <= target) {
      // Timers fire without a record read: the offset this checkpoint commits must still move
      // on, or a restore could take the previous checkpoint (same offset) and fire them again.
      // So a partition that has read nothing since its last checkpoint asks for a hop marker
      // first (live_direct.cc), and fires once it has read it back.
      if (!p.moved) {
        RequestMarker(p);
        continue;
      }
      p.dirty = true;
      txn_has_work_ = true;
    }
    p.engine->AdvanceWatermark(target);
  }
}

}  // namespace noisegate::processor::live_internal

// The live driver's transactions: produce into the open one, commit outputs, checkpoints
// and offsets together, and rewind to the last checkpoint after an abort.
#include <thread>

#include "processor/kafka/failpoint.h"
#include "processor/kafka/live_internal.h"
#include "processor/output/json_writer.h"
#include "processor/output/render.h"

namespace noisegate::processor::live_internal {

bool Live::BeginTransaction() {
  std::unique_ptr<RdKafka::Error> e(producer_->begin_transaction());
  if (e) {
    log_ << "noisegate: level=error event=begin_transaction error=\"" << e->str() << "\"\n";
    fatal_ = true;
    return false;
  }
  in_txn_ = true;
  txn_has_work_ = false;
  // What an aborted transaction batched and notified is done again.
  for (std::string& batch : repartition_batches_) batch.clear();
  txn_notifications_.clear();
  txn_dead_letters_.clear();
  txn_failed_ = false;
  txn_started_ = Clock::now();
  if (after_rewind_) AfterRewind();
  return true;
}

void Live::Produce(const std::string& topic, int32_t partition, std::string_view key,
                   const std::string_view* value, int64_t ts) {
  txn_has_work_ = true;
  if (txn_failed_) return;  // the transaction aborts anyway: what it holds is done again
  Clock::time_point full_since{};
  Clock::time_point next_log{};
  while (true) {
    RdKafka::ErrorCode err = producer_->produce(
        topic, partition, RdKafka::Producer::RK_MSG_COPY,
        value ? const_cast<char*>(value->data()) : nullptr, value ? value->size() : 0,
        key.empty() ? nullptr : key.data(), key.size(), ts, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) {
      if (full_since != Clock::time_point{}) {
        log_ << "noisegate: level=info event=produce_queue_drained waited_ms="
             << std::chrono::duration_cast<milliseconds>(Clock::now() - full_since).count() << "\n";
      }
      return;
    }
    if (err != RdKafka::ERR__QUEUE_FULL) {
      log_ << "noisegate: level=error event=produce topic=" << topic << " error=\""
           << RdKafka::err2str(err) << "\"\n";
      txn_failed_ = true;
      return;
    }
    // The producer's queue is full: the broker is slow or away. Wait for deliveries, keep
    // /healthz alive and say why we are not ready; but only so long (the consumer is not
    // served meanwhile, and a stop must not wait on the broker). Giving up fails the
    // transaction: it aborts and everything in it is processed again.
    auto now = Clock::now();
    if (full_since == Clock::time_point{}) full_since = now;
    health_.Beat();
    if (now >= next_log) {
      NotReady("producer queue full");
      log_ << "noisegate: level=warn event=produce_queue_full topic=" << topic
           << " queued=" << producer_->outq_len()
           << " waited_ms=" << std::chrono::duration_cast<milliseconds>(now - full_since).count()
           << "\n";
      next_log = now + milliseconds(5000);
    }
    if (stop_ || now - full_since >= cfg_.produce_wait) {
      log_ << "noisegate: level=error event=produce_gave_up topic=" << topic
           << " waited_ms=" << std::chrono::duration_cast<milliseconds>(now - full_since).count()
           << " reason=\"" << (stop_ ? "stopping" : "produce_wait passed")
           << "\" action=\"aborting the transaction; its input is processed again\"\n";
      txn_failed_ = true;
      return;
    }
    producer_->poll(50);
  }
}

bool Live::StillRetrying(const char* what, const std::string& error, int attempt) {
  // A broker outage: keep retrying (the transaction stays whole), say so on /readyz, and keep
  // /healthz alive, since the loop is not turning meanwhile. A stop gives up after a few tries:
  // what is not committed is processed again by the next owner.
  health_.Beat();
  NotReady(std::string(what) + " retrying: " + error);
  if (attempt < 3 || attempt % 30 == 0) {
    log_ << "noisegate: level=warn event=" << what << "_retry attempt=" << attempt + 1
         << " error=\"" << error << "\"\n";
  }
  return !(stop_ && attempt >= 2);
}

void Live::WriteCheckpoint(int32_t id, CorrelatePartition& p) {
  const int64_t ts = WallMs();
  size_t bytes = 0;
  auto produce = [&](const std::string& key, const std::string_view* value, const char* what) {
    Produce(cfg_.changelog_topic, id, key, value, ts);
    bytes += key.size() + (value ? value->size() : 0);
    m_.changelog_messages.Add({{"kind", what}}).Increment();
    Failpoint::Hit("checkpoint_mid");
  };
  // Keys the state no longer has go first: entries written below may reuse them.
  for (const std::string& key : p.obsolete_keys) produce(key, nullptr, "delete");
  // An entry is one message unless it is larger than a message may be: then it goes in parts,
  // and the parts it had before are deleted as it shrinks or goes.
  // (`buffer`: a record the merger holds, counted apart from the engine's entries.)
  auto entry = [&](const std::string& key, const std::string_view* value, bool buffer = false) {
    auto had = p.entry_parts.find(key);
    const uint32_t before = had == p.entry_parts.end() ? 0 : had->second;
    changelog_msgs_.clear();
    uint32_t parts = 0;
    if (value != nullptr) {
      parts = EncodeEntry(key, *value, before, &changelog_msgs_);
    } else {
      EraseEntry(key, before, &changelog_msgs_);
    }
    if (parts > 0) {
      p.entry_parts[key] = parts;
    } else if (had != p.entry_parts.end()) {
      p.entry_parts.erase(had);
    }
    for (const ChangelogMessage& m : changelog_msgs_) {
      std::string_view v = m.value ? std::string_view(*m.value) : std::string_view();
      produce(m.key, m.value ? &v : nullptr,
              buffer ? (m.value ? "buffer_put" : "buffer_delete") : (m.value ? "put" : "delete"));
    }
  };
  p.engine->SaveChanges([&](dedup::Engine::EntryKind kind, uint32_t slot,
                            std::string_view value) { entry(EntryKey(id, kind, slot), &value); },
                        [&](dedup::Engine::EntryKind kind, uint32_t slot) {
                          entry(EntryKey(id, kind, slot), nullptr);
                        },
                        &engine_state_);
  // The records the merger buffered or released since the last checkpoint.
  p.merger.SaveChanges(
      [&](uint32_t slot, std::string_view value) { entry(MergerEntryKey(id, slot), &value, true); },
      [&](uint32_t slot) { entry(MergerEntryKey(id, slot), nullptr, true); }, &buf_);
  buf_.clear();
  dedup::Writer w(&buf_);
  w.U8(kCheckpointVersion);
  w.SVar(p.next_offset);  // what the same transaction commits as this partition's offset
  p.pending_checkpoint_offset = p.next_offset;
  w.Str(engine_state_);
  w.Var(p.merger.persisted());  // what the merger's entries must add up to
  w.Var(p.merger.slot_bound());
  // Marks as of the input offsets committed with it: what is past them is read again.
  p.merger.SaveGlobals(w, [this](const InputMerger::ChannelKey& k, int64_t* time) {
    auto ip = inputs_.find(k);
    if (ip == inputs_.end() || ip->second.in_flight.empty()) return false;
    *time = ip->second.in_flight.front().last_ts;
    return true;
  });
  changelog_msgs_.clear();
  p.pending_globals_chunks =
      EncodeGlobals(id, p.generation + 1, buf_, p.globals_chunks, &changelog_msgs_);
  for (const ChangelogMessage& m : changelog_msgs_) {
    std::string_view v = m.value ? std::string_view(*m.value) : std::string_view();
    produce(m.key, m.value ? &v : nullptr, m.value ? "globals" : "delete");
  }
  m_.checkpoint_bytes.Increment(static_cast<double>(bytes));
}

bool Live::Commit(bool rewind) {
  last_commit_ok_ = false;
  if (!in_txn_) return !fatal_;
  // Records that may go are handed to the engine before the checkpoint: only those held back
  // for a lagging input are checkpointed as buffered (a catch-up fetches far more per loop
  // turn than Release takes).
  for (auto& [id, p] : correlate_) {
    while (p.backlog && !stop_) {
      Release(p);
      health_.Beat();
    }
  }
  WriteMarks();
  FlushRepartition();
  // A partition restored with entries still to write (after a whole checkpoint, or under
  // rules that remap it) is work even when nothing else happened.
  for (auto& [id, p] : correlate_) txn_has_work_ |= p.dirty;
  if (!txn_has_work_) {
    // Idle after the broker stopped answering: nothing will commit to say it is back, so ask
    // it (a metadata request, briefly: the loop must go on).
    int n = 0;
    if (awaiting_broker_ && Partitions(cfg_.repartition_topic, &n, kBrokerProbeTimeoutMs)) {
      Ready("an idle probe");
    }
    txn_started_ = Clock::now();
    last_commit_ok_ = true;
    ReportUnloggedDeadLetters(false);  // (a burst's count, once its window is over)
    return true;
  }
  // Skipping the hop, a partition's checkpoint waits until it has read a marker since its last
  // one, so that the offset it records moves on (live_direct.cc): the commit is put off, or,
  // when it cannot wait (a revoke, a stop) or waited too long, the transaction is given up
  // and done again from the last checkpoint.
  if (hop_ == Hop::kSkipped && !MarkersRead()) {
    const auto now = Clock::now();
    if (postponed_since_ == Clock::time_point{}) postponed_since_ = now;
    if (rewind && !stop_ && now - postponed_since_ < kMaxMarkerWait) return true;
    log_ << "noisegate: level=warn event=hop_marker_unread waited_ms="
         << std::chrono::duration_cast<milliseconds>(now - postponed_since_).count()
         << " action=\"aborting the transaction; its input is processed again\"\n";
    txn_failed_ = true;
  }
  postponed_since_ = {};
  auto commit_started = Clock::now();
  WriteHopMarkers();
  for (auto& [id, p] : correlate_) {
    if (!p.dirty) continue;
    WriteCheckpoint(id, p);
  }
  // What sending the offsets needs, owned by the call (which may outlive this frame).
  auto send = std::make_shared<OffsetsToSend>();
  for (auto& [k, ip] : inputs_) {
    if (ip.next_offset >= 0) {
      int64_t offset = 0;
      const InputResume resume = Durable(ip, &offset);
      send->Add(ip.topic, ip.partition, offset, resume);
    }
  }
  for (auto& [id, p] : correlate_) {
    // (Past the markers it read since, only with a checkpoint that says so.)
    const int64_t offset = p.dirty ? p.next_offset : p.checkpoint_offset;
    if (offset >= 0) send->Add(cfg_.repartition_topic, id, offset);
  }
  std::unique_ptr<RdKafka::Error> error;
  // A message that failed to produce (locally or in delivery) is not in the transaction:
  // committing would lose it. Abort instead, and process it again.
  bool produce_failed = false;
  if (txn_failed_) {
    producer_->flush(kRequestTimeoutMs);
    produce_failed = true;
  }
  bool stuck = false;   // a call did not come back: the producer is gone (see TxnCall)
  std::string gave_up;  // why the offsets were not sent, other than an error of the call
  if (!send->empty() && !produce_failed) {
    for (int attempt = 0;; ++attempt) {
      if (coordinator_suspect_) {
        RdKafka::ErrorCode asked =
            AskGroupCoordinator(send->first_topic(), send->first_partition());
        if (asked != RdKafka::ERR_NO_ERROR) {
          gave_up = "the group coordinator does not answer: " + RdKafka::err2str(asked);
          if (!StillRetrying("group_coordinator", gave_up, attempt)) break;
          std::this_thread::sleep_for(milliseconds(100));  // (it may fail at once)
          continue;
        }
        gave_up.clear();
        coordinator_suspect_ = false;
      }
      RdKafka::KafkaConsumer* consumer = consumer_.get();
      auto call = [send, consumer](RdKafka::Producer* p) {
        return send->Send(p, consumer, kRequestTimeoutMs);
      };
      if (TxnCall("send_offsets", call, &error) == CallOutcome::kStuck) {
        stuck = true;
        break;
      }
      if (!error || !error->is_retriable() ||
          !StillRetrying("send_offsets", error->str(), attempt)) {
        break;
      }
    }
  }
  if (!error && !produce_failed && !stuck && gave_up.empty()) {
    Failpoint::Hit("before_commit");
    for (int attempt = 0;; ++attempt) {
      auto call = [](RdKafka::Producer* p) { return p->commit_transaction(kRequestTimeoutMs); };
      if (TxnCall("commit", call, &error) == CallOutcome::kStuck) {
        stuck = true;
        break;
      }
      if (!error || !error->is_retriable() || !StillRetrying("commit", error->str(), attempt))
        break;
    }
  }
  in_txn_ = false;
  bool failed = error != nullptr || produce_failed || stuck || !gave_up.empty();
  m_.transactions.Add({{"result", failed ? "aborted" : "committed"}}).Increment();
  if (stuck) {
    NotReady("replacing a stuck producer");
    // The commit may have gone through: what it notified is not known to have gone out.
    for (const SentNotification& sent : txn_notifications_) {
      log_ << "noisegate: level=warn event=notification_outcome_unknown " << sent.fields << "\n";
    }
    txn_notifications_.clear();
    // (A burst logs its first few and how many there were.)
    const size_t burst = kDeadLetterLogBurst;
    for (size_t i = 0; i < txn_dead_letters_.size() && i < burst; ++i) {
      log_ << "noisegate: level=warn event=dead_letter_outcome_unknown "
           << txn_dead_letters_[i].fields << "\n";
    }
    if (txn_dead_letters_.size() > burst) {
      log_ << "noisegate: level=warn event=dead_letters_outcome_unknown count="
           << txn_dead_letters_.size() << "\n";
    }
    txn_dead_letters_.clear();
    // Stopping: nothing is lost (the next owner fences the abandoned producer and resumes
    // from the committed offsets), so the stop stays clean.
    if (stop_) return false;
    // The new producer's transactions start by aborting the old one's on the broker.
    if (!ReplaceProducer()) {
      fatal_ = true;
      return false;
    }
    if (rewind) Rewind();
    return BeginTransaction();
  }
  if (failed) {
    std::string why = error              ? error->str()
                      : !gave_up.empty() ? gave_up
                                         : "a message could not be produced";
    NotReady("transaction failed: " + why);
    log_ << "noisegate: level=error event=commit_failed error=\"" << why
         << "\" fatal=" << (error && error->is_fatal()) << "\n";
    if (error && error->is_fatal()) {
      fatal_ = true;
      return false;
    }
    std::unique_ptr<RdKafka::Error> abort_error;
    for (int attempt = 0;; ++attempt) {
      auto call = [](RdKafka::Producer* p) { return p->abort_transaction(kRequestTimeoutMs); };
      if (TxnCall("abort", call, &abort_error) == CallOutcome::kStuck) {
        if (stop_) return false;  // a clean stop, as below
        if (!ReplaceProducer()) {
          fatal_ = true;
          return false;
        }
        abort_error.reset();
        break;
      }
      if (!abort_error || !abort_error->is_retriable() ||
          !StillRetrying("abort", abort_error->str(), attempt)) {
        break;
      }
    }
    if (abort_error) {
      // Stopping: nothing is lost (the next owner fences this producer and resumes from the
      // committed offsets), so the stop stays clean. Otherwise the pod restarts.
      log_ << "noisegate: level=error event=abort_failed error=\"" << abort_error->str()
           << "\" stopping=" << (stop_ ? 1 : 0) << "\n";
      if (stop_) return false;
      fatal_ = true;
      return false;
    }
    if (rewind) Rewind();
    return BeginTransaction();
  }
  last_commit_ok_ = true;
  CountCommitted();
  Failpoint::Hit("after_commit");
  if (hop_ == Hop::kArming) {
    // Its markers are out. Each lies after whatever another replica wrote to its partition
    // before it: one read back means everything before it was read.
    hop_ = Hop::kArmed;
    for (auto& [id, p] : correlate_) p.marker_read = false;
  }
  for (auto& [id, p] : correlate_) {
    if (p.dirty) {
      p.checkpoint_offset = p.pending_checkpoint_offset;
      p.moved = false;
      p.generation += 1;
      p.globals_chunks = p.pending_globals_chunks;
      p.obsolete_keys.clear();
      p.dirty = false;
    }
  }
  for (auto& [k, ip] : inputs_) ip.committed_ts = ip.last_ts;
  m_.commit_seconds.Observe(std::chrono::duration<double>(Clock::now() - commit_started).count());
  size_t buffered = 0, open = 0;
  int64_t newest = INT64_MIN;
  dedup::StateSizes state;
  uint64_t expired = 0;
  for (auto& [id, p] : correlate_) {
    buffered += p.merger.buffered();
    dedup::EngineStats stats = p.engine->stats();
    open += stats.open_incidents;
    expired += stats.fingerprints_expired;
    state += p.engine->state_sizes();
    if (p.seen) newest = std::max(newest, p.engine->watermark().ms);
  }
  m_.SetState(state, expired);
  m_.buffered.Set(static_cast<double>(buffered));
  m_.open_incidents.Set(static_cast<double>(open));
  m_.partitions.Set(static_cast<double>(correlate_.size()));
  if (newest != INT64_MIN) m_.event_time_lag.Set(static_cast<double>(WallMs() - newest) / 1000.0);
  Ready("a committed transaction");
  return BeginTransaction();
}

InputResume Live::Durable(const InputPartition& ip, int64_t* offset) const {
  auto known = [](int64_t v) { return v == INT64_MIN ? std::nullopt : std::optional<int64_t>(v); };
  if (ip.in_flight.empty()) {
    *offset = ip.next_offset;
    return InputResume{known(ip.channel_time), known(ip.last_ts),
                       std::max(ip.next_offset, ip.ingested_next)};
  }
  const InputPartition::InFlight& first = ip.in_flight.front();
  *offset = first.offset;
  return InputResume{known(first.channel_time), known(first.last_ts),
                     std::max(ip.next_offset, ip.ingested_next)};
}

void Live::Resume(InputPartition& ip, const InputResume& r) {
  ip.channel_time = r.channel_time.value_or(INT64_MIN);
  ip.last_ts = ip.committed_ts = r.last_ts.value_or(INT64_MIN);
  ip.ingested_next = r.ingested.value_or(-1);
}

void Live::Rewind() {
  log_ << "noisegate: level=warn event=rewind reason=\"transaction aborted: back to the last "
          "checkpoint and committed offsets\"\n";
  std::vector<RdKafka::TopicPartition*> parts;
  for (auto& [k, ip] : inputs_) {
    ip.queue.clear();
    ip.next_offset = -1;
    ip.fetched_next = -1;
    // Sought back: neither caught up nor quiet until it has been read again (an idle mark
    // meanwhile would let other inputs' records pass what it has yet to deliver).
    ip.at_end = false;
    ip.last_received = Clock::now();
    // Progress marks must not claim what the aborted transaction ingested.
    ip.last_ts = ip.committed_ts;  // (and what the broker says, below)
    ip.in_flight.clear();
    ip.marked = false;
    parts.push_back(RdKafka::TopicPartition::create(ip.topic, ip.partition));
  }
  std::vector<int32_t> ids;
  for (auto& [id, p] : correlate_) {
    ids.push_back(id);
    parts.push_back(RdKafka::TopicPartition::create(cfg_.repartition_topic, id));
  }
  Restore(ids);
  for (auto& [id, p] : correlate_) PauseRepartition(p, false);  // (the backlog went with it)
  after_rewind_ = true;
  if (!parts.empty()) {
    // Where to resume must be known for sure: from the beginning only for a partition that
    // truly has no committed offset. Anything else is fatal (the pod restarts and resumes
    // from the committed offsets, which is safe).
    // And what each input resumes with: a commit whose outcome was not known (a stuck
    // producer) may have gone through, with newer values than this process remembers.
    std::vector<InputResume> resumes;
    RdKafka::ErrorCode err =
        FetchCommitted(parts, "rewind_committed_retry", Clock::time_point::max(), &resumes);
    for (size_t i = 0; i < parts.size(); ++i) {
      RdKafka::TopicPartition* tp = parts[i];
      if (err != RdKafka::ERR_NO_ERROR || tp->err() != RdKafka::ERR_NO_ERROR) {
        fatal_ = true;
        break;
      }
      if (auto ip = inputs_.find({tp->topic(), tp->partition()}); ip != inputs_.end()) {
        Resume(ip->second, resumes[i]);
      }
      if (tp->offset() < 0) tp->set_offset(RdKafka::Topic::OFFSET_BEGINNING);
      RdKafka::ErrorCode serr = consumer_->seek(*tp, kRequestTimeoutMs);
      if (serr != RdKafka::ERR_NO_ERROR) {
        log_ << "noisegate: level=error event=rewind_seek_failed topic=" << tp->topic()
             << " partition=" << tp->partition() << " error=\"" << RdKafka::err2str(serr) << "\"\n";
        fatal_ = true;
        break;
      }
    }
  }
  RdKafka::TopicPartition::destroy(parts);
}

void Live::Notified(const dedup::Notification& n) {
  SentNotification& sent = txn_notifications_.emplace_back();
  sent.page = n.route == rules::Action::kPage;
  sent.trigger = n.action == dedup::NotifyAction::kTrigger;
  const dedup::Incident& inc = *n.incident;
  std::string& line = sent.fields;
  line = "route=";
  line += sent.page ? "page" : "ticket";
  line += sent.trigger ? " action=trigger" : " action=resolve";
  line += " reason=";
  line += n.reason;
  line += " dedup_key=";
  line += inc.id;
  // Text from the rules and the input is quoted as a JSON string (logfmt takes that): it can
  // neither end the line nor forge a key.
  line += " rule=";
  JsonWriter::Escape(inc.rule_name, &line);
  line += " severity=";
  line += dedup::SeverityName(inc.severity);
  line += " summary=";
  JsonWriter::Escape(IncidentSummary(n, *rules_), &line);
}

void Live::CountCommitted() {
  for (const SentNotification& sent : txn_notifications_) {
    m_.Notification(sent.page, sent.trigger).Increment();
    log_ << "noisegate: level=info event=notification " << sent.fields << "\n";
  }
  txn_notifications_.clear();
  for (const SentDeadLetter& dl : txn_dead_letters_) {
    m_.DeadLetter(dl.topic, dl.reason).Increment();
    LogDeadLetter(dl);
  }
  txn_dead_letters_.clear();
  ReportUnloggedDeadLetters(false);
}

void Live::ReportUnloggedDeadLetters(bool now) {
  if (!now && now_ - dead_letter_log_window_ < kDeadLetterLogWindow) return;
  if (dead_letters_unlogged_ > 0) {
    log_ << "noisegate: level=warn event=dead_letters_not_logged count=" << dead_letters_unlogged_
         << " note=\"more than " << kDeadLetterLogBurst << " in " << kDeadLetterLogWindow.count()
         << " s; every one is on " << cfg_.dead_letter_topic
         << " and counted in noisegate_dead_letters_total\"\n";
  }
  dead_letter_log_window_ = now_;
  dead_letters_logged_ = 0;
  dead_letters_unlogged_ = 0;
}

void Live::LogDeadLetter(const SentDeadLetter& dl) {
  ReportUnloggedDeadLetters(false);  // (a window over: a new one opens)
  if (dead_letters_logged_ >= kDeadLetterLogBurst) {
    ++dead_letters_unlogged_;
    return;
  }
  ++dead_letters_logged_;
  log_ << "noisegate: level=warn event=dead_letter " << dl.fields << "\n";
}

}  // namespace noisegate::processor::live_internal

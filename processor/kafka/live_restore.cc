// The live driver's restores: partitions rebuilt from the changelog when they are assigned
// (or after an abort), and the rebalance callback.
#include <thread>

#include "processor/kafka/failpoint.h"
#include "processor/kafka/live_internal.h"

namespace noisegate::processor::live_internal {

RdKafka::ErrorCode Live::FetchCommitted(std::vector<RdKafka::TopicPartition*>& parts,
                                        const char* event, Clock::time_point give_up,
                                        std::vector<InputResume>* resumes) {
  auto fetch = [&] {
    return resumes != nullptr
               ? FetchCommittedResumes(consumer_.get(), parts, resumes, kRequestTimeoutMs)
               : consumer_->committed(parts, kRequestTimeoutMs);
  };
  RdKafka::ErrorCode err = fetch();
  for (int attempt = 0; err != RdKafka::ERR_NO_ERROR && !stop_ && Clock::now() < give_up;
       ++attempt) {
    health_.Beat();
    if (attempt % 10 == 0) {
      log_ << "noisegate: level=warn event=" << event << " error=\"" << RdKafka::err2str(err)
           << "\"\n";
    }
    std::this_thread::sleep_for(milliseconds(100));  // an error may come back at once
    err = fetch();
  }
  return err;
}

bool Live::CommittedRepartitionOffsets(const std::vector<int32_t>& ids,
                                       std::map<int32_t, int64_t>* offsets) {
  std::vector<RdKafka::TopicPartition*> parts;
  for (int32_t id : ids)
    parts.push_back(RdKafka::TopicPartition::create(cfg_.repartition_topic, id));
  RdKafka::ErrorCode err =
      FetchCommitted(parts, "restore_committed_retry", Clock::now() + cfg_.restore_wait);
  for (RdKafka::TopicPartition* tp : parts) {
    (*offsets)[tp->partition()] = tp->err() == RdKafka::ERR_NO_ERROR ? tp->offset() : -1;
  }
  RdKafka::TopicPartition::destroy(parts);
  return err == RdKafka::ERR_NO_ERROR;
}

bool Live::ReadChangelog(const std::vector<int32_t>& ids,
                         std::map<int32_t, ChangelogReader>* readers,
                         std::map<int32_t, std::pair<uint64_t, uint64_t>>* read,
                         std::map<int32_t, int64_t>* next) {
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int32_t id : ids) {
    auto at = next->find(id);
    if (at == next->end()) {
      readers->insert_or_assign(id, ChangelogReader(id));
      (*read)[id] = {0, 0};
    }
    assignment.push_back(RdKafka::TopicPartition::create(
        cfg_.changelog_topic, id,
        at == next->end() ? RdKafka::Topic::OFFSET_BEGINNING : at->second));
  }
  std::string err;
  auto conf = ClientConf({
      {"group.id", cfg_.group + ".restore"},
      {"isolation.level", "read_committed"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      // Large fetches: a restore reads the partitions to their end as fast as it can.
      {"max.partition.fetch.bytes", "16777216"},
      {"fetch.max.bytes", "52428800"},
      {"queued.max.messages.kbytes", "262144"},
      // A full local queue makes librdkafka back off its fetches (fetch.error.backoff.ms);
      // a restore drains the queue fast, so the count threshold must not be what stops it.
      {"queued.min.messages", "10000000"},
      {"fetch.error.backoff.ms", "20"},
  });
  std::unique_ptr<RdKafka::KafkaConsumer> c;
  if (conf) c.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) {
    RdKafka::TopicPartition::destroy(assignment);
    log_ << "noisegate: level=error event=restore error=\"" << err << "\"\n";
    fatal_ = true;
    return false;
  }
  c->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  // Batches off the consumer's queue (a restore reads a message per state entry: a million
  // for a million fingerprints).
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(c->c_ptr());
  std::vector<rd_kafka_message_t*> batch(4096);
  size_t at_end = 0;
  std::map<int32_t, bool> done;
  while (at_end < ids.size() && !stop_) {
    health_.Beat();
    ssize_t n = rd_kafka_consume_batch_queue(queue, 200, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      MessagePtr m(batch[i]);
      const int32_t partition = m->partition;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (!done[partition]) {
          done[partition] = true;
          ++at_end;
        }
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_ << "noisegate: level=warn event=restore_consume error=\""
             << rd_kafka_message_errstr(m.get()) << "\"\n";
        continue;
      }
      auto it = readers->find(partition);
      if (it == readers->end()) continue;
      (*read)[partition].first++;
      (*read)[partition].second += m->len;
      (*next)[partition] = m->offset + 1;
      std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
      std::string_view value(static_cast<const char*>(m->payload), m->len);
      it->second.Add(key, m->payload ? &value : nullptr);
    }
  }
  rd_kafka_queue_destroy(queue);
  c->close();
  return at_end == ids.size();
}

namespace {

// The repartition offset a checkpoint says its state covers; nullopt for a version 1
// checkpoint, which does not say. Corrupt checkpoints are left to the full decode.
std::optional<int64_t> CheckpointOffset(const ChangelogReader::Checkpoint& cp) {
  dedup::Reader rd(cp.payload);
  if (rd.U8() < 2) return std::nullopt;
  int64_t offset = rd.SVar();
  return rd.ok() ? std::optional<int64_t>(offset) : std::nullopt;
}

}  // namespace

Status Live::RestoreEngine(const ChangelogReader::Checkpoint& cp, CorrelatePartition& p) {
  dedup::Reader rd(cp.payload);
  const uint8_t version = rd.U8();
  if (version < 1 || version > kCheckpointVersion) {
    return MakeError(ErrorCode::kParse, "unknown checkpoint version " + std::to_string(version));
  }
  if (version >= 2) rd.SVar();  // the offset, checked before
  std::string_view engine_state = rd.Str();
  uint64_t buffered = 0, slot_bound = 0;  // of the merger's entries (version 4)
  if (version >= 4) {
    buffered = rd.Var();
    slot_bound = rd.Var();
  }
  if (!rd.ok()) return MakeError(ErrorCode::kParse, "checkpoint: cut short");
  Status st;
  if (cp.per_entry != (version >= kFirstPerEntryVersion)) {
    st = MakeError(ErrorCode::kParse,
                   "checkpoint version " + std::to_string(version) + " under the wrong key");
  } else if (cp.per_entry) {
    dedup::Engine::Entries entries;
    entries.globals = engine_state;
    entries.fingerprints = cp.fingerprints;
    entries.incidents = cp.incidents;
    st = p.engine->LoadEntries(entries);
  } else {
    st = p.engine->LoadState(engine_state);
    // The changelog holds no entries yet: the next checkpoint writes them all.
    p.engine->TrackChanges(/*all=*/true);
  }
  auto input_of = [this](std::string_view topic) { return rules_->FindInput(topic); };
  if (st && (!p.merger.LoadGlobals(rd, input_of, /*released=*/version >= 5) || !rd.done())) {
    st = MakeError(ErrorCode::kParse, "checkpoint: merger state is corrupt");
  }
  // Buffered records are entries from version 4 on; under an older globals they are left over
  // from a newer noisegate (a rollback): the next checkpoint deletes them.
  if (st && version >= 4 && !p.merger.LoadEntries(cp.buffered, input_of, buffered, slot_bound)) {
    st = MakeError(ErrorCode::kParse, "checkpoint: the buffered records (" +
                                          std::to_string(cp.buffered.size()) + " entries, " +
                                          std::to_string(buffered) +
                                          " expected) are incomplete or corrupt");
  } else if (st && version < 4) {
    for (const auto& [slot, v] : cp.buffered) p.obsolete_keys.push_back(MergerEntryKey(p.id, slot));
  }
  return st;
}

bool Live::Restore(const std::vector<int32_t>& ids) {
  if (ids.empty()) return true;
  auto started = Clock::now();
  for (int32_t id : ids) {
    CorrelatePartition& p = correlate_[id];
    p.id = id;
    p.engine.reset();  // before its sink
    p.sink = std::make_unique<PartitionSink>(this, id);
    p.engine = std::make_unique<dedup::Engine>(rules_, p.sink.get());
    p.engine->TrackChanges(/*all=*/false);
    p.generation = 0;
    p.obsolete_keys.clear();
    p.entry_parts.clear();
    p.globals_chunks = 0;
    p.dirty = false;
    p.seen = false;
    p.backlog = false;
    p.at_end = false;
    p.next_offset = -1;
    p.checkpoint_offset = -1;
    p.moved = false;
    p.marker_read = false;
    p.marker_requested = false;
    p.merger = InputMerger();
  }
  // The previous owner may still be committing its last transaction (checkpoints and offsets
  // together). Its offsets are waited for first; then the changelog must hold the checkpoint
  // those offsets belong to. Its transaction marker can reach the changelog a moment after
  // the offsets are stable, so a checkpoint older than the committed offset means "read
  // again", not "resume with it": that would skip records the state never saw (an incident
  // without its resolve, or paged twice).
  std::map<int32_t, int64_t> committed;
  const bool committed_known = CommittedRepartitionOffsets(ids, &committed);
  const auto committed_at = Clock::now();
  if (!committed_known) {
    if (stop_) return false;
    log_ << "noisegate: level=warn event=restore_committed_unknown action=\"restoring without "
            "the consistency check\"\n";
  }
  std::map<int32_t, ChangelogReader> readers;
  std::map<int32_t, std::pair<uint64_t, uint64_t>> read;  // messages, bytes
  std::map<int32_t, int64_t> next;                        // where a retry reads on
  std::map<int32_t, Result<std::optional<ChangelogReader::Checkpoint>>> checkpoints;
  std::vector<int32_t> pending = ids;
  std::set<int32_t> stale_ids;  // restored past restore_wait from an older checkpoint
  // The wait counts from the first read to the end (which may itself take a while).
  std::optional<Clock::time_point> give_up;
  for (int attempt = 0; !pending.empty(); ++attempt) {
    if (attempt > 0) {
      health_.Beat();
      std::this_thread::sleep_for(milliseconds(200));
    }
    if (!ReadChangelog(pending, &readers, &read, &next)) return false;
    if (!give_up) give_up = Clock::now() + cfg_.restore_wait;
    Failpoint::Hit("restore");
    std::vector<int32_t> stale;
    for (int32_t id : pending) {
      auto cp = readers.at(id).Finish();
      if (cp && cp->has_value() && (*cp)->per_entry && readers.at(id).has_whole()) {
        // Both kinds: an older noisegate (a rolling upgrade, a rollback) owned the partition
        // after this one and wrote a whole checkpoint. The one covering more input is newer.
        auto whole = readers.at(id).Finish(/*whole=*/true);
        if (whole && whole->has_value() &&
            CheckpointOffset(**whole).value_or(-1) > CheckpointOffset(**cp).value_or(-1)) {
          log_ << "noisegate: level=warn event=restore_whole_checkpoint partition=" << id
               << " reason=\"an older noisegate checkpointed after the newest entries\"\n";
          cp = std::move(whole);
        }
      }
      const int64_t want = committed.count(id) ? committed[id] : -1;
      // Behind: a committed offset needs the checkpoint written with it. No checkpoint at all
      // is behind too (every offset commit comes with one); a version 1 checkpoint does not
      // say what it covers and is taken as it is.
      bool behind = false;
      std::optional<int64_t> have;
      if (cp && want >= 0) {
        if (!cp->has_value()) {
          behind = true;
        } else if ((have = CheckpointOffset(**cp)) && *have >= 0 && *have < want) {
          behind = true;
        }
      }
      if (behind) {
        if (Clock::now() < *give_up) {
          stale.push_back(id);
          continue;
        }
        stale_ids.insert(id);
        m_.restores.Add({{"result", "stale"}}).Increment();
        log_ << "noisegate: level=error event=restore_stale partition=" << id
             << " checkpoint_offset=" << (have ? *have : -1) << " committed_offset=" << want
             << " action=\"restoring the newest checkpoint there is\"\n";
      }
      // The state covers the committed offset from here on, whatever comes in next (an idle
      // partition's checkpoint then still says so).
      correlate_[id].next_offset = want;
      correlate_[id].checkpoint_offset = want;
      checkpoints.insert_or_assign(id, std::move(cp));
    }
    if (!stale.empty() && attempt % 10 == 0) {
      log_ << "noisegate: level=warn event=restore_waiting_for_checkpoint partitions="
           << stale.size() << "\n";
    }
    pending = std::move(stale);
  }
  auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  auto committed_ms = std::chrono::duration_cast<milliseconds>(committed_at - started).count();
  m_.restore_seconds.Set(static_cast<double>(ms) / 1000.0);
  for (int32_t id : ids) {
    CorrelatePartition& p = correlate_[id];
    auto& cp = checkpoints.at(id);
    size_t state_bytes = 0;
    const auto load_started = Clock::now();
    if (!cp) {
      m_.restores.Add({{"result", "failed"}}).Increment();
      log_ << "noisegate: level=error event=restore_failed partition=" << id << " error=\""
           << cp.error().detail << "\" action=\"starting this partition empty\"\n";
    } else if (cp->has_value()) {
      const ChangelogReader::Checkpoint& c = **cp;
      state_bytes = c.payload.size();
      Status st = RestoreEngine(c, p);
      if (!st) {
        m_.restores.Add({{"result", "failed"}}).Increment();
        log_ << "noisegate: level=error event=restore_failed partition=" << id << " error=\""
             << st.error().detail << "\" action=\"starting this partition empty\"\n";
        p.engine = std::make_unique<dedup::Engine>(rules_, p.sink.get());
        p.engine->TrackChanges(/*all=*/false);
        p.merger = InputMerger();
      } else {
        if (!stale_ids.count(id)) m_.restores.Add({{"result", "ok"}}).Increment();
        p.seen = p.engine->watermark() != kMinTime;
        p.arrival_watermark = p.engine->watermark();
      }
      if (c.per_entry) {
        for (const auto& [slot, v] : c.fingerprints) state_bytes += v.size();
        for (const auto& [slot, v] : c.incidents) state_bytes += v.size();
        for (const auto& [slot, v] : c.buffered) state_bytes += v.size();
      }
      // Keys the restored engine does not take over: the next checkpoint deletes them.
      if (!st || !c.per_entry) {
        p.obsolete_keys = readers.at(id).HeldKeys();
      } else {
        p.entry_parts = readers.at(id).EntryParts();
      }
      p.generation = c.generation;
      p.globals_chunks = readers.at(id).globals_chunks();
    }
    // An empty start under a changelog that could not be read deletes what it holds.
    if (!cp) p.obsolete_keys = readers.at(id).HeldKeys();
    if (cp && !cp->has_value() && !stale_ids.count(id)) {
      m_.restores.Add({{"result", "empty"}}).Increment();
    }
    // Entries the changelog does not hold yet (a whole checkpoint restored, or one remapped
    // under other rules), and keys to delete: the next commit writes them, whatever else it
    // has, so that a reload or a revoke cannot leave them unwritten.
    p.dirty = p.engine->pending_changes() > 0 || p.merger.pending_changes() > 0 ||
              !p.obsolete_keys.empty();
    // A checkpoint written under other rules may name channels of inputs that are gone.
    p.merger.RetainChannels(
        [this](const InputMerger::ChannelKey& k) { return rules_->FindInput(k.first) >= 0; });
    for (const auto& ch : channels_) p.merger.AddChannel(ch);
    p.last_arrival = Clock::now();
    log_ << "noisegate: level=info event=restored partition=" << id
         << " changelog_messages=" << read[id].first << " changelog_bytes=" << read[id].second
         << " state_bytes=" << state_bytes << " generation=" << p.generation
         << " fingerprints=" << p.engine->state_sizes().fingerprints
         << " open_incidents=" << p.engine->stats().open_incidents
         << " buffered=" << p.merger.buffered() << " ms=" << ms << " committed_ms=" << committed_ms
         << " load_ms="
         << std::chrono::duration_cast<milliseconds>(Clock::now() - load_started).count() << "\n";
  }
  return true;
}

void Live::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                        std::vector<RdKafka::TopicPartition*>& partitions) {
  std::string list;
  for (const RdKafka::TopicPartition* tp : partitions) {
    list += (list.empty() ? "" : ",") + tp->topic() + "/" + std::to_string(tp->partition());
  }
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    log_ << "noisegate: level=info event=assigned partitions=" << list << "\n";
    // The input partitions as they are now (a topic may have been created, or grown, since the
    // last look): the mergers wait for each, and the hop is skipped only by their owner.
    std::vector<InputMerger::ChannelKey> listed;
    if (ListChannels(*rules_, &listed)) {
      channels_ = std::move(listed);
      channels_complete_ = true;
    }
    std::vector<int32_t> ids;
    for (const RdKafka::TopicPartition* tp : partitions) {
      if (tp->topic() == cfg_.repartition_topic) {
        ids.push_back(tp->partition());
      } else {
        InputPartition& ip = inputs_[{tp->topic(), tp->partition()}];
        ip.topic = tp->topic();
        ip.partition = tp->partition();
        ip.order = rules_->FindInput(tp->topic());
      }
    }
    if (!Restore(ids)) return;
    // Where each input partition resumes: with the high watermark it tells whether the
    // partition is caught up (its progress mark says idle) before anything is fetched.
    std::vector<RdKafka::TopicPartition*> inputs;
    for (RdKafka::TopicPartition* tp : partitions) {
      if (tp->topic() != cfg_.repartition_topic) inputs.push_back(tp);
    }
    // And the latest record time it had reached (offset_metadata.h), which decides how the
    // records after it merge: waited for as a restore waits for its offsets.
    std::vector<InputResume> resumes;
    if (!inputs.empty()) {
      if (FetchCommitted(inputs, "input_committed_retry", Clock::now() + cfg_.restore_wait,
                         &resumes) != RdKafka::ERR_NO_ERROR) {
        if (stop_) return;
        log_ << "noisegate: level=warn event=input_resume_unknown action=\"resuming the inputs "
                "without the record time they reached: a record late in its partition right "
                "after the committed offset may merge before what preceded it\"\n";
        resumes.assign(inputs.size(), InputResume{});
        for (RdKafka::TopicPartition* tp : inputs) tp->set_offset(-1);  // (none known)
      }
      for (size_t i = 0; i < inputs.size(); ++i) {
        RdKafka::TopicPartition* tp = inputs[i];
        InputPartition& ip = inputs_[{tp->topic(), tp->partition()}];
        if (tp->offset() >= 0) ip.fetched_next = tp->offset();
        Resume(ip, resumes[i]);
        if (resumes[i].ingested) {
          // (ingested_to past the offset: the messages between are read again, see in_flight.)
          log_ << "noisegate: level=info event=input_resumes partition=" << ip.topic << "/"
               << ip.partition << " offset=" << tp->offset()
               << " ingested_to=" << *resumes[i].ingested << " channel_time="
               << (resumes[i].channel_time ? FormatRfc3339(EventTime{*resumes[i].channel_time})
                                           : std::string("none"))
               << "\n";
        }
        tp->set_offset(RdKafka::Topic::OFFSET_INVALID);  // assign() then uses the committed one
      }
    }
    consumer->assign(partitions);
    // A partition this process paused before it was revoked stays paused in librdkafka.
    for (auto& [id, p] : correlate_) PauseRepartition(p, false);
    DecideHop();
    Ready("an assignment");
    m_.partitions.Set(static_cast<double>(correlate_.size()));
  } else {
    log_ << "noisegate: level=info event=revoked partitions=" << list << "\n";
    Failpoint::Hit("revoke");
    // Everything processed so far is committed before the partitions go to their new owner.
    // If that fails, the new owner starts from the last commit: nothing to rewind here.
    Commit(/*rewind=*/false);
    DropAll();
    TakeHop("partitions revoked");
    consumer->unassign();
  }
}

void Live::DropAll() {
  correlate_.clear();
  inputs_.clear();
}

}  // namespace noisegate::processor::live_internal

// The live driver's restores: partitions rebuilt from the changelog when they are assigned
// (or after an abort), and the rebalance callback.
#include <thread>

#include "processor/kafka/failpoint.h"
#include "processor/kafka/live_internal.h"

namespace noisegate::processor::live_internal {

RdKafka::ErrorCode Live::FetchCommitted(std::vector<RdKafka::TopicPartition*>& parts,
                                        const char* event, Clock::time_point give_up) {
  RdKafka::ErrorCode err = consumer_->committed(parts, kRequestTimeoutMs);
  for (int attempt = 0; err != RdKafka::ERR_NO_ERROR && !stop_ && Clock::now() < give_up;
       ++attempt) {
    health_.Beat();
    if (attempt % 10 == 0) {
      log_ << "noisegate: level=warn event=" << event << " error=\"" << RdKafka::err2str(err)
           << "\"\n";
    }
    std::this_thread::sleep_for(milliseconds(100));  // an error may come back at once
    err = consumer_->committed(parts, kRequestTimeoutMs);
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
                         std::map<int32_t, CheckpointAssembler>* assemblers,
                         std::map<int32_t, std::pair<uint64_t, uint64_t>>* read,
                         std::map<int32_t, int64_t>* next) {
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int32_t id : ids) {
    auto at = next->find(id);
    if (at == next->end()) {
      assemblers->insert_or_assign(id, CheckpointAssembler(id));
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
  size_t at_end = 0;
  std::map<int32_t, bool> done;
  while (at_end < ids.size()) {
    if (stop_) {
      c->close();
      return false;
    }
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      if (!done[m->partition()]) {
        done[m->partition()] = true;
        ++at_end;
      }
      continue;
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      log_ << "noisegate: level=warn event=restore_consume error=\"" << m->errstr() << "\"\n";
      continue;
    }
    auto it = assemblers->find(m->partition());
    if (it == assemblers->end()) continue;
    (*read)[m->partition()].first++;
    (*read)[m->partition()].second += m->len();
    (*next)[m->partition()] = m->offset() + 1;
    std::string_view key = m->key() ? std::string_view(*m->key()) : std::string_view();
    std::string_view value(static_cast<const char*>(m->payload()), m->len());
    it->second.Add(key, m->payload() ? &value : nullptr);
  }
  c->close();
  return true;
}

namespace {

// The repartition offset a checkpoint says its state covers; nullopt for a version 1
// checkpoint, which does not say. Corrupt checkpoints are left to the full decode.
std::optional<int64_t> CheckpointOffset(const CheckpointAssembler::Checkpoint& cp) {
  dedup::Reader rd(cp.state);
  if (rd.U8() != kCheckpointVersion) return std::nullopt;
  int64_t offset = rd.SVar();
  return rd.ok() ? std::optional<int64_t>(offset) : std::nullopt;
}

}  // namespace

bool Live::Restore(const std::vector<int32_t>& ids) {
  if (ids.empty()) return true;
  auto started = Clock::now();
  for (int32_t id : ids) {
    CorrelatePartition& p = correlate_[id];
    p.id = id;
    p.engine.reset();  // before its sink
    p.sink = std::make_unique<PartitionSink>(this, id);
    p.engine = std::make_unique<dedup::Engine>(rules_, p.sink.get());
    p.generation = 0;
    p.chunks = 0;
    p.dirty = false;
    p.seen = false;
    p.backlog = false;
    p.next_offset = -1;
    p.merger = InputMerger();
  }
  // The previous owner may still be committing its last transaction (checkpoints and offsets
  // together). Its offsets are waited for first; then the changelog must hold the checkpoint
  // those offsets belong to. Its transaction marker can reach the changelog a moment after
  // the offsets are stable, so a checkpoint older than the committed offset means "read
  // again", not "resume with it": that would skip records the state never saw (an incident
  // without its resolve, or paged twice).
  std::map<int32_t, int64_t> committed;
  if (!CommittedRepartitionOffsets(ids, &committed)) {
    if (stop_) return false;
    log_ << "noisegate: level=warn event=restore_committed_unknown action=\"restoring without "
            "the consistency check\"\n";
  }
  std::map<int32_t, CheckpointAssembler> assemblers;
  std::map<int32_t, std::pair<uint64_t, uint64_t>> read;  // messages, bytes
  std::map<int32_t, int64_t> next;                        // where a retry reads on
  std::map<int32_t, Result<std::optional<CheckpointAssembler::Checkpoint>>> checkpoints;
  std::vector<int32_t> pending = ids;
  std::set<int32_t> stale_ids;  // restored past restore_wait from an older checkpoint
  const auto give_up = Clock::now() + cfg_.restore_wait;
  for (int attempt = 0; !pending.empty(); ++attempt) {
    if (attempt > 0) {
      health_.Beat();
      std::this_thread::sleep_for(milliseconds(200));
    }
    if (!ReadChangelog(pending, &assemblers, &read, &next)) return false;
    Failpoint::Hit("restore");
    std::vector<int32_t> stale;
    for (int32_t id : pending) {
      auto cp = assemblers.at(id).Finish();
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
        if (Clock::now() < give_up) {
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
      checkpoints.insert_or_assign(id, std::move(cp));
    }
    if (!stale.empty() && attempt % 10 == 0) {
      log_ << "noisegate: level=warn event=restore_waiting_for_checkpoint partitions="
           << stale.size() << "\n";
    }
    pending = std::move(stale);
  }
  auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  m_.restore_seconds.Set(static_cast<double>(ms) / 1000.0);
  for (int32_t id : ids) {
    CorrelatePartition& p = correlate_[id];
    auto& cp = checkpoints.at(id);
    size_t state_bytes = 0;
    if (!cp) {
      m_.restores.Add({{"result", "failed"}}).Increment();
      log_ << "noisegate: level=error event=restore_failed partition=" << id << " error=\""
           << cp.error().detail << "\" action=\"starting this partition empty\"\n";
    } else if (cp->has_value()) {
      state_bytes = (*cp)->state.size();
      dedup::Reader rd((*cp)->state);
      Status st;
      const uint8_t version = rd.U8();
      if (version != kCheckpointVersion && version != 1) {
        st = MakeError(ErrorCode::kParse, "unknown checkpoint version");
      } else {
        if (version >= 2) rd.SVar();  // the offset, checked above
        std::string_view engine_state = rd.Str();
        st = p.engine->LoadState(engine_state);
        auto input_of = [this](std::string_view topic) { return rules_->FindInput(topic); };
        if (st && (!p.merger.Load(rd, input_of) || !rd.done())) {
          st = MakeError(ErrorCode::kParse, "checkpoint: merger state is corrupt");
        }
      }
      if (!st) {
        m_.restores.Add({{"result", "failed"}}).Increment();
        log_ << "noisegate: level=error event=restore_failed partition=" << id << " error=\""
             << st.error().detail << "\" action=\"starting this partition empty\"\n";
        p.engine = std::make_unique<dedup::Engine>(rules_, p.sink.get());
        p.merger = InputMerger();
      } else {
        if (!stale_ids.count(id)) m_.restores.Add({{"result", "ok"}}).Increment();
        p.seen = p.engine->watermark() != kMinTime;
        p.arrival_watermark = p.engine->watermark();
      }
      p.generation = (*cp)->generation;
      p.chunks = (*cp)->chunks;
    }
    if (cp && !cp->has_value() && !stale_ids.count(id)) {
      m_.restores.Add({{"result", "empty"}}).Increment();
    }
    // A checkpoint written under other rules may name channels of inputs that are gone.
    p.merger.RetainChannels(
        [this](const InputMerger::ChannelKey& k) { return rules_->FindInput(k.first) >= 0; });
    for (const auto& ch : channels_) p.merger.AddChannel(ch);
    p.last_arrival = Clock::now();
    log_ << "noisegate: level=info event=restored partition=" << id
         << " changelog_messages=" << read[id].first << " changelog_bytes=" << read[id].second
         << " state_bytes=" << state_bytes << " generation=" << p.generation
         << " open_incidents=" << p.engine->stats().open_incidents << " ms=" << ms << "\n";
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
    if (!inputs.empty() &&
        consumer->committed(inputs, kRequestTimeoutMs) == RdKafka::ERR_NO_ERROR) {
      for (RdKafka::TopicPartition* tp : inputs) {
        if (tp->offset() >= 0) inputs_[{tp->topic(), tp->partition()}].fetched_next = tp->offset();
        tp->set_offset(RdKafka::Topic::OFFSET_INVALID);  // assign() then uses the committed one
      }
    }
    consumer->assign(partitions);
    health_.SetReady(true, "");
    m_.ready.Set(1);
    m_.partitions.Set(static_cast<double>(correlate_.size()));
  } else {
    log_ << "noisegate: level=info event=revoked partitions=" << list << "\n";
    Failpoint::Hit("revoke");
    // Everything processed so far is committed before the partitions go to their new owner.
    // If that fails, the new owner starts from the last commit: nothing to rewind here.
    Commit(/*rewind=*/false);
    DropAll();
    consumer->unassign();
  }
}

void Live::DropAll() {
  correlate_.clear();
  inputs_.clear();
}

}  // namespace noisegate::processor::live_internal

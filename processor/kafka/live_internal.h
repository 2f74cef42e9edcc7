// The live driver's internals, shared by its source files (not an interface):
//   live.cc          setup, the loop, callbacks, RunLive and the embedded cluster
//   live_stages.cc   ingest (input partitions -> repartition) and correlate (merge -> engine)
//   live_txn.cc      transactions: produce, commit with checkpoints and offsets, rewind
//   live_producer.cc the transactional producer, and its calls made with a deadline
//   live_restore.cc  restoring partitions from the changelog, rebalances
//   live_reload.cc   reloading the rules
//   live_direct.cc   skipping the repartition hop when one replica owns everything
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dedup/codec.h"
#include "dedup/engine.h"
#include "processor/admin/admin_server.h"
#include "processor/admin/host.h"
#include "processor/admin/log_lines.h"
#include "processor/decode/dead_letter.h"
#include "processor/decode/message.h"
#include "processor/kafka/changelog.h"
#include "processor/kafka/live.h"
#include "processor/kafka/live_metrics.h"
#include "processor/kafka/offset_metadata.h"
#include "processor/pipeline/merger.h"
#include "processor/pipeline/pipeline.h"

namespace noisegate::processor::live_internal {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline constexpr int kRequestTimeoutMs = static_cast<int>(kTransactionCallTimeout.count());
// How many producers a process abandons (see live_producer.cc) before it exits instead.
inline constexpr int kMaxProducerReplacements = 10;
inline constexpr int kEmbeddedInputPartitions = 3;
// How long an idle loop waits for the broker's answer when it asks whether it is back.
inline constexpr int kBrokerProbeTimeoutMs = 1000;
// The largest record the repartition topic carries (well under message.max.bytes).
inline constexpr size_t kMaxRecordBytes = 512 * 1024;
// The most records one correlate partition hands its engine per loop turn.
inline constexpr size_t kMaxReleasePerCall = 10'000;
// How long a commit is put off for a partition to read a hop marker (live_direct.cc) before
// its transaction is given up.
inline constexpr std::chrono::milliseconds kMaxMarkerWait{10'000};
// How long a drain of the repartition topic waits for a partition to report its end before it
// writes a marker there to move the end on (live_direct.cc).
inline constexpr std::chrono::milliseconds kDrainNudge{5'000};
// Repartition message formats (first byte): a record, an input partition's progress mark, or
// a batch: the byte 3, then records and marks one after another, each in its own format.
inline constexpr uint8_t kRecordMessage = 1, kMarkMessage = 2, kBatchMessage = 3;
// Checkpoint payload: version, the repartition offset the state covers, the engine state, (from
// version 4) the count and slot bound of the merger's entries, the merger's globals
// (InputMerger::SaveGlobals). Version 4 is the payload of a per-entry
// checkpoint (under the globals key; the engine state is its globals and the merger's buffered
// records are entries, see changelog.h); version 3 was the same with the buffered records
// inline; 2 and 1 (no offset) were whole checkpoints (the engine's whole state). Version 5 adds
// each channel's last released record to the merger's globals. All are read.
inline constexpr uint8_t kCheckpointVersion = 5;
inline constexpr uint8_t kFirstPerEntryVersion = 3;

using processor::WallMs;

// The key that decides a record's correlate partition: the values of `labels`, joined.
inline std::string PartitionKey(const Record& r, const std::vector<std::string>& labels) {
  std::string key;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key.push_back('\x1f');
    key.append(r.labels.Get(labels[i]));
  }
  return key;
}

inline std::string ContentHash(std::string_view text) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  return buf;
}

inline int32_t PartitionOf(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>(XXH3_64bits(key.data(), key.size()) %
                              static_cast<uint64_t>(partitions));
}

class Live;

// The producer's callbacks, forwarded to the live driver until the producer is abandoned: an
// abandoned producer's blocked call may come back later and must not reach the driver.
class ProducerCallbacks : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  explicit ProducerCallbacks(Live* live) : live_(live) {}
  void dr_cb(RdKafka::Message& message) override;
  void event_cb(RdKafka::Event& event) override;
  void Abandon();

 private:
  Live* live_;
  std::mutex mu_;  // held while forwarding: Abandon() waits out a callback under way
  bool abandoned_ = false;
};

// Where one correlate partition's engine sends its outputs: the live topics.
class PartitionSink : public dedup::Sink {
 public:
  PartitionSink(Live* live, int32_t partition) : live_(live), partition_(partition) {}
  void OnDecision(const dedup::DecisionEvent& e) override;
  void OnNotification(const dedup::Notification& n) override;

 private:
  Live* live_;
  int32_t partition_;
  std::string line_;
};

// One correlate partition: its merger and engine (records wait in the merger until every input
// has passed their time), and what its checkpoints need.
struct CorrelatePartition : Correlate {
  ~CorrelatePartition() { engine.reset(); }  // before its sink
  CorrelatePartition() = default;
  CorrelatePartition(CorrelatePartition&&) = default;
  CorrelatePartition& operator=(CorrelatePartition&&) = default;
  int32_t id = 0;
  std::unique_ptr<PartitionSink> sink;
  uint64_t generation = 0;              // of the last checkpoint written or restored
  bool dirty = false;                   // state changed since the last checkpoint
  uint32_t globals_chunks = 0;          // chunks of the last checkpoint's globals (0: inline)
  uint32_t pending_globals_chunks = 0;  // of the checkpoint in the open transaction
  // Changelog keys the next checkpoint deletes first: those of a whole checkpoint it
  // restored from, or of one it could not restore.
  std::vector<std::string> obsolete_keys;
  // Entry keys held in parts on the changelog, with their part counts (few: only entries
  // larger than a message).
  std::map<std::string, uint32_t> entry_parts;
  int64_t next_offset = -1;
  bool seen = false;     // processed a record (or restored state) since assignment
  bool backlog = false;  // the merger may hold more records that may go
  bool paused = false;   // its repartition partition is paused meanwhile (see Release)
  bool at_end = false;   // its repartition partition reported its end, and nothing came since
  // The repartition offset its last committed checkpoint records, and the one the checkpoint
  // in the open transaction records.
  int64_t checkpoint_offset = -1, pending_checkpoint_offset = -1;
  bool moved = false;        // read a message (a hop marker, a record) since its last checkpoint
  bool marker_read = false;  // read a hop marker since the commit that armed (live_direct.cc)
  // A marker is on its way (WriteHopMarkers, RequestMarker) and not read back yet.
  bool marker_requested = false;
  Clock::time_point last_arrival;
  EventTime arrival_watermark = kMinTime;
};

// A consumed message (librdkafka's C struct: the batch consume API hands those out).
struct MessageFree {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageFree>;

inline std::string_view Payload(const rd_kafka_message_t& m) {
  return {static_cast<const char*>(m.payload), m.len};
}
// The message's Kafka timestamp, if it has one.
inline std::optional<int64_t> Timestamp(const rd_kafka_message_t& m) {
  rd_kafka_timestamp_type_t type;
  int64_t ts = rd_kafka_message_timestamp(&m, &type);
  if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) return std::nullopt;
  return ts;
}

struct Pending {
  MessagePtr msg;
  int64_t ts = 0;
  Clock::time_point arrived;
};

struct InputPartition {
  std::string topic;
  int32_t partition = 0;
  int order = 0;  // the input's index in the rules: ties in event time go to the earlier input
  std::deque<Pending> queue;
  int64_t next_offset = -1;   // after the last message ingested
  int64_t fetched_next = -1;  // after the last message received
  // At the end of what is committed: a PARTITION_EOF (reported at the last stable offset
  // under read_committed) and nothing since. Decides whether an empty partition is idle.
  bool at_end = false;
  int64_t last_ts = INT64_MIN;       // event time of the last message ingested
  int64_t committed_ts = INT64_MIN;  // last_ts at the last committed transaction
  // The latest record time ingested (Ingest::Message's channel_time): committed with the
  // offset (offset_metadata.h), and back to the committed one on a rewind.
  int64_t channel_time = INT64_MIN;
  // With the repartition hop skipped, the messages ingested whose records are not all
  // released yet, oldest first: the offset committed is the first one's, with what was
  // before it, so that a restart reads them again instead of a checkpoint holding their
  // records (Kafka Streams' way). Released records are not delivered twice (see
  // InputMerger::Push), nor dead letters sent twice (`ingested_next`).
  struct InFlight {
    int64_t offset;
    int64_t last_ts;       // before it
    int64_t channel_time;  // before it
    uint32_t outstanding;  // of its records, those still buffered
  };
  std::deque<InFlight> in_flight;
  int64_t ingested_next = -1;       // the messages before it were ingested before a restart
  Clock::time_point last_received;  // wall time of the last message received
  // The progress mark last written for it (marks are written when they change).
  bool marked = false, marked_idle = false;
  int64_t marked_ts = INT64_MIN;
};

class Live : public RdKafka::RebalanceCb,
             public RdKafka::EventCb,
             public RdKafka::DeliveryReportCb,
             public IngestSink {
 public:
  Live(std::shared_ptr<const rules::CompiledRules> rules, RunConfig config,
       const std::atomic<bool>& stop, std::atomic<bool>* reload_signal, std::ostream& log,
       LogSink* sink, LiveMetrics* metrics, Health* health, Reloads* reloads)
      : rules_(std::move(rules)),
        cfg_(std::move(config)),
        stop_(stop),
        reload_signal_(reload_signal),
        log_(log),
        sink_(*sink),
        m_(*metrics),
        health_(*health),
        reloads_(*reloads) {}

  ~Live() override {
    if (consumer_queue_ != nullptr) rd_kafka_queue_destroy(consumer_queue_);
    consumer_.reset();
    producer_.reset();
  }

  bool Setup();
  RunExit Loop();
  // Called with the new rules after each reload that swapped them in.
  void OnRulesSwapped(std::function<void(std::shared_ptr<const rules::CompiledRules>)> f) {
    on_rules_swapped_ = std::move(f);
  }

  // Produces one message into the open transaction.
  void Produce(const std::string& topic, int32_t partition, std::string_view key,
               const std::string_view* value, int64_t ts);
  const RunConfig& cfg() const { return cfg_; }
  const rules::CompiledRules& rules() const { return *rules_; }
  LiveMetrics& metrics() { return m_; }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;
  void event_cb(RdKafka::Event& event) override;
  void dr_cb(RdKafka::Message& message) override;
  // The ingest stage's outputs (IngestOne): a record to its repartition partition (or, the
  // hop skipped, straight to its correlate partition: live_direct.cc), a dead letter to the
  // dead-letter topic.
  void OnRecord(Record& r) override;
  void OnDeadLetter(const DeadLetter& dead, const RawMessage& m, int64_t ts) override;
  // A notification of the open transaction, counted and logged once it commits: an aborted
  // transaction is done again after its rewind, and would otherwise count, and log, its pages
  // twice. (Decisions are counted as they are made: a rate of work done, redone work included.)
  void Notified(const dedup::Notification& n);

 private:
  bool SetConf(RdKafka::Conf* conf, const std::map<std::string, std::string>& props);
  std::unique_ptr<RdKafka::Conf> ClientConf(const std::map<std::string, std::string>& defaults);
  bool Partitions(const std::string& topic, int* count, int timeout_ms = kRequestTimeoutMs);
  // Not ready, `why` for /readyz; `broker`: because the broker does not answer (an idle loop
  // then asks it whether it is back, see Commit).
  void NotReady(const std::string& why, bool broker = false);
  // Ready (again): logs `how` (an assignment, a committed transaction, an idle probe of the
  // broker) and the reason it was not, when it was not.
  void Ready(const char* how);
  // Takes what has arrived, waiting up to `timeout_ms` for it: end-of-partition reports, and
  // messages to Dispatch. (Rebalance callbacks run in it.)
  void Receive(int timeout_ms);
  void Dispatch(MessagePtr msg);
  void CorrelateOne(CorrelatePartition& p, const rd_kafka_message_t& msg);
  // Feeds the engine what the merger releases.
  void Release(CorrelatePartition& p);
  void PauseRepartition(CorrelatePartition& p, bool pause);
  // Decodes one record or mark (its format byte read) into the partition's merger; `whole`:
  // it must end the message (else nothing of it is taken).
  bool CorrelateEntry(CorrelatePartition& p, uint8_t kind, dedup::Reader& rd, bool whole);
  // Writes progress marks of the owned input partitions that changed (see merger.h).
  void WriteMarks();
  // Sends a record or mark (`message`, in its format) to a repartition partition: into that
  // partition's batch, which goes as one message when full or at the commit.
  void ToRepartition(int32_t partition, std::string_view key, std::string_view message);
  void FlushRepartition();
  // Skipping the repartition hop (live_direct.cc). After an assignment: whether this replica
  // owns every partition; then it drains the repartition partitions before it skips the hop.
  void DecideHop();
  // Moves the hop's state on (draining, armed) once what it waits for happened.
  void MaybeSkipHop();
  // The hop skipped: a record straight into its correlate partition's merger.
  void CorrelateDirect(int32_t partition, Record& r);
  // At a commit: a marker into every repartition partition (arming, armed, skipped), or,
  // taking the hop, into each partition the commit checkpoints.
  void WriteHopMarkers();
  // Whether every partition with a checkpoint to write has read a marker since its last one,
  // so that the offset its checkpoint records has moved on (see live_direct.cc).
  bool MarkersRead() const;
  // The hop skipped, before a commit that must not wait (a stop, a reload): reads what has
  // arrived until MarkersRead(), at most `wait`.
  void AwaitMarkers(std::chrono::milliseconds wait);
  void PauseInputs(bool pause);
  // A marker into the partition's repartition partition, in the open transaction, unless one
  // is already on its way: for a state change that reads nothing (AdvanceIdle), or a drain
  // that must see each partition's end again (AfterRewind).
  void RequestMarker(CorrelatePartition& p);
  // Back to taking the hop (partitions revoked), logged when it was skipped or about to be.
  void TakeHop(const char* why);
  // After a rewind: back to arming (or, draining, markers that make each repartition
  // partition report its end again), into the transaction just begun.
  void AfterRewind();
  bool after_rewind_ = false;
  void ReleaseInputs(bool all);
  bool MayHaveMore(const InputPartition& ip);
  void IngestOne(InputPartition& ip);
  void AdvanceIdle();
  // Sets noisegate_input_lag_messages, at most once a second.
  void ReportInputLag();
  // Commits the open transaction (checkpoints + offsets); returns false on a fatal error.
  // After an abort it rewinds (Rewind) unless `rewind` is false (the partitions are going).
  bool Commit(bool rewind = true);
  // For a retriable transaction error: reports not-ready, logs, and says whether to retry.
  bool StillRetrying(const char* what, const std::string& error, int attempt);
  // The transactional producer (live_producer.cc): created with its callbacks; its
  // transactions initialised (retried until they are, or a stop); replaced by a new one after
  // a call to it got stuck (false: no new one, the process must exit).
  bool CreateProducer();
  bool InitTransactions();
  bool ReplaceProducer();
  // Runs `call` on the producer, waiting for it up to transaction_call_wait while /healthz
  // stays alive. kStuck: it did not return; the producer is abandoned (producer_ is null).
  enum class CallOutcome { kDone, kStuck };
  CallOutcome TxnCall(const char* what, std::function<RdKafka::Error*(RdKafka::Producer*)> call,
                      std::unique_ptr<RdKafka::Error>* error);
  // Whether the group coordinator answers (an offset fetch for any partition, with a timeout).
  RdKafka::ErrorCode AskGroupCoordinator(const std::string& topic, int32_t partition);
  bool BeginTransaction();
  // After an aborted transaction: state back to the last checkpoint, offsets to the last
  // committed ones.
  void Rewind();
  // Loads one partition's engine and merger from its checkpoint.
  Status RestoreEngine(const ChangelogReader::Checkpoint& cp, CorrelatePartition& p);
  // Produces the partition's checkpoint into the open transaction: the entries of its state
  // that changed since the last one, and its globals.
  void WriteCheckpoint(int32_t id, CorrelatePartition& p);
  // Rebuilds the engines of these partitions from the changelog (read together, to its end);
  // false when asked to stop meanwhile.
  bool Restore(const std::vector<int32_t>& ids);
  // Reads the changelog partitions `ids` to their end into their assemblers, each from
  // `(*next)[id]` (from the beginning when absent: a new assembler then), and moves `next`
  // on: a retry reads on from where the last read stopped. False when asked to stop
  // meanwhile (or on a fatal error).
  bool ReadChangelog(const std::vector<int32_t>& ids, std::map<int32_t, ChangelogReader>* readers,
                     std::map<int32_t, std::pair<uint64_t, uint64_t>>* read,
                     std::map<int32_t, int64_t>* next);
  // The committed offsets of these repartition partitions (-1: none), once they are stable:
  // a read_committed consumer's offset fetch waits out a pending transaction (KIP-447).
  // False when they could not be had (asked to stop, or restore_wait passed).
  // consumer_->committed(parts), retried (logging `event` every tenth try) until it works,
  // a stop is asked or `give_up` passes; with `resumes`, and what each input offset was
  // committed with (FetchCommittedResumes).
  RdKafka::ErrorCode FetchCommitted(std::vector<RdKafka::TopicPartition*>& parts, const char* event,
                                    Clock::time_point give_up,
                                    std::vector<InputResume>* resumes = nullptr);
  // What an input partition's offset is committed at, and with (see InFlight).
  InputResume Durable(const InputPartition& ip, int64_t* offset) const;
  // An input partition resumes (assigned, or rewound) with what its offset was committed with.
  void Resume(InputPartition& ip, const InputResume& r);
  // A record pushed straight into a merger (the hop skipped) was released.
  void RereadReleased(const Record& r);
  bool CommittedRepartitionOffsets(const std::vector<int32_t>& ids,
                                   std::map<int32_t, int64_t>* offsets);
  void DropAll();
  // Reloads the rules when asked (SIGHUP, POST /-/reload) or when the file changed.
  void MaybeReload();
  // Loads the rules file again and, if it is valid, swaps it in at a transaction boundary
  // with every partition's state kept (matched by name, see dedup::Engine::LoadState).
  Reloads::Outcome Reload(const std::string& reason);
  // The channels (input partitions) of the rules' input topics.
  bool ListChannels(const rules::CompiledRules& rules, std::vector<InputMerger::ChannelKey>* out);

  std::shared_ptr<const rules::CompiledRules> rules_;
  std::function<void(std::shared_ptr<const rules::CompiledRules>)> on_rules_swapped_;
  RunConfig cfg_;
  const std::atomic<bool>& stop_;
  std::atomic<bool>* reload_signal_;
  // The loop thread's log. librdkafka's callbacks (its own threads, a transactional call's
  // worker) write whole lines to the sink instead: an ostream is one writer's.
  std::ostream& log_;
  LogSink& sink_;
  LiveMetrics& m_;
  Health& health_;
  Reloads& reloads_;
  std::string rules_hash_;    // of the running rules file's content
  std::string refused_hash_;  // of the last content refused (not tried again until it changes)
  Clock::time_point next_rules_check_{};

  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  rd_kafka_queue_t* consumer_queue_ = nullptr;  // the consumer's, for batch consumption
  std::vector<rd_kafka_message_t*> batch_msgs_ = std::vector<rd_kafka_message_t*>(1000);
  std::unique_ptr<ProducerCallbacks> producer_callbacks_;  // before producer_: outlives it
  std::unique_ptr<RdKafka::Producer> producer_;
  int producers_replaced_ = 0;
  bool coordinator_suspect_ = false;  // a call to it got stuck; ask it before sending offsets
  // Not ready because the broker stopped answering (NotReady): an idle loop asks the broker at
  // each commit interval, since no transaction will say it is back. (Atomic: the producer's
  // callbacks may run on the thread of a transaction call.)
  std::atomic<bool> awaiting_broker_{false};
  std::unique_ptr<Ingest> ingest_;  // under rules_
  // While a message is ingested: its partition, and how many of its records went straight
  // into a merger (the hop skipped).
  InputPartition* ingesting_ = nullptr;
  uint32_t ingest_rereads_ = 0;
  int repartitions_ = 0;
  std::vector<InputMerger::ChannelKey> channels_;  // every input partition
  bool channels_complete_ = false;                 // every input topic was found
  std::map<int32_t, CorrelatePartition> correlate_;
  std::map<std::pair<std::string, int32_t>, InputPartition, TopicPartitionLess> inputs_;
  bool in_txn_ = false;
  bool txn_has_work_ = false;
  bool txn_failed_ = false;
  Clock::time_point lag_reported_;
  bool arm_now_ = false;             // commit at once: the drain is through (see MaybeSkipHop)
  Clock::time_point drain_started_;  // when the hop began draining (see MaybeSkipHop)
  bool last_commit_ok_ = false;      // the last Commit() committed (or had nothing to commit)
  bool fatal_ = false;
  Clock::time_point txn_started_;
  Clock::time_point now_;  // the wall clock, read once per loop turn
  std::string buf_, line_, engine_state_;
  std::vector<ChangelogMessage> changelog_msgs_;
  // Per repartition partition, the batch of the open transaction (see ToRepartition).
  std::vector<std::string> repartition_batches_;
  // The open transaction's notifications: their metric labels and the fields of the log line
  // that says they went out (see Notified, CountCommitted).
  struct SentNotification {
    bool page = false, trigger = false;
    std::string fields;  // route=page action=trigger ... summary="..."
  };
  std::vector<SentNotification> txn_notifications_;
  // The open transaction's dead letters: their metric labels and log line fields.
  struct SentDeadLetter {
    std::string topic, reason;
    std::string fields;  // topic=... partition=... offset=... index=... reason=... detail="..."
  };
  std::vector<SentDeadLetter> txn_dead_letters_;
  // Dead letters are logged at most kDeadLetterLogBurst per kDeadLetterLogWindow; the others
  // are counted and reported in one line when the next window opens.
  static constexpr int kDeadLetterLogBurst = 10;
  static constexpr std::chrono::seconds kDeadLetterLogWindow{10};
  Clock::time_point dead_letter_log_window_{};
  int dead_letters_logged_ = 0;
  uint64_t dead_letters_unlogged_ = 0;
  void DeadLetterSent(std::string_view topic, int32_t partition, int64_t offset, int32_t index,
                      std::string_view reason, std::string_view detail);
  void LogDeadLetter(const SentDeadLetter& dl);
  // Says how many dead letters the last window left out of the log, once it is over (or now,
  // when stopping).
  void ReportUnloggedDeadLetters(bool now);
  void CountCommitted();
  // The repartition hop (live_direct.cc): taken; draining the repartition topic; arming (the
  // next commit writes the first markers); armed (waiting to read them back); skipped.
  enum class Hop { kTaken, kDraining, kArming, kArmed, kSkipped };
  Hop hop_ = Hop::kTaken;
  Clock::time_point postponed_since_{};  // a commit waiting for markers (see Commit)
  uint64_t delivery_errors_logged_ = 0;
};

}  // namespace noisegate::processor::live_internal

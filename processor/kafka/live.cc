#include "processor/kafka/live.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>
#include <xxhash.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "dedup/codec.h"
#include "dedup/engine.h"
#include "processor/admin/admin_server.h"
#include "processor/decode/dead_letter.h"
#include "processor/decode/message.h"
#include "processor/kafka/changelog.h"
#include "processor/kafka/failpoint.h"
#include "processor/kafka/live_metrics.h"
#include "processor/kafka/merger.h"
#include "processor/output/render.h"
#include "rules/loader.h"

namespace noisegate::processor {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kRequestTimeoutMs = 10'000;
constexpr int kEmbeddedInputPartitions = 3;
// The largest record the repartition topic carries (well under message.max.bytes).
constexpr size_t kMaxRecordBytes = 512 * 1024;
// Repartition message formats (first byte): a record, or an input partition's progress mark.
constexpr uint8_t kRecordMessage = 1, kMarkMessage = 2;
// Checkpoint layout version (engine state + merger).
// Checkpoint layout: version, then (from version 2) the repartition offset the state covers,
// the engine state, the merger state. Version 1 (no offset) is still read.
constexpr uint8_t kCheckpointVersion = 2;

int64_t WallMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The key that decides a record's correlate partition: the values of `labels`, joined.
std::string PartitionKey(const Record& r, const std::vector<std::string>& labels) {
  std::string key;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key.push_back('\x1f');
    key.append(r.labels.Get(labels[i]));
  }
  return key;
}

bool ReadRulesText(const std::string& path, std::string* out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  out->clear();
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

std::string ContentHash(std::string_view text) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  return buf;
}

int32_t PartitionOf(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>(XXH3_64bits(key.data(), key.size()) %
                              static_cast<uint64_t>(partitions));
}

class Live;

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

struct CorrelatePartition {
  int32_t id = 0;
  std::unique_ptr<PartitionSink> sink;
  std::unique_ptr<dedup::Engine> engine;
  InputMerger merger;           // records wait here until every input has passed their time
  uint64_t generation = 0;      // of the last checkpoint written or restored
  uint32_t chunks = 0;          // chunks of that checkpoint
  uint32_t pending_chunks = 0;  // chunks of the checkpoint in the open transaction
  bool dirty = false;           // state changed since the last checkpoint
  int64_t next_offset = -1;
  bool seen = false;  // processed a record (or restored state) since assignment
  Clock::time_point last_arrival;
  EventTime arrival_watermark = kMinTime;
};

// A consumed message (librdkafka's C struct: the batch consume API hands those out).
struct MessageFree {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageFree>;

std::string_view Payload(const rd_kafka_message_t& m) {
  return {static_cast<const char*>(m.payload), m.len};
}
// The message's Kafka timestamp, if it has one.
std::optional<int64_t> Timestamp(const rd_kafka_message_t& m) {
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
  Clock::time_point last_received;   // wall time of the last message received
  // The progress mark last written for it (marks are written when they change).
  bool marked = false, marked_idle = false;
  int64_t marked_ts = INT64_MIN;
};

class Live : public RdKafka::RebalanceCb,
             public RdKafka::EventCb,
             public RdKafka::DeliveryReportCb {
 public:
  Live(std::shared_ptr<const rules::CompiledRules> rules, RunConfig config,
       const std::atomic<bool>& stop, std::atomic<bool>* reload_signal, std::ostream& log,
       LiveMetrics* metrics, Health* health, Reloads* reloads)
      : rules_(std::move(rules)),
        cfg_(std::move(config)),
        stop_(stop),
        reload_signal_(reload_signal),
        log_(log),
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

 private:
  bool SetConf(RdKafka::Conf* conf, const std::map<std::string, std::string>& props);
  std::unique_ptr<RdKafka::Conf> ClientConf(const std::map<std::string, std::string>& defaults);
  bool Partitions(const std::string& topic, int* count);
  void Dispatch(MessagePtr msg);
  void CorrelateOne(CorrelatePartition& p, const rd_kafka_message_t& msg);
  // Feeds the engine what the merger releases.
  void Release(CorrelatePartition& p);
  // Writes progress marks of the owned input partitions that changed (see merger.h).
  void WriteMarks();
  void ReleaseInputs(bool all);
  bool MayHaveMore(const InputPartition& ip);
  void IngestOne(InputPartition& ip);
  void AdvanceIdle();
  // Commits the open transaction (checkpoints + offsets); returns false on a fatal error.
  // After an abort it rewinds (Rewind) unless `rewind` is false (the partitions are going).
  bool Commit(bool rewind = true);
  // For a retriable transaction error: reports not-ready, logs, and says whether to retry.
  bool StillRetrying(const char* what, const RdKafka::Error& error, int attempt);
  bool BeginTransaction();
  // After an aborted transaction: state back to the last checkpoint, offsets to the last
  // committed ones.
  void Rewind();
  // Rebuilds the engines of these partitions from the changelog (read together, to its end);
  // false when asked to stop meanwhile.
  bool Restore(const std::vector<int32_t>& ids);
  // Reads the changelog partitions `ids` to their end into their assemblers, each from
  // `(*next)[id]` (from the beginning when absent: a new assembler then), and moves `next`
  // on: a retry reads on from where the last read stopped. False when asked to stop
  // meanwhile (or on a fatal error).
  bool ReadChangelog(const std::vector<int32_t>& ids,
                     std::map<int32_t, CheckpointAssembler>* assemblers,
                     std::map<int32_t, std::pair<uint64_t, uint64_t>>* read,
                     std::map<int32_t, int64_t>* next);
  // The committed offsets of these repartition partitions (-1: none), once they are stable:
  // a read_committed consumer's offset fetch waits out a pending transaction (KIP-447).
  // False when they could not be had (asked to stop, or restore_wait passed).
  // consumer_->committed(parts), retried (logging `event` every tenth try) until it works,
  // a stop is asked or `give_up` passes.
  RdKafka::ErrorCode FetchCommitted(std::vector<RdKafka::TopicPartition*>& parts, const char* event,
                                    Clock::time_point give_up);
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
  RunConfig cfg_;
  const std::atomic<bool>& stop_;
  std::atomic<bool>* reload_signal_;
  std::ostream& log_;
  LiveMetrics& m_;
  Health& health_;
  Reloads& reloads_;
  std::string rules_hash_;    // of the running rules file's content
  std::string refused_hash_;  // of the last content refused (not tried again until it changes)
  Clock::time_point next_rules_check_{};

  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  rd_kafka_queue_t* consumer_queue_ = nullptr;  // the consumer's, for batch consumption
  std::vector<rd_kafka_message_t*> batch_msgs_ = std::vector<rd_kafka_message_t*>(1000);
  std::unique_ptr<RdKafka::Producer> producer_;
  std::vector<std::unique_ptr<Decoder>> decoders_;
  int repartitions_ = 0;
  std::vector<InputMerger::ChannelKey> channels_;  // every input partition
  std::map<int32_t, CorrelatePartition> correlate_;
  std::map<std::pair<std::string, int32_t>, InputPartition, TopicPartitionLess> inputs_;
  bool in_txn_ = false;
  bool txn_has_work_ = false;
  bool txn_failed_ = false;
  bool last_commit_ok_ = false;  // the last Commit() committed (or had nothing to commit)
  bool fatal_ = false;
  Clock::time_point txn_started_;
  Clock::time_point now_;  // the wall clock, read once per loop turn
  RecordBatch batch_;
  std::vector<DeadLetter> dead_;
  std::string buf_, line_, engine_state_;
  std::vector<ChangelogMessage> changelog_msgs_;
  uint64_t delivery_errors_logged_ = 0;
};

void PartitionSink::OnDecision(const dedup::DecisionEvent& e) {
  live_->metrics().decision[static_cast<int>(e.decision)]->Increment();
  if (live_->cfg().explain_topic.empty()) return;
  line_.clear();
  RenderExplain(e, &line_);
  std::string_view v = line_;
  live_->Produce(live_->cfg().explain_topic, RdKafka::Topic::PARTITION_UA, e.incident, &v,
                 e.record->time.ms);
}

void PartitionSink::OnNotification(const dedup::Notification& n) {
  line_.clear();
  RenderNotification(n, live_->rules(), &line_);
  std::string_view v = line_;
  bool page = n.route == rules::Action::kPage;
  const std::string& topic = page ? live_->cfg().pages_topic : live_->cfg().tickets_topic;
  live_->metrics().Notification(page, n.action == dedup::NotifyAction::kTrigger).Increment();
  // The dedup_key is the message key, so one incident's messages stay in order.
  live_->Produce(topic, RdKafka::Topic::PARTITION_UA, n.incident->id, &v, n.at.ms);
  Failpoint::Hit("after_produce");
  (void)partition_;
}

bool Live::SetConf(RdKafka::Conf* conf, const std::map<std::string, std::string>& props) {
  std::string err;
  for (const auto& [k, v] : props) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      log_ << "noisegate: level=error event=bad_kafka_property property=" << k << " error=\"" << err
           << "\"\n";
      return false;
    }
  }
  return true;
}

std::unique_ptr<RdKafka::Conf> Live::ClientConf(
    const std::map<std::string, std::string>& defaults) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // Our defaults first; the user's properties win.
  std::map<std::string, std::string> props = defaults;
  for (const auto& [k, v] : cfg_.kafka) props[k] = v;
  if (!SetConf(conf.get(), props)) return nullptr;
  std::string err;
  conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err);
  return conf;
}

bool Live::Partitions(const std::string& topic, int* count) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(producer_.get(), topic, nullptr, err));
  if (!t) return false;
  RdKafka::Metadata* md = nullptr;
  if (producer_->metadata(false, t.get(), &md, kRequestTimeoutMs) != RdKafka::ERR_NO_ERROR) {
    return false;
  }
  std::unique_ptr<RdKafka::Metadata> own(md);
  for (const RdKafka::TopicMetadata* tm : *md->topics()) {
    if (tm->topic() == topic && tm->err() == RdKafka::ERR_NO_ERROR) {
      *count = static_cast<int>(tm->partitions()->size());
      return *count > 0;
    }
  }
  return false;
}

bool Live::Setup() {
  std::string err;
  decoders_ = MakeDecoders(*rules_, &err);
  if (decoders_.size() != rules_->inputs.size()) {
    log_ << "noisegate: level=error event=setup error=\"" << err << "\"\n";
    return false;
  }
  std::map<std::string, std::string> shown = cfg_.Redacted();
  log_ << "noisegate: level=info event=starting group=" << cfg_.group
       << " instance=" << cfg_.instance;
  for (const auto& [k, v] : shown) log_ << " kafka." << k << "=" << v;
  log_ << "\n";

  auto pconf = ClientConf({
      {"transactional.id", cfg_.group + "-" + cfg_.instance},
      {"enable.idempotence", "true"},
      {"transaction.timeout.ms", "30000"},
      {"message.max.bytes", "1000000"},
      // Batches of up to 20 ms: fewer, larger requests; the commit interval dominates latency.
      {"linger.ms", "20"},
  });
  if (!pconf) return false;
  pconf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err);
  // Producer-only properties in a shared config are harmless for consumers and vice versa,
  // but librdkafka warns about them; the config file may hold both.
  producer_.reset(RdKafka::Producer::create(pconf.get(), err));
  if (!producer_) {
    log_ << "noisegate: level=error event=producer error=\"" << err << "\"\n";
    return false;
  }
  // The topics must exist (the embedded cluster creates them): wait for them, not fail, so a
  // pod that starts before its broker comes up just waits.
  int changelog_partitions = 0;
  for (int attempt = 0; !stop_; ++attempt) {
    if (Partitions(cfg_.repartition_topic, &repartitions_) &&
        Partitions(cfg_.changelog_topic, &changelog_partitions)) {
      break;
    }
    if (attempt % 10 == 0) {
      log_ << "noisegate: level=warn event=waiting_for_topics topics=" << cfg_.repartition_topic
           << "," << cfg_.changelog_topic << "\n";
    }
    std::this_thread::sleep_for(milliseconds(1000));
  }
  if (stop_) return false;
  ListChannels(*rules_, &channels_);
  std::string text;
  if (ReadRulesText(rules_->path, &text)) rules_hash_ = ContentHash(text);
  m_.SetRules(rules_->path, rules_hash_);
  if (changelog_partitions != repartitions_) {
    log_ << "noisegate: level=error event=setup error=\"topic " << cfg_.changelog_topic << " has "
         << changelog_partitions << " partitions but " << cfg_.repartition_topic << " has "
         << repartitions_ << "; they must be equal\"\n";
    return false;
  }
  while (!stop_) {
    std::unique_ptr<RdKafka::Error> e(producer_->init_transactions(kRequestTimeoutMs));
    if (!e) break;
    log_ << "noisegate: level=warn event=init_transactions error=\"" << e->str() << "\"\n";
    if (e->is_fatal()) return false;
    std::this_thread::sleep_for(milliseconds(1000));
  }
  if (stop_ || !BeginTransaction()) return false;

  auto cconf = ClientConf({
      {"group.id", cfg_.group},
      {"isolation.level", "read_committed"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      // cooperative-sticky can abort the process in librdkafka 2.0 (see deps notes).
      {"partition.assignment.strategy", "range"},
      {"session.timeout.ms", "10000"},
      {"enable.partition.eof", "true"},
      // Fewer, larger fetches under load (at most 100 ms more latency when traffic is thin).
      {"fetch.min.bytes", "65536"},
      {"fetch.wait.max.ms", "100"},
  });
  if (!cconf) return false;
  cconf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err);
  consumer_.reset(RdKafka::KafkaConsumer::create(cconf.get(), err));
  if (!consumer_) {
    log_ << "noisegate: level=error event=consumer error=\"" << err << "\"\n";
    return false;
  }
  std::vector<std::string> topics;
  for (const rules::InputRule& in : rules_->inputs) topics.push_back(in.topic);
  topics.push_back(cfg_.repartition_topic);
  consumer_queue_ = rd_kafka_queue_get_consumer(consumer_->c_ptr());
  if (consumer_->subscribe(topics) != RdKafka::ERR_NO_ERROR) {
    log_ << "noisegate: level=error event=subscribe\n";
    return false;
  }
  log_ << "noisegate: level=info event=subscribed repartition_partitions=" << repartitions_ << "\n";
  return true;
}

bool Live::ListChannels(const rules::CompiledRules& rules,
                        std::vector<InputMerger::ChannelKey>* out) {
  out->clear();
  bool all = true;
  for (const rules::InputRule& in : rules.inputs) {
    int n = 0;
    if (!Partitions(in.topic, &n)) {
      log_ << "noisegate: level=warn event=input_topic_missing topic=" << in.topic << "\n";
      all = false;
      continue;
    }
    for (int i = 0; i < n; ++i) out->emplace_back(in.topic, i);
  }
  return all;
}

void Live::MaybeReload() {
  const uint64_t request = reloads_.Pending();
  const bool signalled = reload_signal_ != nullptr && reload_signal_->exchange(false);
  std::string reason = request ? "http" : signalled ? "sighup" : "";
  if (reason.empty()) {
    // The file on disk, every rules_check_interval: a ConfigMap update swaps a symlink, so
    // the content is what is compared, not the file's times.
    if (cfg_.rules_check_interval.count() == 0 || now_ < next_rules_check_) return;
    next_rules_check_ = now_ + cfg_.rules_check_interval;
    std::string text;
    if (!ReadRulesText(rules_->path, &text)) return;  // mid-swap or gone: look again later
    std::string hash = ContentHash(text);
    if (hash == rules_hash_ || hash == refused_hash_) return;
    reason = "file_changed";
  }
  Reloads::Outcome outcome = Reload(reason);
  if (request) reloads_.Done(request, std::move(outcome));
}

Reloads::Outcome Live::Reload(const std::string& reason) {
  const std::string& path = rules_->path;
  std::string text;
  std::string hash = ReadRulesText(path, &text) ? ContentHash(text) : "";
  // `rules_problem`: the file itself was refused (not tried again until it changes); other
  // failures (a commit that did not go through) are tried again at the next check.
  auto refuse = [&](const std::string& why, const std::vector<std::string>& details,
                    bool rules_problem = true) {
    if (rules_problem) refused_hash_ = hash;
    log_ << "noisegate: level=error event=rules_reload_failed reason=" << reason << " path=" << path
         << " error=\"" << why << "\" action=\"the running rules (hash " << rules_hash_
         << ") stay\"\n";
    std::string message = "rules reload failed: " + why;
    for (const std::string& d : details) {
      log_ << "noisegate: level=error event=rules_diagnostic detail=\"" << d << "\"\n";
      message += "\n" + d;
    }
    m_.rules_reloads.Add({{"result", "failure"}}).Increment();
    m_.rules_last_reload_successful.Set(0);
    return Reloads::Outcome{false, message};
  };
  if (!hash.empty() && hash == rules_hash_) {
    m_.rules_reloads.Add({{"result", "success"}}).Increment();
    m_.rules_last_reload_successful.Set(1);
    return Reloads::Outcome{true, "rules unchanged (hash " + hash + ")"};
  }
  // The text that was hashed is the text loaded: a file swapped meanwhile is seen next time.
  rules::LoadResult loaded = rules::LoadRulesString(text, path);
  if (!loaded.rules) {
    std::vector<std::string> details;
    for (const rules::Diagnostic& d : loaded.diagnostics) details.push_back(d.ToString());
    return refuse(std::to_string(details.size()) + " problem(s) in " + path, details);
  }
  std::shared_ptr<const rules::CompiledRules> next = std::move(loaded.rules);
  std::string err;
  std::vector<std::unique_ptr<Decoder>> decoders = MakeDecoders(*next, &err);
  if (decoders.size() != next->inputs.size()) return refuse(err, {});

  // A transaction boundary: what the old rules decided is committed with their state first.
  // Only a commit that went through is one (an aborted one rewinds, and a rewind cut short
  // by a stop leaves engines that must not be carried over).
  if (!Commit() || !last_commit_ok_ || stop_ || fatal_) {
    return refuse("the commit before the swap did not go through; trying again", {}, false);
  }
  auto input_of = [&next](std::string_view topic) { return next->FindInput(topic); };
  std::map<int32_t, std::pair<std::unique_ptr<dedup::Engine>, InputMerger>> fresh;
  for (auto& [id, p] : correlate_) {
    p.engine->SaveState(&engine_state_);
    buf_.clear();
    dedup::Writer w(&buf_);
    p.merger.Save(w);
    auto engine = std::make_unique<dedup::Engine>(next, p.sink.get());
    Status st = engine->LoadState(engine_state_);
    InputMerger merger;
    dedup::Reader rd(buf_);
    if (!st || !merger.Load(rd, input_of) || !rd.done()) {
      return refuse("partition " + std::to_string(id) + "'s state does not carry over: " +
                        (st ? std::string("merger state") : st.error().detail),
                    {});
    }
    fresh.emplace(id, std::make_pair(std::move(engine), std::move(merger)));
  }
  std::set<std::string> before, after;
  for (const rules::InputRule& in : rules_->inputs) before.insert(in.topic);
  for (const rules::InputRule& in : next->inputs) after.insert(in.topic);
  if (before != after) {
    // New or removed input topics: subscribe anew first (nothing is swapped if that fails);
    // the rebalance that follows hands the partitions out again, each restored under the
    // new rules.
    std::vector<std::string> topics(after.begin(), after.end());
    topics.push_back(cfg_.repartition_topic);
    if (consumer_->subscribe(topics) != RdKafka::ERR_NO_ERROR) {
      return refuse("could not subscribe to the new input topics", {}, false);
    }
  }
  rules_ = next;
  decoders_ = std::move(decoders);
  // Removed inputs: what was fetched of them and not ingested is left (their offsets are
  // no longer committed); their partitions go with the rebalance.
  std::erase_if(inputs_, [&after](const auto& kv) { return !after.contains(kv.second.topic); });
  for (auto& [k, ip] : inputs_) ip.order = rules_->FindInput(ip.topic);
  if (before != after) ListChannels(*rules_, &channels_);
  for (auto& [id, p] : correlate_) {
    auto& [engine, merger] = fresh.at(id);
    p.engine = std::move(engine);
    p.merger = std::move(merger);
    // Channels of inputs that are gone hold nobody back; new inputs must be heard from.
    p.merger.RetainChannels(
        [&after](const InputMerger::ChannelKey& k) { return after.count(k.first) > 0; });
    for (const auto& ch : channels_) p.merger.AddChannel(ch);
    p.dirty = true;  // the next checkpoint is written under the new rules
  }
  txn_has_work_ = true;
  rules_hash_ = hash;
  refused_hash_.clear();
  uint64_t records = 0;  // what the partitions' state has seen, for the log
  for (auto& [id, p] : correlate_) records += p.engine->stats().records;
  log_ << "noisegate: level=info event=rules_reloaded reason=" << reason << " path=" << path
       << " hash=" << hash << " partitions=" << correlate_.size() << " records=" << records
       << " inputs_changed=" << (before != after ? 1 : 0) << "\n";
  m_.rules_reloads.Add({{"result", "success"}}).Increment();
  m_.rules_last_reload_successful.Set(1);
  m_.SetRules(path, hash);
  return Reloads::Outcome{true, "rules reloaded (hash " + hash + ")"};
}

bool Live::BeginTransaction() {
  std::unique_ptr<RdKafka::Error> e(producer_->begin_transaction());
  if (e) {
    log_ << "noisegate: level=error event=begin_transaction error=\"" << e->str() << "\"\n";
    fatal_ = true;
    return false;
  }
  in_txn_ = true;
  txn_has_work_ = false;
  txn_failed_ = false;
  txn_started_ = Clock::now();
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
      health_.SetReady(false, "producer queue full");
      m_.ready.Set(0);
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

void Live::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) return;
  txn_failed_ = true;
  if (delivery_errors_logged_++ < 10) {
    log_ << "noisegate: level=error event=delivery topic=" << message.topic_name() << " error=\""
         << message.errstr() << "\"\n";
  }
}

void Live::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      if (event.fatal()) fatal_ = true;
      m_.kafka_errors.Increment();
      if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
        health_.SetReady(false, "all brokers are down");
        m_.ready.Set(0);
      }
      log_ << "noisegate: level=" << (event.fatal() ? "error" : "warn")
           << " event=kafka_error error=\"" << RdKafka::err2str(event.err()) << ": " << event.str()
           << "\"\n";
      break;
    case RdKafka::Event::EVENT_LOG:
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
        log_ << "noisegate: level=warn event=kafka_log fac=" << event.fac() << " msg=\""
             << event.str() << "\"\n";
      }
      break;
    default:
      break;
  }
}

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

void Live::Dispatch(MessagePtr msg) {
  std::string_view topic = rd_kafka_topic_name(msg->rkt);
  if (topic == cfg_.repartition_topic) {
    auto it = correlate_.find(msg->partition);
    if (it == correlate_.end()) return;  // not ours (any more)
    CorrelateOne(it->second, *msg);
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

void Live::CorrelateOne(CorrelatePartition& p, const rd_kafka_message_t& msg) {
  std::string_view value = Payload(msg);
  dedup::Reader rd(value);
  uint8_t kind = msg.payload != nullptr ? rd.U8() : 0;
  bool ok = false;
  if (kind == kRecordMessage) {
    Record& r = p.merger.Next();
    ok = dedup::DecodeRecord(rd, &r) && rd.done();
    if (ok) {
      // The input's index under the rules running here: the ingesting replica may have run
      // other rules (a reload not yet everywhere), and inputs are matched by topic.
      r.input = rules_->FindInput(r.addr.topic);
      p.merger.Push(r.input, r.input >= 0);
    } else {
      p.merger.Discard();
    }
  } else if (kind == kMarkMessage) {
    std::string topic(rd.Str());
    auto partition = static_cast<int32_t>(rd.SVar());
    int64_t time = rd.SVar();
    bool idle = rd.Bool();
    ok = rd.ok() && rd.done();
    // Marks of a topic that is no input here (removed by a reload) are ignored: nobody
    // will mark it idle at the end, and it would hold everything back.
    if (ok && rules_->FindInput(topic) >= 0)
      p.merger.Mark({std::move(topic), partition}, time, idle);
  }
  p.next_offset = msg.offset + 1;
  p.dirty = true;
  txn_has_work_ = true;
  if (!ok) {
    m_.DeadLetter(std::string(reason::kBadRepartition)).Increment();
    line_.clear();
    RenderDeadLetter(cfg_.repartition_topic, msg.partition, msg.offset, 0, reason::kBadRepartition,
                     "not a record this noisegate build can read", value, &line_);
    std::string_view v = line_;
    Produce(cfg_.dead_letter_topic, RdKafka::Topic::PARTITION_UA, {}, &v,
            Timestamp(msg).value_or(WallMs()));
    return;
  }
  Release(p);
}

void Live::Release(CorrelatePartition& p) {
  size_t n = p.merger.Release([&p](const Record& r) { p.engine->Process(r); });
  if (n == 0) return;
  p.seen = true;
  p.last_arrival = now_;
  p.arrival_watermark = p.engine->watermark();
}

void Live::WriteMarks() {
  for (auto& [k, ip] : inputs_) {
    // Idle: caught up, and quiet for input_sync_wait. A partition that is merely caught up
    // with a steady producer is not idle: its next message is due any moment, and records
    // of other inputs must not overtake it.
    bool idle = ip.queue.empty() && Clock::now() - ip.last_received >= cfg_.input_sync_wait &&
                !MayHaveMore(ip);
    if (ip.marked && ip.marked_ts == ip.last_ts && ip.marked_idle == idle) continue;
    buf_.clear();
    dedup::Writer w(&buf_);
    w.U8(kMarkMessage);
    w.Str(ip.topic);
    w.SVar(ip.partition);
    w.SVar(ip.last_ts);
    w.Bool(idle);
    std::string_view v = buf_;
    for (int32_t p = 0; p < repartitions_; ++p) {
      Produce(cfg_.repartition_topic, p, {}, &v, WallMs());
    }
    ip.marked = true;
    ip.marked_ts = ip.last_ts;
    ip.marked_idle = idle;
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
      if (a.ts < b.ts ||
          (a.ts == b.ts && (ip.order < best->order ||
                            (ip.order == best->order && ip.partition < best->partition)))) {
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
  int64_t ts = DecodeMessage(*rules_, decoders_, raw, cfg_.max_message_bytes, p.ts, batch_, dead_);
  m_.Messages(ip.topic).Increment();
  size_t r = 0, d = 0;
  while (r < batch_.size() || d < dead_.size()) {
    bool take_dead =
        d < dead_.size() && (r >= batch_.size() || dead_[d].index < batch_[r].addr.index);
    if (take_dead) {
      const DeadLetter& dl = dead_[d++];
      m_.DeadLetter(dl.reason).Increment();
      m_.decision[static_cast<int>(dedup::Decision::kDeadLetter)]->Increment();
      line_.clear();
      RenderDeadLetter(ip.topic, ip.partition, m.offset, dl.index, dl.reason, dl.detail,
                       raw.payload, &line_);
      std::string_view v = line_;
      Produce(cfg_.dead_letter_topic, RdKafka::Topic::PARTITION_UA, {}, &v, ts);
      if (!cfg_.explain_topic.empty()) {
        line_.clear();
        RenderDeadLetterExplain(ip.topic, ip.partition, m.offset, dl.index, ts, &line_);
        v = line_;
        Produce(cfg_.explain_topic, RdKafka::Topic::PARTITION_UA, {}, &v, ts);
      }
    } else {
      const Record& rec = batch_[r++];
      m_.records.Increment();
      std::string key = PartitionKey(rec, cfg_.partition_by);
      buf_.clear();
      dedup::Writer w(&buf_);
      w.U8(kRecordMessage);
      dedup::EncodeRecord(rec, w);
      if (buf_.size() > kMaxRecordBytes) {
        // It could not be produced (message.max.bytes), and a transaction that cannot hold
        // a message aborts forever: dead-letter it instead.
        m_.DeadLetter(std::string(reason::kTooLarge)).Increment();
        line_.clear();
        RenderDeadLetter(ip.topic, ip.partition, m.offset, rec.addr.index, reason::kTooLarge,
                         "record of " + std::to_string(buf_.size()) +
                             " bytes after decoding is over the limit of " +
                             std::to_string(kMaxRecordBytes),
                         raw.payload, &line_);
        std::string_view dv = line_;
        Produce(cfg_.dead_letter_topic, RdKafka::Topic::PARTITION_UA, {}, &dv, ts);
        continue;
      }
      std::string_view v = buf_;
      // The wall clock, not the event time (which the record carries): the topic's
      // retention must count from when the record was written, or a backfill of old
      // events would be deleted before the correlate stage reads it.
      Produce(cfg_.repartition_topic, PartitionOf(key, repartitions_), key, &v, WallMs());
    }
  }
  ip.next_offset = m.offset + 1;
  ip.last_ts = std::max(ip.last_ts, ts);
  txn_has_work_ = true;
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
      p.dirty = true;
      txn_has_work_ = true;
    }
    p.engine->AdvanceWatermark(target);
  }
}

bool Live::StillRetrying(const char* what, const RdKafka::Error& error, int attempt) {
  // A broker outage: keep retrying (the transaction stays whole), say so on /readyz, and keep
  // /healthz alive, since the loop is not turning meanwhile. A stop gives up after a few tries:
  // what is not committed is processed again by the next owner.
  health_.Beat();
  health_.SetReady(false, std::string(what) + " retrying: " + error.str());
  m_.ready.Set(0);
  if (attempt < 3 || attempt % 30 == 0) {
    log_ << "noisegate: level=warn event=" << what << "_retry attempt=" << attempt + 1
         << " error=\"" << error.str() << "\"\n";
  }
  return !(stop_ && attempt >= 2);
}

bool Live::Commit(bool rewind) {
  last_commit_ok_ = false;
  if (!in_txn_) return !fatal_;
  WriteMarks();
  if (!txn_has_work_) {
    txn_started_ = Clock::now();
    last_commit_ok_ = true;
    return true;
  }
  auto commit_started = Clock::now();
  for (auto& [id, p] : correlate_) {
    if (!p.dirty) continue;
    buf_.clear();
    p.engine->SaveState(&engine_state_);
    dedup::Writer w(&buf_);
    w.U8(kCheckpointVersion);
    w.SVar(p.next_offset);  // what the same transaction commits as this partition's offset
    w.Str(engine_state_);
    p.merger.Save(w);
    m_.checkpoint_bytes.Increment(static_cast<double>(buf_.size()));
    changelog_msgs_.clear();
    EncodeCheckpoint(id, p.generation + 1, buf_, p.chunks, &changelog_msgs_);
    p.pending_chunks = 0;
    for (const ChangelogMessage& m : changelog_msgs_) {
      if (m.value && m.key.find('/') != std::string::npos) ++p.pending_chunks;
      std::string_view v = m.value ? std::string_view(*m.value) : std::string_view();
      Produce(cfg_.changelog_topic, id, m.key, m.value ? &v : nullptr, WallMs());
      Failpoint::Hit("checkpoint_mid");
    }
  }
  std::vector<RdKafka::TopicPartition*> offsets;
  for (auto& [k, ip] : inputs_) {
    if (ip.next_offset >= 0) {
      offsets.push_back(RdKafka::TopicPartition::create(ip.topic, ip.partition, ip.next_offset));
    }
  }
  for (auto& [id, p] : correlate_) {
    if (p.next_offset >= 0) {
      offsets.push_back(RdKafka::TopicPartition::create(cfg_.repartition_topic, id, p.next_offset));
    }
  }
  std::unique_ptr<RdKafka::Error> error;
  // A message that failed to produce (locally or in delivery) is not in the transaction:
  // committing would lose it. Abort instead, and process it again.
  bool produce_failed = false;
  if (txn_failed_) {
    producer_->flush(kRequestTimeoutMs);
    produce_failed = true;
  }
  if (!offsets.empty() && !produce_failed) {
    std::unique_ptr<RdKafka::ConsumerGroupMetadata> gm(consumer_->groupMetadata());
    for (int attempt = 0;; ++attempt) {
      error.reset(producer_->send_offsets_to_transaction(offsets, gm.get(), kRequestTimeoutMs));
      if (!error || !error->is_retriable() || !StillRetrying("send_offsets", *error, attempt)) {
        break;
      }
    }
  }
  RdKafka::TopicPartition::destroy(offsets);
  if (!error && !produce_failed) {
    Failpoint::Hit("before_commit");
    for (int attempt = 0;; ++attempt) {
      error.reset(producer_->commit_transaction(kRequestTimeoutMs));
      if (!error || !error->is_retriable() || !StillRetrying("commit", *error, attempt)) break;
    }
  }
  in_txn_ = false;
  bool failed = error != nullptr || produce_failed;
  m_.transactions.Add({{"result", failed ? "aborted" : "committed"}}).Increment();
  if (failed) {
    std::string why = error ? error->str() : "a message could not be produced";
    health_.SetReady(false, "transaction failed: " + why);
    m_.ready.Set(0);
    log_ << "noisegate: level=error event=commit_failed error=\"" << why
         << "\" fatal=" << (error && error->is_fatal()) << "\n";
    if (error && error->is_fatal()) {
      fatal_ = true;
      return false;
    }
    std::unique_ptr<RdKafka::Error> abort_error;
    for (int attempt = 0;; ++attempt) {
      abort_error.reset(producer_->abort_transaction(kRequestTimeoutMs));
      if (!abort_error || !abort_error->is_retriable() ||
          !StillRetrying("abort", *abort_error, attempt)) {
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
  Failpoint::Hit("after_commit");
  for (auto& [id, p] : correlate_) {
    if (p.dirty) {
      p.generation += 1;
      p.chunks = p.pending_chunks;
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
  health_.SetReady(true, "");
  m_.ready.Set(1);
  return BeginTransaction();
}

void Live::Rewind() {
  log_ << "noisegate: level=warn event=rewind reason=\"transaction aborted: back to the last "
          "checkpoint and committed offsets\"\n";
  std::vector<RdKafka::TopicPartition*> parts;
  for (auto& [k, ip] : inputs_) {
    ip.queue.clear();
    ip.next_offset = -1;
    ip.fetched_next = -1;
    // Progress marks must not claim what the aborted transaction ingested.
    ip.last_ts = ip.committed_ts;
    ip.marked = false;
    parts.push_back(RdKafka::TopicPartition::create(ip.topic, ip.partition));
  }
  std::vector<int32_t> ids;
  for (auto& [id, p] : correlate_) {
    ids.push_back(id);
    parts.push_back(RdKafka::TopicPartition::create(cfg_.repartition_topic, id));
  }
  Restore(ids);
  if (!parts.empty()) {
    // Where to resume must be known for sure: from the beginning only for a partition that
    // truly has no committed offset. Anything else is fatal (the pod restarts and resumes
    // from the committed offsets, which is safe).
    RdKafka::ErrorCode err =
        FetchCommitted(parts, "rewind_committed_retry", Clock::time_point::max());
    for (RdKafka::TopicPartition* tp : parts) {
      if (err != RdKafka::ERR_NO_ERROR || tp->err() != RdKafka::ERR_NO_ERROR) {
        fatal_ = true;
        break;
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

RunExit Live::Loop() {
  while (!stop_ && !fatal_) {
    health_.Beat();
    now_ = Clock::now();
    MaybeReload();
    if (fatal_) break;
    // Take what has arrived (a bounded batch, in one call: it also serves the rebalance
    // callback), then do the housekeeping.
    ssize_t n =
        rd_kafka_consume_batch_queue(consumer_queue_, 100, batch_msgs_.data(), batch_msgs_.size());
    for (ssize_t i = 0; i < n; ++i) {
      MessagePtr m(batch_msgs_[i]);
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->rkt != nullptr) {
        auto it = inputs_.find(
            std::pair<std::string_view, int32_t>(rd_kafka_topic_name(m->rkt), m->partition));
        if (it != inputs_.end()) it->second.at_end = true;
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_ << "noisegate: level=warn event=consume error=\"" << rd_kafka_message_errstr(m.get())
             << "\"\n";
        continue;
      }
      Dispatch(std::move(m));
    }
    now_ = Clock::now();
    ReleaseInputs(false);
    AdvanceIdle();
    producer_->poll(0);
    if (Clock::now() - txn_started_ >= cfg_.commit_interval) Commit();
  }
  if (fatal_) return RunExit::kFatal;
  // Stop: finish what is buffered, commit, leave the group, flush.
  log_ << "noisegate: level=info event=stopping\n";
  ReleaseInputs(true);
  Commit();
  if (in_txn_) {
    std::unique_ptr<RdKafka::Error> e(producer_->abort_transaction(kRequestTimeoutMs));
    in_txn_ = false;
  }
  consumer_->close();
  producer_->flush(kRequestTimeoutMs);
  log_ << "noisegate: level=info event=stopped\n";
  return fatal_ ? RunExit::kFatal : RunExit::kStopped;
}

// The embedded default: librdkafka's in-process mock cluster with every topic created.
struct Embedded {
  rd_kafka_t* host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Embedded() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (host) rd_kafka_destroy(host);
  }
};

}  // namespace

RunExit RunLive(std::shared_ptr<const rules::CompiledRules> rules, const RunConfig& config,
                const std::atomic<bool>& stop, std::ostream& log,
                std::atomic<bool>* reload_signal) {
  RunConfig cfg = config;
  Embedded embedded;
  if (cfg.embedded()) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "4", err, sizeof(err));  // no "no bootstrap" notice
    embedded.host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (embedded.host == nullptr) {
      log << "noisegate: level=error event=embedded error=\"" << err << "\"\n";
      return RunExit::kFatal;
    }
    embedded.cluster = rd_kafka_mock_cluster_new(embedded.host, 1);
    std::string bootstrap = rd_kafka_mock_cluster_bootstraps(embedded.cluster);
    for (const rules::InputRule& in : rules->inputs) {
      rd_kafka_mock_topic_create(embedded.cluster, in.topic.c_str(), kEmbeddedInputPartitions, 1);
    }
    for (const std::string& t : {cfg.repartition_topic, cfg.changelog_topic}) {
      rd_kafka_mock_topic_create(embedded.cluster, t.c_str(), cfg.partitions, 1);
    }
    for (const std::string& t :
         {cfg.pages_topic, cfg.tickets_topic, cfg.dead_letter_topic, cfg.explain_topic}) {
      if (!t.empty()) rd_kafka_mock_topic_create(embedded.cluster, t.c_str(), 1, 1);
    }
    cfg.kafka["bootstrap.servers"] = bootstrap;
    log << "noisegate: level=info event=embedded_kafka bootstrap=" << bootstrap
        << " note=\"in-process mock cluster for trying noisegate out; it forgets everything "
           "when noisegate exits\"\n";
    // The one line a script waits for.
    log << "noisegate: embedded Kafka at " << bootstrap << "\n";
    log.flush();
  }
  auto registry = std::make_shared<prometheus::Registry>();
  auto health = std::make_shared<Health>();
  LiveMetrics metrics(*registry);
  auto reloads = std::make_shared<Reloads>();
  AdminServer admin(registry, health, reloads);
  if (!cfg.metrics_listen.empty()) {
    std::string err;
    if (!admin.Start(cfg.metrics_listen, &err)) {
      log << "noisegate: level=error event=admin_server error=\"" << err << "\"\n";
      return RunExit::kFatal;
    }
    log << "noisegate: level=info event=admin_server listen=" << cfg.metrics_listen
        << " port=" << admin.port() << " paths=/metrics,/healthz,/readyz,/-/reload\n";
  }
  Live live(rules, cfg, stop, reload_signal, log, &metrics, health.get(), reloads.get());
  if (!live.Setup()) return stop ? RunExit::kStopped : RunExit::kFatal;
  return live.Loop();
}

}  // namespace noisegate::processor

#include "processor/kafka/live.h"

#include <librdkafka/rdkafka.h>
// (after rdkafka.h)
#include <librdkafka/rdkafka_mock.h>

#include <sstream>
#include <thread>
#include <utility>

#include "processor/admin/log_lines.h"
#include "processor/intake/intake_server.h"
#include "processor/kafka/failpoint.h"
#include "processor/kafka/live_internal.h"
#include "processor/output/render.h"

namespace noisegate::processor {
namespace live_internal {

void PartitionSink::OnDecision(const dedup::DecisionEvent& e) {
  LiveMetrics& m = live_->metrics();
  m.decision[static_cast<int>(e.decision)]->Increment();
  if (!e.rule.empty()) m.RuleDecision(e.rule, e.runtime_silence, e.decision);
  if (live_->cfg().explain_topic.empty()) return;
  line_.clear();
  RenderExplain(e, &line_, live_->cfg().explain_readable);
  std::string_view v = line_;
  // Outputs are stamped with the wall clock (their event time is in the line): retention
  // counts from when they were written, and a broker takes them whatever the event time.
  live_->Produce(live_->cfg().explain_topic, RdKafka::Topic::PARTITION_UA, e.incident, &v,
                 WallMs());
}

void PartitionSink::OnNotification(const dedup::Notification& n) {
  line_.clear();
  RenderNotification(n, live_->rules(), &line_);
  std::string_view v = line_;
  bool page = n.route == rules::Action::kPage;
  const std::string& topic = page ? live_->cfg().pages_topic : live_->cfg().tickets_topic;
  live_->Notified(n);
  // The dedup_key is the message key, so one incident's messages stay in order.
  live_->Produce(topic, RdKafka::Topic::PARTITION_UA, n.incident->id, &v, WallMs());
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

bool Live::Partitions(const std::string& topic, int* count, int timeout_ms) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(producer_.get(), topic, nullptr, err));
  if (!t) return false;
  RdKafka::Metadata* md = nullptr;
  if (producer_->metadata(false, t.get(), &md, timeout_ms) != RdKafka::ERR_NO_ERROR) {
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
  ingest_ = std::make_unique<Ingest>(*rules_, cfg_.max_message_bytes, &err);
  if (!ingest_->ok()) {
    log_ << "noisegate: level=error event=setup error=\"" << err << "\"\n";
    return false;
  }
  std::map<std::string, std::string> shown = cfg_.Redacted();
  log_ << "noisegate: level=info event=starting group=" << cfg_.group
       << " instance=" << cfg_.instance;
  for (const auto& [k, v] : shown) log_ << " kafka." << k << "=" << v;
  log_ << "\n";

  // Producer-only properties in a shared config are harmless for consumers and vice versa,
  // but librdkafka warns about them; the config file may hold both.
  if (!CreateProducer()) return false;
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
  channels_complete_ = ListChannels(*rules_, &channels_);
  std::string text;
  if (ReadWholeFile(rules_->path, &text)) rules_hash_ = ContentHash(text);
  m_.SetRules(rules_->path, rules_hash_);
  if (changelog_partitions != repartitions_) {
    log_ << "noisegate: level=error event=setup error=\"topic " << cfg_.changelog_topic << " has "
         << changelog_partitions << " partitions but " << cfg_.repartition_topic << " has "
         << repartitions_ << "; they must be equal\"\n";
    return false;
  }
  if (!InitTransactions() || !BeginTransaction()) return false;

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

void Live::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) return;
  txn_failed_ = true;
  if (delivery_errors_logged_++ < 10) {
    std::ostringstream line;
    line << "noisegate: level=error event=delivery topic=" << message.topic_name() << " error=\""
         << message.errstr() << "\"\n";
    sink_.Write(line.str());
  }
}

void Live::event_cb(RdKafka::Event& event) {
  // (On librdkafka's threads for its log lines, and on a transactional call's worker.)
  std::ostringstream line;
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      if (event.fatal()) fatal_ = true;
      m_.kafka_errors.Increment();
      if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) NotReady("all brokers are down", true);
      line << "noisegate: level=" << (event.fatal() ? "error" : "warn")
           << " event=kafka_error error=\"" << RdKafka::err2str(event.err()) << ": " << event.str()
           << "\"\n";
      sink_.Write(line.str());
      break;
    case RdKafka::Event::EVENT_LOG:
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
        line << "noisegate: level=warn event=kafka_log fac=" << event.fac() << " msg=\""
             << event.str() << "\"\n";
        sink_.Write(line.str());
      }
      break;
    default:
      break;
  }
}

void Live::NotReady(const std::string& why, bool broker) {
  awaiting_broker_ = broker;
  health_.SetReady(false, why);
  m_.ready.Set(0);
}

void Live::Ready(const char* how) {
  awaiting_broker_ = false;
  std::string was;
  if (!health_.Ready(&was)) {
    log_ << "noisegate: level=info event=ready via=\"" << how << "\" after=\"" << was << "\"\n";
  }
  health_.SetReady(true, "");
  m_.ready.Set(1);
}

void Live::Receive(int timeout_ms) {
  ssize_t n = rd_kafka_consume_batch_queue(consumer_queue_, timeout_ms, batch_msgs_.data(),
                                           batch_msgs_.size());
  for (ssize_t i = 0; i < n; ++i) {
    MessagePtr m(batch_msgs_[i]);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->rkt != nullptr) {
      std::string_view topic = rd_kafka_topic_name(m->rkt);
      if (topic == cfg_.repartition_topic) {
        auto c = correlate_.find(m->partition);
        if (c != correlate_.end()) c->second.at_end = true;
        continue;
      }
      auto it = inputs_.find(std::pair<std::string_view, int32_t>(topic, m->partition));
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
}

RunExit Live::Loop() {
  // (A part that failed for good, Health::Fail, stops the process cleanly, to be restarted.)
  while (!stop_ && !fatal_ && !health_.Failed()) {
    health_.Beat();
    now_ = Clock::now();
    MaybeReload();
    if (fatal_) break;
    // Take what has arrived (a bounded batch, in one call: it also serves the rebalance
    // callback), then do the housekeeping.
    Receive(100);
    if (fatal_) break;  // (a rebalance callback's commit can end the process)
    now_ = Clock::now();
    for (auto& [id, p] : correlate_) {
      if (p.backlog) Release(p);
    }
    if (hop_ == Hop::kTaken || hop_ == Hop::kSkipped) ReleaseInputs(false);
    if (hop_ == Hop::kSkipped) {
      // The marks go straight to the mergers: what they let go, goes now.
      WriteMarks();
      for (auto& [id, p] : correlate_) Release(p);
    }
    MaybeSkipHop();
    AdvanceIdle();
    ReportInputLag();
    producer_->poll(0);
    // The arming commit after a drain goes at once: the inputs stay paused until its markers
    // are read back, and waiting for the interval would only delay the first records.
    const bool arm_now = std::exchange(arm_now_, false) && hop_ == Hop::kArming;
    if (arm_now || Clock::now() - txn_started_ >= cfg_.commit_interval) Commit();
  }
  if (fatal_) {
    ReportUnloggedDeadLetters(true);
    return RunExit::kFatal;
  }
  // Stop: finish what is buffered, commit, leave the group, flush.
  log_ << "noisegate: level=info event=stopping\n";
  if (hop_ == Hop::kTaken || hop_ == Hop::kSkipped) ReleaseInputs(true);
  AwaitMarkers(milliseconds(2000));
  Commit();
  if (in_txn_ && producer_) {
    std::unique_ptr<RdKafka::Error> e(producer_->abort_transaction(kRequestTimeoutMs));
    in_txn_ = false;
  }
  consumer_->close();
  if (producer_) producer_->flush(kRequestTimeoutMs);
  ReportUnloggedDeadLetters(true);
  log_ << "noisegate: level=info event=stopped\n";
  return fatal_ || health_.Failed() ? RunExit::kFatal : RunExit::kStopped;
}

}  // namespace live_internal

namespace {

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
                const std::atomic<bool>& stop, std::ostream& log_out,
                std::atomic<bool>* reload_signal) {
  using live_internal::kEmbeddedInputPartitions;
  using live_internal::Live;
  RunConfig cfg = config;
  // Whole lines under one lock, at the configured level: the loop and the intake's threads
  // each write through their own stream.
  LogSink sink(log_out, cfg.log_level);
  LogStream log(sink), intake_log(sink);
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
  Live live(rules, cfg, stop, reload_signal, log, &sink, &metrics, health.get(), reloads.get());
  if (!live.Setup()) return stop ? RunExit::kStopped : RunExit::kFatal;
  // The HTTP intake, once the Kafka settings proved good: it writes to the input topics, and
  // the loop reads what it wrote like any other message.
  std::unique_ptr<IntakeServer> intake;
  if (!cfg.intake.listen.empty()) {
    cfg.intake.notification_topics = {cfg.pages_topic, cfg.tickets_topic};
    intake =
        std::make_unique<IntakeServer>(cfg.intake, cfg.max_message_bytes, *registry, intake_log);
    std::string err;
    if (!intake->Start(cfg.kafka, rules, &err)) {
      log << "noisegate: level=error event=intake error=\"" << err << "\"\n";
      return RunExit::kFatal;
    }
    log << "noisegate: level=info event=intake listen=" << cfg.intake.listen
        << " port=" << intake->port() << " max_body_bytes=" << intake->max_body_bytes()
        << " auth=" << (cfg.intake.bearer_token_file.empty() ? "" : "bearer")
        << (cfg.intake.basic_auth_file.empty()     ? ""
            : cfg.intake.bearer_token_file.empty() ? "basic"
                                                   : ",basic")
        << (cfg.intake.bearer_token_file.empty() && cfg.intake.basic_auth_file.empty() ? "none"
                                                                                       : "")
        << " paths=/api/v2/alerts,/webhook/<topic>,/webhook/<topic>/api/v2/alerts,"
           "/api/v2/silences,/api/v2/silence/<id>,/api/v2/status\n";
    live.OnRulesSwapped([&intake](std::shared_ptr<const rules::CompiledRules> r) {
      intake->SetRules(std::move(r));
    });
    intake->OnFatal([health](const std::string& error) {
      health->Fail("the HTTP intake's Kafka producer failed for good: " + error);
    });
  }
  return live.Loop();
}

}  // namespace noisegate::processor

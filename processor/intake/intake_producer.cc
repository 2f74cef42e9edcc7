#include "processor/intake/intake_producer.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace noisegate::processor {
namespace {

// One Publish's wait for its delivery report. Shared: a report can come after the request
// gave up waiting (it never should, message.timeout.ms is shorter, but it must not crash).
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

IntakeProducer::Outcome Classify(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return IntakeProducer::Outcome::kStored;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
      return IntakeProducer::Outcome::kRejected;
    default:
      // Timeouts, a broker away, a topic not (yet) there, a full queue: another try may work.
      return IntakeProducer::Outcome::kUnavailable;
  }
}

}  // namespace

IntakeProducer::~IntakeProducer() {
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (rk_ != nullptr) {
    rd_kafka_flush(rk_, 1000);
    rd_kafka_destroy(rk_);
  }
}

bool IntakeProducer::Start(const std::map<std::string, std::string>& properties,
                           std::chrono::milliseconds ack_timeout, size_t max_bytes,
                           std::string* error) {
  ack_timeout_ = ack_timeout;
  // Ours first, the user's win; but what makes a 200 mean "stored" is not theirs to change.
  std::map<std::string, std::string> props = {
      {"linger.ms", "5"},
      // A whole body and its record overhead in one request (librdkafka's default is 1e6).
      {"message.max.bytes", std::to_string(std::max<size_t>(1'000'000, max_bytes + 4096))},
  };
  for (const auto& [k, v] : properties) props[k] = v;
  props["enable.idempotence"] = "true";
  props["acks"] = "all";
  props["message.timeout.ms"] = std::to_string(ack_timeout.count());
  props.erase("transactional.id");
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    // Consumer-only properties of the shared config are not the producer's business.
    rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
    if (res == RD_KAFKA_CONF_INVALID) {
      *error = "kafka property " + k + ": " + err;
      rd_kafka_conf_destroy(conf);
      return false;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &IntakeProducer::OnDelivery);
  // librdkafka's own lines (a broker away, reconnects) would be unstructured, and repeat what
  // the loop's clients log; the intake reports failed requests itself (intake_unavailable).
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk_ == nullptr) {
    *error = err;
    return false;
  }
  poller_ = std::thread([this] {
    while (!stop_.load(std::memory_order_relaxed)) rd_kafka_poll(rk_, 100);
  });
  return true;
}

void IntakeProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  std::unique_ptr<std::shared_ptr<Waiter>> owned(
      static_cast<std::shared_ptr<Waiter>*>(m->_private));
  Waiter& w = **owned;
  std::lock_guard<std::mutex> lock(w.mu);
  w.err = m->err;
  w.done = true;
  w.cv.notify_all();
}

IntakeProducer::Outcome IntakeProducer::Publish(const std::string& topic, std::string_view value,
                                                int64_t timestamp_ms, std::string* detail,
                                                std::string_view key) {
  auto waiter = std::make_shared<Waiter>();
  auto* opaque = new std::shared_ptr<Waiter>(waiter);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
      RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    delete opaque;  // not queued: no report will come
    *detail = rd_kafka_err2str(err);
    return Classify(err);
  }
  std::unique_lock<std::mutex> lock(waiter->mu);
  // message.timeout.ms is ack_timeout: the report comes by then; the margin covers the poller.
  if (!waiter->cv.wait_for(lock, ack_timeout_ + std::chrono::seconds(5),
                           [&] { return waiter->done; })) {
    *detail = "no answer from the broker";
    return Outcome::kUnavailable;
  }
  if (waiter->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *detail = rd_kafka_err2str(waiter->err);
    // A fatal error (the idempotent producer lost its sequence, an ACL refuses it) fails every
    // later Publish too: say so, so that the log tells it from a broker away.
    if (std::string fatal = FatalError(); !fatal.empty()) {
      *detail = "fatal producer error (restart noisegate): " + fatal;
    }
  }
  return Classify(waiter->err);
}

std::string IntakeProducer::FatalError() const {
  char fatal[512];
  if (rd_kafka_fatal_error(rk_, fatal, sizeof(fatal)) == RD_KAFKA_RESP_ERR_NO_ERROR) return "";
  return fatal;
}

void IntakeProducer::SimulateFatalError(const char* reason) {
  rd_kafka_test_fatal_error(rk_, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason);
}

}  // namespace noisegate::processor

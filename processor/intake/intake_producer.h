// IntakeProducer: writes one HTTP request's body to its input's Kafka topic and waits until the
// broker has it (idempotent producer, acks=all), so that the HTTP intake answers 200 only for
// what is durable. Used from many request threads at once.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <thread>

namespace noisegate::processor {

class IntakeProducer {
 public:
  // How a Publish ended.
  enum class Outcome {
    kStored,       // on the broker: acknowledged by every in-sync replica
    kUnavailable,  // not stored: the broker did not take it within the ack timeout, or the
                   // local queue is full; the sender should retry
    kRejected,     // not stored, and retrying will not help (too large for the broker)
  };

  IntakeProducer() = default;
  ~IntakeProducer();
  IntakeProducer(const IntakeProducer&) = delete;
  IntakeProducer& operator=(const IntakeProducer&) = delete;

  // Connects with `properties` (librdkafka's: bootstrap.servers, security) over the intake's
  // own settings. `ack_timeout` bounds how long a Publish waits for the broker; bodies of up
  // to `max_bytes` fit in a request. False with `error` set when the client cannot be created.
  bool Start(const std::map<std::string, std::string>& properties,
             std::chrono::milliseconds ack_timeout, size_t max_bytes, std::string* error);

  // Writes `value` to `topic` (partition chosen by librdkafka, by `key` when it is set),
  // stamped `timestamp_ms`, and waits for the broker's answer. `detail` says why when the
  // outcome is not kStored. A `value` without data (std::string_view{}) is a tombstone.
  Outcome Publish(const std::string& topic, std::string_view value, int64_t timestamp_ms,
                  std::string* detail, std::string_view key = {});
  // The client's fatal error (the idempotent producer lost its sequence, the cluster refuses
  // it), after which every Publish fails; empty while there is none.
  std::string FatalError() const;
  // Makes the client fail as after a fatal error (librdkafka's hook for testing that path).
  void SimulateFatalError(const char* reason);

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*);

  rd_kafka_t* rk_ = nullptr;
  std::chrono::milliseconds ack_timeout_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;  // serves the delivery reports
};

}  // namespace noisegate::processor

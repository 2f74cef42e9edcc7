// Reading what reached a topic of librdkafka's mock cluster, for tests that run against it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace noisegate::processor::testing {

// Calls `fn` with every message of `topic`'s partition `partition` so far, from the beginning
// (read_uncommitted: the mock has no other mode).
inline void ForEachMessage(const std::string& bootstrap, const std::string& topic,
                           int32_t partition,
                           const std::function<void(const rd_kafka_message_t&)>& fn) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "reader", err, sizeof(err));
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), partition)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(c, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 200);
    if (m == nullptr) continue;
    bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) fn(*m);
    rd_kafka_message_destroy(m);
    if (eof) break;
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
}

// Every value on `topic`'s partition 0 so far.
inline std::vector<std::string> ReadAll(const std::string& bootstrap, const std::string& topic) {
  std::vector<std::string> out;
  ForEachMessage(bootstrap, topic, 0, [&out](const rd_kafka_message_t& m) {
    out.emplace_back(static_cast<const char*>(m.payload), m.len);
  });
  return out;
}

}  // namespace noisegate::processor::testing

// librdkafka's mock cluster with noisegate's topics and rules, a producer into it, and the
// helpers the tests of `noisegate run` against it share (live_mock_*_test.cc).
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <streambuf>
#include <string>
#include <thread>

#include "processor/kafka/live.h"
#include "rules/loader.h"
#include "tests/processor/kafka/mock_topics.h"

namespace noisegate::processor::testing {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string Alert(const std::string& name, const std::string& status = "firing") {
  return R"({"version":"4","status":")" + status + R"(","alerts":[{"status":")" + status +
         R"(","labels":{"alertname":")" + name +
         R"(","severity":"critical"},"annotations":{"summary":")" + name +
         R"("},"startsAt":"2026-11-24T00:00:00Z"}]})";
}

// A log that librdkafka's threads write too, read while they do.
class LockedLog : public std::streambuf {
 public:
  std::string Text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }
  bool Has(const std::string& s) { return Text().find(s) != std::string::npos; }

 protected:
  int overflow(int c) override {
    if (c != traits_type::eof()) {
      std::lock_guard<std::mutex> lock(mu_);
      text_.push_back(static_cast<char>(c));
    }
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(s, static_cast<size_t>(n));
    return n;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

// Waits for a page event about `name`; returns it ("" after `seconds`).
inline std::string WaitForPage(const std::string& bootstrap, const std::string& name, int seconds,
                               const std::string& action = "trigger") {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const std::string& v : ReadAll(bootstrap, "noisegate.pages")) {
      if (v.find("\"event_action\":\"" + action + "\"") != std::string::npos &&
          v.find(name) != std::string::npos) {
        return v;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return "";
}

// librdkafka's in-process mock cluster with noisegate's topics, a producer into it, and the
// rules and run config both tests use. Partitions are led by broker 1.
class MockEstate {
 public:
  // `silences`: the rules also read runtime silences from noisegate.silences.
  explicit MockEstate(int brokers = 1, bool silences = false) {
    char err[256];
    rd_kafka_conf_t* hconf = rd_kafka_conf_new();
    rd_kafka_conf_set(hconf, "log_level", "3", err, sizeof(err));
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, hconf, err, sizeof(err));
    mc_ = rd_kafka_mock_cluster_new(host_, brokers);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc_);
    for (const char* t :
         {"alerts.prometheus", "noisegate.pages", "noisegate.tickets", "noisegate.dlq"}) {
      rd_kafka_mock_topic_create(mc_, t, 1, 1);
    }
    rd_kafka_mock_topic_create(mc_, "noisegate.silences", 1, 1);
    rd_kafka_mock_topic_create(mc_, "noisegate.repartition", 2, 1);
    rd_kafka_mock_topic_create(mc_, "noisegate.changelog", 2, 1);
    for (const char* t : {"alerts.prometheus", "noisegate.pages", "noisegate.tickets",
                          "noisegate.dlq", "noisegate.repartition", "noisegate.changelog"}) {
      for (int32_t p = 0; p < 2; ++p) rd_kafka_mock_partition_set_leader(mc_, t, p, 1);
    }
    rd_kafka_conf_t* pconf = rd_kafka_conf_new();
    rd_kafka_conf_set(pconf, "bootstrap.servers", bootstrap_.c_str(), err, sizeof(err));
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
    rules_ = rules::LoadRulesString(std::string(R"(
inputs:
  - topic: alerts.prometheus
    format: alertmanager
)") + (silences ? "  - {topic: noisegate.silences, format: silences}\n" : "") +
                                        R"(
correlate:
  - name: all
    group_by: [alertname]
    group_wait: 0s
    close_after: 1s
page:
  when: [['severity="critical"']]
)",
                                    "mock.yaml");
  }
  ~MockEstate() {
    rd_kafka_destroy(producer_);
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(host_);
  }
  MockEstate(const MockEstate&) = delete;
  MockEstate& operator=(const MockEstate&) = delete;

  rd_kafka_mock_cluster_t* mock() { return mc_; }
  const std::string& bootstrap() const { return bootstrap_; }
  std::shared_ptr<const rules::CompiledRules> rules() const { return rules_.rules; }
  RunConfig Config() const {
    RunConfig cfg;
    cfg.kafka["bootstrap.servers"] = bootstrap_;
    cfg.kafka["session.timeout.ms"] = "6000";  // the mock waits this long for a second join
    cfg.instance = "mock";
    cfg.partitions = 2;
    cfg.commit_interval = std::chrono::milliseconds(200);
    cfg.idle_timeout = std::chrono::milliseconds(500);
    cfg.metrics_listen = "";
    return cfg;
  }
  // Produces a critical alert named `name` and waits until it is delivered.
  void ProduceAlert(const std::string& name, const std::string& status = "firing") {
    ProduceMessage(Alert(name, status));
  }
  // Produces `v` on the alerts topic and waits until it is delivered.
  void ProduceMessage(const std::string& v, const char* topic = "alerts.prometheus") {
    EXPECT_EQ(rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic),
                                RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_TIMESTAMP(NowMs()), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_flush(producer_, 5000);
  }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::string bootstrap_;
  rd_kafka_t* producer_ = nullptr;
  rules::LoadResult rules_;
};

}  // namespace noisegate::processor::testing

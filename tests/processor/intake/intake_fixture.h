// The intake's test fixture: librdkafka's mock cluster with the input topics, and an intake
// started on a free port under given rules.
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "processor/intake/intake_server.h"
#include "rules/loader.h"
#include "tests/processor/kafka/mock_topics.h"

namespace noisegate::processor {

constexpr const char* kInputs = R"(inputs:
  - topic: alerts.prometheus
    format: alertmanager
  - topic: alerts.newrelic
    format: newrelic
)";
constexpr const char* kCorrelate = "correlate:\n  - name: all\n";
inline const std::string kRules = std::string(kInputs) + kCorrelate;

inline std::shared_ptr<const rules::CompiledRules> Rules(const std::string& text) {
  rules::LoadResult r = rules::LoadRulesString(text, "rules.yaml");
  EXPECT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].ToString();
  return r.rules;
}

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    mc_ = rd_kafka_mock_cluster_new(host_, 1);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc_);
    for (const char* t :
         {"alerts.prometheus", "alerts.newrelic", "alerts.other", "noisegate.silences"}) {
      rd_kafka_mock_topic_create(mc_, t, 1, 1);
    }
  }
  void TearDown() override {
    server_.reset();
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(host_);
  }
  // Starts an intake on a free port with `config` (listen and ack_timeout filled in).
  void Start(IntakeConfig config = {}, const std::string& rules = kRules) {
    config.listen = "127.0.0.1:0";
    config.ack_timeout = std::chrono::milliseconds(1500);
    server_ = std::make_unique<IntakeServer>(config, 1 << 20, registry_, log_);
    std::string err;
    ASSERT_TRUE(server_->Start({{"bootstrap.servers", bootstrap_}}, Rules(rules), &err)) << err;
  }
  // Answers one request, as the HTTP server would hand it over.
  IntakeServer::Response Call(std::string_view method, std::string_view path,
                              std::string_view body = "", std::string_view query = "") {
    IntakeServer::Request req;
    req.method = method;
    req.path = path;
    req.query = query;
    req.body = body;
    return server_->Handle(req);
  }
  std::vector<std::string> Stored(const std::string& topic) {
    return testing::ReadAll(bootstrap_, topic);
  }

  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::string bootstrap_;
  prometheus::Registry registry_;
  std::ostringstream log_;
  std::unique_ptr<IntakeServer> server_;
};

}  // namespace noisegate::processor

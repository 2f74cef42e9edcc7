// The run config: strict YAML with positions, librdkafka properties passed through, the
// environment winning, and secrets never shown.
#include "processor/kafka/run_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace noisegate::processor {
namespace {

// A file per test: ctest runs the tests of this binary in parallel processes.
std::string Write(const std::string& text) {
  std::string path = ::testing::TempDir() + "run_config_test." +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(RunConfig, ReadsEverySetting) {
  std::string path = Write(R"(kafka:
  bootstrap.servers: k1:9092,k2:9092
  security.protocol: SASL_SSL
  sasl.password: hunter2
group: ng-prod
instance: pod-1
topics:
  pages: p
  explain: e
partitions: 12
partition_by: [cluster]
commit_interval: 250ms
idle_timeout: 30s
restore_wait: 5s
produce_wait: 20s
rules_check_interval: 0s
max_message_bytes: 2000000
repartition_batch_bytes: 0
skip_repartition: false
changelog_config:
  segment.bytes: 16777216
  min.insync.replicas: 2
)");
  RunConfigResult r = LoadRunConfig(path, nullptr);
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].ToString();
  const RunConfig& c = r.config;
  EXPECT_EQ(c.kafka.at("bootstrap.servers"), "k1:9092,k2:9092");
  EXPECT_FALSE(c.embedded());
  EXPECT_EQ(c.group, "ng-prod");
  EXPECT_EQ(c.instance, "pod-1");
  EXPECT_EQ(c.pages_topic, "p");
  EXPECT_EQ(c.tickets_topic, "noisegate.tickets");
  EXPECT_EQ(c.explain_topic, "e");
  EXPECT_EQ(c.partitions, 12);
  EXPECT_EQ(c.partition_by, std::vector<std::string>{"cluster"});
  EXPECT_EQ(c.commit_interval.count(), 250);
  EXPECT_EQ(c.idle_timeout.count(), 30000);
  EXPECT_EQ(c.restore_wait.count(), 5000);
  EXPECT_EQ(c.produce_wait.count(), 20000);
  EXPECT_EQ(c.rules_check_interval.count(), 0);
  EXPECT_EQ(c.max_message_bytes, 2000000u);
  EXPECT_EQ(c.repartition_batch_bytes, 0u);
  EXPECT_FALSE(c.skip_repartition);
  EXPECT_TRUE(RunConfig().skip_repartition);
  EXPECT_EQ(c.changelog_config.at("segment.bytes"), "16777216");
  EXPECT_EQ(c.changelog_config.at("min.insync.replicas"), "2");
  EXPECT_EQ(c.Redacted().at("sasl.password"), "[redacted]");
  EXPECT_EQ(c.Redacted().at("security.protocol"), "SASL_SSL");
}

TEST(RunConfig, UnknownKeysAndBadValuesNamePositions) {
  std::string path = Write("group: g\ncommit_intervall: 1s\npartitions: zero\n");
  RunConfigResult r = LoadRunConfig(path, nullptr);
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0].line, 2);
  EXPECT_NE(r.diagnostics[0].message.find("commit_interval"), std::string::npos)
      << r.diagnostics[0].message;  // did-you-mean
  EXPECT_EQ(r.diagnostics[1].line, 3);
  EXPECT_EQ(r.diagnostics[1].path, "partitions");
}

TEST(RunConfig, ATransactionCallIsGivenTimeToFailOnItsOwn) {
  RunConfigResult r = LoadRunConfig(Write("group: g\ntransaction_call_wait: 5s\n"), nullptr);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 2);
  EXPECT_EQ(r.diagnostics[0].path, "transaction_call_wait");
  EXPECT_NE(r.diagnostics[0].message.find("at least 15s"), std::string::npos)
      << r.diagnostics[0].message;
  RunConfigResult ok = LoadRunConfig(Write("transaction_call_wait: 2m\n"), nullptr);
  ASSERT_TRUE(ok.diagnostics.empty()) << ok.diagnostics[0].ToString();
  EXPECT_EQ(ok.config.transaction_call_wait, std::chrono::minutes(2));
}

TEST(RunConfig, TheLogLevelComesFromTheFileAndTheEnvironmentWins) {
  EXPECT_EQ(RunConfig().log_level, LogLevel::kInfo);
  RunConfigResult r = LoadRunConfig(Write("log_level: warn\n"), nullptr);
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].ToString();
  EXPECT_EQ(r.config.log_level, LogLevel::kWarn);
  char debug[] = "NOISEGATE_LOG_LEVEL=debug";
  char* env[] = {debug, nullptr};
  EXPECT_EQ(LoadRunConfig(Write("log_level: error\n"), env).config.log_level, LogLevel::kDebug);

  RunConfigResult bad = LoadRunConfig(Write("group: g\nlog_level: verbose\n"), nullptr);
  ASSERT_EQ(bad.diagnostics.size(), 1u);
  EXPECT_EQ(bad.diagnostics[0].line, 2);
  EXPECT_EQ(bad.diagnostics[0].path, "log_level");
  EXPECT_NE(bad.diagnostics[0].message.find("debug, info, warn, error"), std::string::npos);
  char verbose[] = "NOISEGATE_LOG_LEVEL=verbose";
  char* bad_env[] = {verbose, nullptr};
  RunConfigResult bad2 = LoadRunConfig("", bad_env);
  ASSERT_EQ(bad2.diagnostics.size(), 1u);
  EXPECT_EQ(bad2.diagnostics[0].file, "NOISEGATE_LOG_LEVEL");
  EXPECT_NE(bad2.diagnostics[0].message.find("\"verbose\""), std::string::npos);
}

TEST(RunConfig, TheHttpIntakeIsOffUntilGivenAnAddress) {
  RunConfigResult off = LoadRunConfig(Write("group: g\n"), nullptr);
  ASSERT_TRUE(off.diagnostics.empty());
  EXPECT_TRUE(off.config.intake.listen.empty());
  EXPECT_EQ(off.config.intake.ack_timeout, std::chrono::seconds(5));
  RunConfigResult on = LoadRunConfig(Write(R"(intake:
  listen: 0.0.0.0:9093
  max_body_bytes: 4096
  ack_timeout: 3s
  bearer_token_file: /etc/noisegate/token
  basic_auth_file: /etc/noisegate/users
  threads: 4
  alerts_lookback: 4h
)"),
                                     nullptr);
  ASSERT_TRUE(on.diagnostics.empty()) << on.diagnostics[0].ToString();
  const IntakeConfig& ic = on.config.intake;
  EXPECT_EQ(ic.listen, "0.0.0.0:9093");
  EXPECT_EQ(ic.max_body_bytes, 4096u);
  EXPECT_EQ(ic.ack_timeout, std::chrono::seconds(3));
  EXPECT_EQ(ic.bearer_token_file, "/etc/noisegate/token");
  EXPECT_EQ(ic.basic_auth_file, "/etc/noisegate/users");
  EXPECT_EQ(ic.threads, 4);
  EXPECT_EQ(ic.alerts_lookback, std::chrono::hours(4));
  EXPECT_EQ(RunConfig().intake.alerts_lookback, std::chrono::hours(1));
  RunConfigResult bad =
      LoadRunConfig(Write("intake:\n  listen: :9093\n  tokenfile: x\n  threads: 0\n"), nullptr);
  ASSERT_EQ(bad.diagnostics.size(), 2u);
  EXPECT_EQ(bad.diagnostics[0].line, 3);
  EXPECT_NE(bad.diagnostics[0].message.find("tokenfile"), std::string::npos)
      << bad.diagnostics[0].message;
  EXPECT_EQ(bad.diagnostics[1].path, "intake.threads");
}

TEST(RunConfig, TheChangelogStaysCompacted) {
  std::string path = Write("changelog_config:\n  segment.ms: 60000\n  cleanup.policy: delete\n");
  RunConfigResult r = LoadRunConfig(path, nullptr);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_EQ(r.diagnostics[0].path, "changelog_config.cleanup.policy");
  EXPECT_NE(r.diagnostics[0].message.find("compacted"), std::string::npos);
}

TEST(RunConfig, EnvironmentOverridesAndDefaultsToEmbedded) {
  RunConfigResult none = LoadRunConfig("", nullptr);
  EXPECT_TRUE(none.diagnostics.empty());
  EXPECT_TRUE(none.config.embedded());
  EXPECT_FALSE(none.config.instance.empty());

  std::string path = Write("kafka: {bootstrap.servers: from-file:9092}\n");
  char e1[] = "NOISEGATE_KAFKA_BOOTSTRAP_SERVERS=from-env:9092";
  char e2[] = "NOISEGATE_KAFKA_SASL_OAUTHBEARER_CONFIG=secret=1";
  char e3[] = "PATH=/bin";
  char* env[] = {e1, e2, e3, nullptr};
  RunConfigResult r = LoadRunConfig(path, env);
  ASSERT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(r.config.kafka.at("bootstrap.servers"), "from-env:9092");
  EXPECT_EQ(r.config.kafka.at("sasl.oauthbearer.config"), "secret=1");
  EXPECT_EQ(r.config.Redacted().at("sasl.oauthbearer.config"), "[redacted]");
  EXPECT_EQ(r.config.kafka.count("path"), 0u);
}

TEST(RunConfig, UnreadableFileIsAnError) {
  RunConfigResult r = LoadRunConfig("/nonexistent/run.yaml", nullptr);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace noisegate::processor

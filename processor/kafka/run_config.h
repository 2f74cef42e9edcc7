// RunConfig: how `noisegate run` talks to Kafka — librdkafka properties passed through as they
// are (TLS, SASL, tuning need no code), topic names, the consumer group, and the live timing
// knobs. Read from an optional YAML file (strict, file:line:column diagnostics like the rules)
// and then from NOISEGATE_KAFKA_<property> environment variables, which win.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "processor/admin/log_lines.h"
#include "processor/decode/message.h"
#include "rules/diagnostic.h"

namespace noisegate::processor {

// How long noisegate's requests to the broker (transactional calls, offset fetches) wait
// before they give up on their own; transaction_call_wait must leave them time to.
inline constexpr std::chrono::milliseconds kTransactionCallTimeout{10'000};
inline constexpr std::chrono::milliseconds kMinTransactionCallWait{15'000};

// The HTTP intake (processor/intake): Prometheus, Alertmanager and vendor webhooks deliver to
// `noisegate run` directly.
struct IntakeConfig {
  std::string listen;  // host:port; empty = no intake
  // The largest body taken (413 above it); 0 = max_message_bytes.
  size_t max_body_bytes = 0;
  // How long a request waits for the broker to store its body before it is answered 503.
  // Under Prometheus' default notification timeout (10 s), so that it hears why.
  std::chrono::milliseconds ack_timeout{5'000};
  // Credentials a request must present, read once at start (a Secret's mount): a file holding
  // a bearer token, and/or a file of `user:password` lines for basic auth. Neither: open.
  std::string bearer_token_file;
  std::string basic_auth_file;
  int threads = 16;  // requests served at once (each waits for the broker)
  // How far back GET /api/v2/alerts reads the alert inputs (processor/intake/alerts_api.h).
  std::chrono::milliseconds alerts_lookback{3'600'000};
  // The pages and tickets topics, whose members name an alert's incidents there (not read from
  // the intake settings: RunLive sets them from the run config's topics).
  std::vector<std::string> notification_topics{"noisegate.pages", "noisegate.tickets"};
};

struct RunConfig {
  // librdkafka properties for every client; bootstrap.servers empty = the embedded cluster.
  std::map<std::string, std::string> kafka;
  std::string group = "noisegate";
  // Names this replica's transactional producer (group + "-" + instance). Keep it stable across
  // restarts of one pod (the default is the host name, which a pod keeps) so that a restart
  // aborts its predecessor's open transaction at once instead of after transaction.timeout.ms.
  std::string instance;
  std::string pages_topic = "noisegate.pages";
  std::string tickets_topic = "noisegate.tickets";
  std::string dead_letter_topic = "noisegate.dlq";
  std::string explain_topic;  // empty = no explain topic
  std::string repartition_topic = "noisegate.repartition";
  std::string changelog_topic = "noisegate.changelog";
  // Partitions of the repartition and changelog topics when noisegate creates them (the
  // embedded cluster); with an existing cluster both must exist with the same count.
  int partitions = 6;
  // Labels whose values key a record to its correlate partition. Records with different keys
  // are never correlated with each other. Empty: one key, so everything can correlate.
  std::vector<std::string> partition_by;
  std::chrono::milliseconds commit_interval{1000};
  std::chrono::milliseconds idle_timeout{10'000};
  std::chrono::milliseconds input_sync_wait{500};
  std::chrono::milliseconds shutdown_timeout{30'000};
  // How long a partition's restore waits for the checkpoint that matches its committed offset
  // (the previous owner's last transaction, still being completed). Past it, the newest
  // checkpoint there is is used, and an error is logged and counted.
  std::chrono::milliseconds restore_wait{30'000};
  // How long producing one message may wait on a full producer queue (broker slow or away)
  // before the transaction is given up: aborted, and its input processed again.
  std::chrono::milliseconds produce_wait{60'000};
  // How long one transactional call (sending the offsets, committing, aborting) may block
  // before the producer is replaced: librdkafka can leave such a call waiting forever for a
  // group coordinator that went away and came back. The transaction is then redone. At least
  // kMinTransactionCallWait.
  std::chrono::milliseconds transaction_call_wait{30'000};
  // How often the rules file is read to see whether it changed (0 = never; SIGHUP and
  // POST /-/reload still reload).
  std::chrono::milliseconds rules_check_interval{5'000};
  // Topic configs of the changelog topic when noisegate creates it, over its defaults
  // (cleanup.policy compact, segment.ms 10 min, min.cleanable.dirty.ratio 0.1,
  // delete.retention.ms 1 h); cleanup.policy cannot be changed.
  std::map<std::string, std::string> changelog_config;
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  // Records and progress marks travel the repartition topic in batches of up to this many
  // bytes (one Kafka message each); 0: one message per record, the only form noisegate read
  // before checkpoint format 4.
  size_t repartition_batch_bytes = 256 * 1024;
  // A replica that owns every input partition and every correlate partition (the only one in
  // its group) feeds its engines directly, as replay does, and writes only one-byte markers to
  // the repartition topic (live_direct.cc).
  bool skip_repartition = true;
  // Explain lines also carry "name" (alertname or log template) and "summary".
  bool explain_readable = false;
  std::string metrics_listen = "0.0.0.0:9464";  // empty = no metrics endpoint
  // Log lines below this level are not written (log_level, or NOISEGATE_LOG_LEVEL over it).
  LogLevel log_level = LogLevel::kInfo;
  IntakeConfig intake;

  bool embedded() const;
  // The librdkafka properties with secret values replaced by "[redacted]", for logs.
  std::map<std::string, std::string> Redacted() const;
};

struct RunConfigResult {
  RunConfig config;
  std::vector<rules::Diagnostic> diagnostics;  // empty on success
};

// Reads `path` (empty = defaults only), then applies `env` (a process environment, as
// `environ`). Never throws.
RunConfigResult LoadRunConfig(const std::string& path, char** env);

// True for librdkafka properties whose values must never be logged.
bool IsSecretProperty(const std::string& name);

}  // namespace noisegate::processor

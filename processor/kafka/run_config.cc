#include "processor/kafka/run_config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "rules/yaml_reader.h"

namespace noisegate::processor {

bool RunConfig::embedded() const {
  auto it = kafka.find("bootstrap.servers");
  return it == kafka.end() || it->second.empty();
}

bool IsSecretProperty(const std::string& name) {
  for (const char* word : {"password", "secret", "sasl.oauthbearer.config", "ssl.key.pem",
                           "ssl_key", "ssl.keystore", "token", "sasl.jaas"}) {
    if (name.find(word) != std::string::npos) return true;
  }
  return false;
}

std::map<std::string, std::string> RunConfig::Redacted() const {
  std::map<std::string, std::string> out = kafka;
  for (auto& [k, v] : out) {
    if (IsSecretProperty(k)) v = "[redacted]";
  }
  return out;
}

namespace {

constexpr const char* kLogLevels = "expected one of debug, info, warn, error";

void LoadYaml(rules::YamlReader& r, const std::string& text, RunConfig* c) {
  YAML::Node doc = YAML::Load(text);
  if (!doc.IsDefined() || doc.IsNull()) return;
  if (!r.CheckMap(doc, "",
                  {"kafka",
                   "group",
                   "instance",
                   "topics",
                   "partitions",
                   "partition_by",
                   "commit_interval",
                   "idle_timeout",
                   "input_sync_wait",
                   "shutdown_timeout",
                   "restore_wait",
                   "produce_wait",
                   "transaction_call_wait",
                   "rules_check_interval",
                   "max_message_bytes",
                   "metrics_listen",
                   "changelog_config",
                   "explain_readable",
                   "repartition_batch_bytes",
                   "skip_repartition",
                   "log_level",
                   "intake"},
                  "the run config (a map)")) {
    return;
  }
  using rules::YamlReader;
  // A map of name: scalar value (librdkafka properties, topic configs).
  auto properties = [&](const char* key, const char* what,
                        std::map<std::string, std::string>* out) {
    YAML::Node k = YamlReader::Get(doc, key);
    if (!YamlReader::Has(k)) return;
    if (!k.IsMap()) {
      r.Report(k, key, std::string("expected a map of ") + what);
      return;
    }
    r.Charge(k);
    for (const auto& kv : k) {
      std::optional<std::string> name = r.NonEmptyString(kv.first, key, "a property name");
      if (!name) continue;
      std::string path = rules::JoinPath(key, *name);
      if (kv.second.IsScalar()) {
        (*out)[*name] = kv.second.Scalar();
      } else {
        r.Report(kv.second, path, "expected a scalar property value");
      }
    }
  };
  properties("kafka", "librdkafka properties", &c->kafka);
  properties("changelog_config", "topic configs", &c->changelog_config);
  if (c->changelog_config.count("cleanup.policy")) {
    r.Report(YamlReader::Get(YamlReader::Get(doc, "changelog_config"), "cleanup.policy"),
             "changelog_config.cleanup.policy",
             "the changelog must stay compacted (its state would be deleted by time)");
    c->changelog_config.erase("cleanup.policy");
  }
  auto str = [&](const char* key, std::string* out, bool non_empty) {
    YAML::Node n = YamlReader::Get(doc, key);
    if (!YamlReader::Has(n)) return;
    auto v = non_empty ? r.NonEmptyString(n, key) : r.String(n, key);
    if (v) *out = *v;
  };
  str("group", &c->group, true);
  str("instance", &c->instance, true);
  str("metrics_listen", &c->metrics_listen, false);
  if (YAML::Node t = YamlReader::Get(doc, "topics"); YamlReader::Has(t)) {
    if (r.CheckMap(t, "topics",
                   {"pages", "tickets", "dead_letter", "explain", "repartition", "changelog"},
                   "a map of topic names")) {
      auto topic = [&](const char* key, std::string* out, bool optional) {
        YAML::Node n = YamlReader::Get(t, key);
        if (!YamlReader::Has(n)) return;
        std::string path = rules::JoinPath("topics", key);
        auto v = optional ? r.String(n, path) : r.NonEmptyString(n, path, "a topic name");
        if (v) *out = *v;
      };
      topic("pages", &c->pages_topic, false);
      topic("tickets", &c->tickets_topic, false);
      topic("dead_letter", &c->dead_letter_topic, false);
      topic("explain", &c->explain_topic, true);
      topic("repartition", &c->repartition_topic, false);
      topic("changelog", &c->changelog_topic, false);
    }
  }
  if (YAML::Node n = YamlReader::Get(doc, "partitions"); YamlReader::Has(n)) {
    if (auto v = r.Int(n, "partitions", 1, 10000)) c->partitions = static_cast<int>(*v);
  }
  if (YAML::Node n = YamlReader::Get(doc, "partition_by"); YamlReader::Has(n)) {
    if (auto v = r.LabelNames(n, "partition_by")) c->partition_by = *v;
  }
  auto dur = [&](const char* key, std::chrono::milliseconds* out) {
    YAML::Node n = YamlReader::Get(doc, key);
    if (!YamlReader::Has(n)) return;
    if (auto v = r.Duration(n, key, false)) *out = *v;
  };
  dur("commit_interval", &c->commit_interval);
  dur("idle_timeout", &c->idle_timeout);
  dur("input_sync_wait", &c->input_sync_wait);
  dur("shutdown_timeout", &c->shutdown_timeout);
  dur("restore_wait", &c->restore_wait);
  dur("produce_wait", &c->produce_wait);
  if (YAML::Node n = YamlReader::Get(doc, "transaction_call_wait"); YamlReader::Has(n)) {
    // A transactional call times out on its own after kTransactionCallTimeout; a shorter wait
    // would abandon producers that are merely slow.
    if (auto v = r.Duration(n, "transaction_call_wait", false)) {
      if (*v < kMinTransactionCallWait) {
        r.Report(n, "transaction_call_wait",
                 "must be at least " + std::to_string(kMinTransactionCallWait.count() / 1000) +
                     "s: a transactional call gives up on its own after " +
                     std::to_string(kTransactionCallTimeout.count() / 1000) +
                     "s, and a producer is only abandoned when it does not");
      } else {
        c->transaction_call_wait = *v;
      }
    }
  }
  if (YAML::Node n = YamlReader::Get(doc, "rules_check_interval"); YamlReader::Has(n)) {
    if (auto v = r.Duration(n, "rules_check_interval", true)) c->rules_check_interval = *v;
  }
  if (YAML::Node n = YamlReader::Get(doc, "explain_readable"); YamlReader::Has(n)) {
    if (auto v = r.Bool(n, "explain_readable")) c->explain_readable = *v;
  }
  if (YAML::Node n = YamlReader::Get(doc, "repartition_batch_bytes"); YamlReader::Has(n)) {
    // (Under the producer's message.max.bytes with the largest record added.)
    if (auto v = r.Int(n, "repartition_batch_bytes", 0, 256 * 1024)) {
      c->repartition_batch_bytes = static_cast<size_t>(*v);
    }
  }
  if (YAML::Node n = YamlReader::Get(doc, "skip_repartition"); YamlReader::Has(n)) {
    if (auto v = r.Bool(n, "skip_repartition")) c->skip_repartition = *v;
  }
  if (YAML::Node n = YamlReader::Get(doc, "log_level"); YamlReader::Has(n)) {
    if (auto v = r.String(n, "log_level")) {
      if (std::optional<LogLevel> l = ParseLogLevel(*v)) {
        c->log_level = *l;
      } else {
        r.Report(n, "log_level", kLogLevels);
      }
    }
  }
  if (YAML::Node in = YamlReader::Get(doc, "intake"); YamlReader::Has(in)) {
    if (r.CheckMap(in, "intake",
                   {"listen", "max_body_bytes", "ack_timeout", "bearer_token_file",
                    "basic_auth_file", "threads", "alerts_lookback"},
                   "a map of HTTP intake settings")) {
      IntakeConfig& ic = c->intake;
      auto field = [&](const char* key) { return YamlReader::Get(in, key); };
      auto path = [](const char* key) { return rules::JoinPath("intake", key); };
      if (YAML::Node n = field("listen"); YamlReader::Has(n)) {
        if (auto v = r.String(n, path("listen"))) ic.listen = *v;
      }
      for (auto [key, out] : {std::pair{"bearer_token_file", &ic.bearer_token_file},
                              std::pair{"basic_auth_file", &ic.basic_auth_file}}) {
        if (YAML::Node n = field(key); YamlReader::Has(n)) {
          if (auto v = r.NonEmptyString(n, path(key), "a file path")) *out = *v;
        }
      }
      if (YAML::Node n = field("max_body_bytes"); YamlReader::Has(n)) {
        if (auto v = r.Int(n, path("max_body_bytes"), 1024, 1 << 30)) {
          ic.max_body_bytes = static_cast<size_t>(*v);
        }
      }
      if (YAML::Node n = field("ack_timeout"); YamlReader::Has(n)) {
        if (auto v = r.Duration(n, path("ack_timeout"), false)) ic.ack_timeout = *v;
      }
      if (YAML::Node n = field("alerts_lookback"); YamlReader::Has(n)) {
        if (auto v = r.Duration(n, path("alerts_lookback"), false)) ic.alerts_lookback = *v;
      }
      if (YAML::Node n = field("threads"); YamlReader::Has(n)) {
        if (auto v = r.Int(n, path("threads"), 1, 256)) ic.threads = static_cast<int>(*v);
      }
    }
  }
  if (YAML::Node n = YamlReader::Get(doc, "max_message_bytes"); YamlReader::Has(n)) {
    if (auto v = r.Int(n, "max_message_bytes", 1024, 1 << 30)) {
      c->max_message_bytes = static_cast<size_t>(*v);
    }
  }
}

}  // namespace

RunConfigResult LoadRunConfig(const std::string& path, char** env) {
  RunConfigResult out;
  RunConfig& c = out.config;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') c.instance = host;
  if (c.instance.empty()) c.instance = "noisegate";
  if (!path.empty()) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      out.diagnostics.push_back(rules::Diagnostic{
          path, 0, 0, "", std::string("cannot read config: ") + std::strerror(errno)});
      return out;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    rules::YamlReader r(path, text.size());
    try {
      LoadYaml(r, text, &c);
    } catch (const YAML::ParserException& e) {
      r.ReportAt(e.mark, "", "YAML syntax error: " + e.msg);
    } catch (const rules::WalkBudgetExceeded&) {
    } catch (const std::exception& e) {
      r.ReportAt(YAML::Mark::null_mark(), "", std::string("internal error: ") + e.what());
    }
    out.diagnostics = r.TakeDiagnostics();
  }
  // NOISEGATE_KAFKA_SASL_PASSWORD=x sets sasl.password: lower case, '_' -> '.'.
  constexpr std::string_view kPrefix = "NOISEGATE_KAFKA_";
  constexpr std::string_view kLogLevel = "NOISEGATE_LOG_LEVEL=";
  for (char** e = env; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.substr(0, kLogLevel.size()) == kLogLevel) {
      std::string_view v = kv.substr(kLogLevel.size());
      if (std::optional<LogLevel> l = ParseLogLevel(v)) {
        c.log_level = *l;
      } else {
        out.diagnostics.push_back(
            rules::Diagnostic{"NOISEGATE_LOG_LEVEL", 0, 0, "",
                              std::string(kLogLevels) + ", got \"" + std::string(v) + "\""});
      }
      continue;
    }
    if (kv.substr(0, kPrefix.size()) != kPrefix) continue;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == kPrefix.size()) continue;
    std::string name(kv.substr(kPrefix.size(), eq - kPrefix.size()));
    for (char& ch : name) ch = ch == '_' ? '.' : static_cast<char>(std::tolower(ch));
    c.kafka[name] = std::string(kv.substr(eq + 1));
  }
  return out;
}

}  // namespace noisegate::processor

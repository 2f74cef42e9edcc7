#include "processor/kafka/topics.h"

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace noisegate::processor {
namespace {

struct TopicSpec {
  std::string name;
  int partitions;
  std::vector<std::pair<std::string, std::string>> configs;
};

constexpr int kTimeoutMs = 30'000;

// Only the newest value per key matters: compact, and clean often. The run config's
// changelog_config goes over these (but never over cleanup.policy).
std::vector<std::pair<std::string, std::string>> ChangelogConfig(const RunConfig& cfg) {
  std::map<std::string, std::string> c = {{"segment.ms", "600000"},
                                          {"min.cleanable.dirty.ratio", "0.1"},
                                          {"delete.retention.ms", "3600000"}};
  for (const auto& [k, v] : cfg.changelog_config) c[k] = v;
  c["cleanup.policy"] = "compact";
  return {c.begin(), c.end()};
}

// The partition count of `topic`, 0 when it does not exist, -1 on error.
int PartitionCount(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, kTimeoutMs);
  rd_kafka_topic_destroy(t);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  int count = 0;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      count = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return count;
}

}  // namespace

bool CreateTopics(const RunConfig& cfg, int replication, std::ostream& log,
                  const std::vector<std::string>& silences) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : cfg.kafka) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      log << "noisegate: bad kafka property " << k << ": " << err << "\n";
      rd_kafka_conf_destroy(conf);
      return false;
    }
  }
  // Metadata requests must not create topics as a side effect.
  rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, sizeof(err));
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)), rd_kafka_destroy);
  if (!rk) {
    log << "noisegate: " << err << "\n";
    return false;
  }
  std::vector<TopicSpec> specs = {
      // Records only wait here until the correlate stage has read them.
      {cfg.repartition_topic, cfg.partitions, {{"retention.ms", "604800000"}}},
      {cfg.changelog_topic, cfg.partitions, ChangelogConfig(cfg)},
      {cfg.pages_topic, 1, {}},
      {cfg.tickets_topic, 1, {}},
      {cfg.dead_letter_topic, 1, {}},
  };
  if (!cfg.explain_topic.empty()) specs.push_back({cfg.explain_topic, cfg.partitions, {}});
  // The newest version of each silence is what the API lists and a restart needs; every
  // version is kept for 7 days (min.compaction.lag.ms), so that a capture of the last week
  // replays as live applied it. Ids expired for 5 days get tombstones (the API writes them).
  // One partition: silences are few.
  for (const std::string& topic : silences) {
    specs.push_back({topic,
                     1,
                     {{"cleanup.policy", "compact"},
                      {"min.compaction.lag.ms", "604800000"},
                      {"segment.ms", "86400000"}}});
  }

  bool ok = true;
  std::vector<rd_kafka_NewTopic_t*> to_create;
  for (const TopicSpec& s : specs) {
    int have = PartitionCount(rk.get(), s.name);
    if (have < 0) {
      log << "noisegate: cannot read the metadata of " << s.name << "\n";
      ok = false;
      continue;
    }
    if (have > 0) {
      bool internal = s.name == cfg.repartition_topic || s.name == cfg.changelog_topic;
      log << "noisegate: topic " << s.name << " exists (" << have << " partitions)\n";
      if (internal && have != cfg.partitions) {
        log << "noisegate: " << s.name << " has " << have << " partitions, the config says "
            << cfg.partitions << "; the repartition and changelog topics must match\n";
        ok = false;
      }
      continue;
    }
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(s.name.c_str(), s.partitions, replication, err, sizeof(err));
    if (nt == nullptr) {
      log << "noisegate: " << s.name << ": " << err << "\n";
      ok = false;
      continue;
    }
    for (const auto& [k, v] : s.configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    to_create.push_back(nt);
  }
  if (!to_create.empty()) {
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_ANY);
    rd_kafka_AdminOptions_set_operation_timeout(opts, kTimeoutMs, err, sizeof(err));
    rd_kafka_CreateTopics(rk.get(), to_create.data(), to_create.size(), opts, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kTimeoutMs + 5000);
    const rd_kafka_CreateTopics_result_t* res =
        ev ? rd_kafka_event_CreateTopics_result(ev) : nullptr;
    if (res == nullptr) {
      log << "noisegate: CreateTopics: " << (ev ? rd_kafka_event_error_string(ev) : "timed out")
          << "\n";
      ok = false;
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
      for (size_t i = 0; i < n; ++i) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        const char* name = rd_kafka_topic_result_name(results[i]);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          log << "noisegate: created topic " << name << "\n";
        } else {
          log << "noisegate: cannot create " << name << ": "
              << rd_kafka_topic_result_error_string(results[i]) << "\n";
          ok = false;
        }
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(to_create.data(), to_create.size());
  }
  return ok;
}

}  // namespace noisegate::processor

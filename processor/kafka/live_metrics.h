// The metrics of `noisegate run`, declared in one place. Label values are bounded: topics and
// reasons come from the config and the dead-letter codes, decisions and routes are enums; a
// fingerprint or incident id is never a label.
#pragma once

#include <librdkafka/rdkafka.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "dedup/engine.h"

namespace noisegate::processor {

struct LiveMetrics {
  explicit LiveMetrics(prometheus::Registry& r)
      : messages(prometheus::BuildCounter()
                     .Name("noisegate_ingest_messages_total")
                     .Help("Input messages ingested, by topic")
                     .Register(r)),
        records(prometheus::BuildCounter()
                    .Name("noisegate_ingest_records_total")
                    .Help("Records decoded from input messages and sent to correlation")
                    .Register(r)
                    .Add({})),
        dead_letters(
            prometheus::BuildCounter()
                .Name("noisegate_dead_letters_total")
                .Help("Messages or records sent to the dead-letter topic, by input topic and "
                      "reason")
                .Register(r)),
        decisions(prometheus::BuildCounter()
                      .Name("noisegate_decisions_total")
                      .Help("Engine decisions, one per record, by decision")
                      .Register(r)),
        rule_decisions(prometheus::BuildCounter()
                           .Name("noisegate_rule_decisions_total")
                           .Help("Engine decisions made by a rule, by rule name and decision "
                                 "(silences from the silences input count as one rule, "
                                 "\"runtime silences\")")
                           .Register(r)),
        notifications(prometheus::BuildCounter()
                          .Name("noisegate_notifications_total")
                          .Help("Events sent to the paging and ticket topics")
                          .Register(r)),
        transactions(prometheus::BuildCounter()
                         .Name("noisegate_kafka_transactions_total")
                         .Help("Kafka transactions, by result (committed, aborted)")
                         .Register(r)),
        commit_seconds(
            prometheus::BuildHistogram()
                .Name("noisegate_kafka_commit_duration_seconds")
                .Help("Time to checkpoint, send offsets and commit a transaction")
                .Register(r)
                .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                 0.25, 0.5, 1, 2.5, 5, 10})),
        checkpoint_bytes(prometheus::BuildCounter()
                             .Name("noisegate_changelog_written_bytes_total")
                             .Help("Checkpoint bytes written to the changelog topic")
                             .Register(r)
                             .Add({})),
        changelog_messages(prometheus::BuildCounter()
                               .Name("noisegate_changelog_written_messages_total")
                               .Help("Changelog messages written: an engine entry that changed "
                                     "(put) or expired (delete), a record the merger buffered "
                                     "(buffer_put) or released (buffer_delete), the globals of a "
                                     "checkpoint")
                               .Register(r)),
        restores(prometheus::BuildCounter()
                     .Name("noisegate_changelog_restores_total")
                     .Help("Partition restores from the changelog, by result (ok, empty, failed)")
                     .Register(r)),
        restore_seconds(prometheus::BuildGauge()
                            .Name("noisegate_changelog_last_restore_duration_seconds")
                            .Help("How long the last restore from the changelog took")
                            .Register(r)
                            .Add({})),
        partitions(prometheus::BuildGauge()
                       .Name("noisegate_correlate_partitions")
                       .Help("Correlate partitions this replica owns")
                       .Register(r)
                       .Add({})),
        buffered(prometheus::BuildGauge()
                     .Name("noisegate_correlate_buffered_records")
                     .Help("Records waiting for every input to pass their event time")
                     .Register(r)
                     .Add({})),
        open_incidents(prometheus::BuildGauge()
                           .Name("noisegate_open_incidents")
                           .Help("Open incidents in the partitions this replica owns")
                           .Register(r)
                           .Add({})),
        state_entries(prometheus::BuildGauge()
                          .Name("noisegate_state_entries")
                          .Help("Entries of engine state in the owned partitions, by kind; "
                                "inert ones expire after state.retention")
                          .Register(r)),
        state_expired(prometheus::BuildGauge()
                          .Name("noisegate_state_fingerprints_expired")
                          .Help("Inert fingerprints the owned partitions' engines have dropped "
                                "since their state began (carried through restores)")
                          .Register(r)
                          .Add({})),
        rules_reloads(prometheus::BuildCounter()
                          .Name("noisegate_rules_reloads_total")
                          .Help("Rules reloads (SIGHUP, POST /-/reload, a changed file), by "
                                "result (success, failure: the old rules keep running)")
                          .Register(r)),
        rules_last_reload_successful(prometheus::BuildGauge()
                                         .Name("noisegate_rules_last_reload_successful")
                                         .Help("1 when the last rules reload succeeded (or none "
                                               "was tried), 0 when it was refused")
                                         .Register(r)
                                         .Add({})),
        rules_info(prometheus::BuildGauge()
                       .Name("noisegate_rules_info")
                       .Help("1, labelled with the path and content hash of the running rules")
                       .Register(r)),
        input_lag(prometheus::BuildGauge()
                      .Name("noisegate_input_lag_messages")
                      .Help("Messages of each owned input partition not ingested yet: its high "
                            "watermark as last fetched minus the next offset to ingest (the "
                            "commit markers of a transactional producer count too)")
                      .Register(r)),
        event_time_lag(prometheus::BuildGauge()
                           .Name("noisegate_event_time_lag_seconds")
                           .Help("Wall clock minus the newest watermark of the owned partitions")
                           .Register(r)
                           .Add({})),
        ready(prometheus::BuildGauge()
                  .Name("noisegate_ready")
                  .Help("1 when assigned, restored and committing; 0 otherwise")
                  .Register(r)
                  .Add({})),
        repartition_skipped(
            prometheus::BuildGauge()
                .Name("noisegate_repartition_skipped")
                .Help("1 while this replica owns every input and correlate partition and feeds "
                      "its engines without the repartition topic (skip_repartition)")
                .Register(r)
                .Add({})),
        kafka_errors(prometheus::BuildCounter()
                         .Name("noisegate_kafka_errors_total")
                         .Help("Errors reported by the Kafka client (retried unless fatal)")
                         .Register(r)
                         .Add({})),
        build_info(prometheus::BuildGauge()
                       .Name("noisegate_build_info")
                       .Help("1, labelled with noisegate's version and librdkafka's")
                       .Register(r)
                       .Add({{"version", NG_VERSION}, {"librdkafka", rd_kafka_version_str()}})),
        producers_replaced(prometheus::BuildCounter()
                               .Name("noisegate_kafka_producers_replaced_total")
                               .Help("Transactional producers replaced because a call to them "
                                     "blocked past transaction_call_wait")
                               .Register(r)
                               .Add({})) {
    build_info.Set(1);
    for (int i = 0; i < dedup::kDecisionCount; ++i) {
      decision[i] = &decisions.Add(
          {{"decision", std::string(dedup::DecisionName(static_cast<dedup::Decision>(i)))}});
    }
  }

  prometheus::Counter& Messages(const std::string& topic) {
    auto it = messages_by_topic.find(topic);
    if (it == messages_by_topic.end()) {
      it = messages_by_topic.emplace(topic, &messages.Add({{"topic", topic}})).first;
    }
    return *it->second;
  }
  // Counts a decision under its rule's name (`rule` non-empty). Once per record: consecutive
  // records mostly name the same rule, so the last one's counters are kept at hand.
  void RuleDecision(std::string_view rule, bool runtime_silence, dedup::Decision d) {
    if (runtime_silence) rule = kRuntimeSilences;
    if (last_rule_decision == nullptr || rule != last_rule_decision->first) {
      auto it = rule_decision.find(rule);
      if (it == rule_decision.end()) {
        it = rule_decision.emplace(std::string(rule), PerDecision{}).first;
      }
      last_rule_decision = &*it;
    }
    prometheus::Counter*& c = last_rule_decision->second[static_cast<int>(d)];
    if (c == nullptr) {
      c = &rule_decisions.Add(
          {{"rule", last_rule_decision->first}, {"decision", std::string(dedup::DecisionName(d))}});
    }
    c->Increment();
  }
  static constexpr std::string_view kRuntimeSilences = "runtime silences";
  prometheus::Counter& DeadLetter(const std::string& topic, const std::string& reason) {
    return dead_letters.Add({{"topic", topic}, {"reason", reason}});
  }
  // Sets the state gauges from the engines' sizes, summed over the owned partitions.
  void SetState(const dedup::StateSizes& s, uint64_t expired) {
    const std::pair<const char*, size_t> kinds[] = {{"fingerprints", s.fingerprints},
                                                    {"log_signals", s.log_signals},
                                                    {"flap_histories", s.flap_histories},
                                                    {"incidents", s.incidents},
                                                    {"groups", s.groups},
                                                    {"inhibit_sources", s.inhibit_sources},
                                                    {"held_records", s.held},
                                                    {"versions", s.versions},
                                                    {"traces", s.traces},
                                                    {"timers", s.timers},
                                                    {"silences", s.silences}};
    for (auto [kind, n] : kinds) state_entries.Add({{"kind", kind}}).Set(static_cast<double>(n));
    state_expired.Set(static_cast<double>(expired));
  }
  // The running rules: their path and content hash, as an info metric.
  void SetRules(const std::string& path, const std::string& hash) {
    if (rules_info_now != nullptr) rules_info.Remove(rules_info_now);
    rules_info_now = &rules_info.Add({{"path", path}, {"hash", hash}});
    rules_info_now->Set(1);
  }
  // The input lag of the owned input partitions whose lag is known; the series of the others
  // go (a revoked partition is another replica's to report).
  using InputLags = std::map<std::pair<std::string, int32_t>, int64_t>;
  void SetInputLag(const InputLags& lags) {
    for (auto it = input_lag_by_partition.begin(); it != input_lag_by_partition.end();) {
      if (lags.count(it->first) != 0) {
        ++it;
        continue;
      }
      input_lag.Remove(it->second);
      it = input_lag_by_partition.erase(it);
    }
    for (const auto& [key, lag] : lags) {
      prometheus::Gauge*& g = input_lag_by_partition[key];
      if (g == nullptr) {
        g = &input_lag.Add({{"topic", key.first}, {"partition", std::to_string(key.second)}});
      }
      g->Set(static_cast<double>(lag));
    }
  }
  prometheus::Counter& Notification(bool page, bool trigger) {
    return notifications.Add(
        {{"route", page ? "page" : "ticket"}, {"action", trigger ? "trigger" : "resolve"}});
  }

  prometheus::Family<prometheus::Counter>& messages;
  prometheus::Counter& records;
  prometheus::Family<prometheus::Counter>& dead_letters;
  prometheus::Family<prometheus::Counter>& decisions;
  prometheus::Family<prometheus::Counter>& rule_decisions;
  using PerDecision = std::array<prometheus::Counter*, dedup::kDecisionCount>;
  std::map<std::string, PerDecision, std::less<>> rule_decision;
  std::pair<const std::string, PerDecision>* last_rule_decision = nullptr;  // (map nodes stay)
  prometheus::Family<prometheus::Counter>& notifications;
  prometheus::Family<prometheus::Counter>& transactions;
  prometheus::Histogram& commit_seconds;
  prometheus::Counter& checkpoint_bytes;
  prometheus::Family<prometheus::Counter>& changelog_messages;
  prometheus::Family<prometheus::Counter>& restores;
  prometheus::Gauge& restore_seconds;
  prometheus::Gauge& partitions;
  prometheus::Gauge& buffered;
  prometheus::Gauge& open_incidents;
  prometheus::Family<prometheus::Gauge>& state_entries;
  prometheus::Gauge& state_expired;
  prometheus::Family<prometheus::Counter>& rules_reloads;
  prometheus::Gauge& rules_last_reload_successful;
  prometheus::Family<prometheus::Gauge>& rules_info;
  prometheus::Gauge* rules_info_now = nullptr;
  prometheus::Family<prometheus::Gauge>& input_lag;
  std::map<std::pair<std::string, int32_t>, prometheus::Gauge*> input_lag_by_partition;
  prometheus::Gauge& event_time_lag;
  prometheus::Gauge& ready;
  prometheus::Gauge& repartition_skipped;
  prometheus::Counter& kafka_errors;
  prometheus::Gauge& build_info;
  prometheus::Counter& producers_replaced;
  prometheus::Counter* decision[dedup::kDecisionCount];
  std::map<std::string, prometheus::Counter*> messages_by_topic;
};

}  // namespace noisegate::processor

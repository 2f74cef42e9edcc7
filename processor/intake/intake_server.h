// IntakeServer: the HTTP front door of `noisegate run` (run config `intake:`). Prometheus,
// Alertmanager, Grafana, New Relic and Datadog deliver alerts to it over HTTP instead of through
// a bridge of the user's own:
//   POST /api/v2/alerts                 Alertmanager's alert API (a JSON array of postable
//                                       alerts), as Prometheus' `alerting.alertmanagers` sends
//                                       it; to the rules' one `alertmanager` input
//   POST /webhook/<topic>               any webhook body, to the input reading <topic>
//   POST /webhook/<topic>/api/v2/alerts the alert API for that input (Prometheus'
//                                       `path_prefix: /webhook/<topic>`)
//   /api/v2/silences, /api/v2/silence/<id>, /api/v2/status
//                                       Alertmanager's silences API, for amtool (SilencesApi)
// Each body is checked with its input's decoder, written to the input's topic as one Kafka
// message, and answered 200 only once the broker has it (IntakeProducer). The processing loop
// then reads it like any other message: replay of the topic gives the same result.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "processor/intake/alerts_api.h"
#include "processor/intake/intake_producer.h"
#include "processor/intake/silences_api.h"
#include "processor/kafka/run_config.h"
#include "processor/pipeline/pipeline.h"
#include "rules/compiled_rules.h"

class CivetServer;

namespace noisegate::processor {

class IntakeServer {
 public:
  // A request as the handler sees it, and its answer (tests drive Handle directly too).
  struct Request {
    std::string_view method, path, query, authorization, content_encoding;
    std::string_view body;
    bool body_too_large = false;  // more than the limit was sent (body holds none of it)
    bool body_cut = false;        // less than its Content-Length came before the sender left
  };
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  IntakeServer(IntakeConfig config, size_t max_message_bytes, prometheus::Registry& registry,
               std::ostream& log);
  ~IntakeServer();

  // Reads the credentials files, connects the producer to Kafka (`kafka`: librdkafka
  // properties), then listens. False with `error` set when any of that fails.
  bool Start(const std::map<std::string, std::string>& kafka,
             std::shared_ptr<const rules::CompiledRules> rules, std::string* error);
  // The rules after a reload: which topics are inputs, and their decoders.
  void SetRules(std::shared_ptr<const rules::CompiledRules> rules);
  int port() const { return port_; }
  size_t max_body_bytes() const { return max_body_bytes_; }

  Response Handle(const Request& request);
  // Called once, from a request's thread, when the producer had a fatal error: every later
  // body would be a 503, so the process must be restarted (RunLive fails the liveness probe).
  void OnFatal(std::function<void(const std::string& error)> f) { on_fatal_ = std::move(f); }
  IntakeProducer& producer() { return producer_; }  // (tests)

 private:
  class Handler;
  // Which input a path addresses: its topic and whether it is the alert API; status 0 when
  // found, else the answer.
  struct Route {
    std::string topic;
    const char* endpoint = "webhook";
    int status = 0;
    std::string error;
  };
  // (Resolve and Undecodable: under rules_mu_.)
  Route Resolve(std::string_view path);
  bool Authorized(std::string_view authorization) const;
  // Decodes `body` as the input's messages are decoded; an empty string when it yields a
  // record (or nothing at all), else why it never will.
  std::string Undecodable(const std::string& topic, std::string_view body, int64_t now_ms);
  Response Answer(const char* endpoint, int status, std::string body);
  // Alertmanager's silences API (SilencesApi), under the same credentials.
  Response Silences(const Request& request);
  // After a body was not stored: a fatal producer error asks once for a restart.
  void NoteFatal();

  IntakeConfig cfg_;
  size_t max_body_bytes_;
  size_t max_message_bytes_;  // the loop's limit, which the intake's decoding follows
  std::ostream& log_;
  std::mutex log_mu_;
  int64_t last_unavailable_log_ms_ = 0;
  std::string bearer_token_;
  std::vector<std::string> basic_credentials_;  // "user:password"
  IntakeProducer producer_;
  std::unique_ptr<SilencesApi> silences_;
  std::unique_ptr<AlertsApi> alerts_;
  // Alert lists being read now: each reads topics for up to seconds, on the threads that take
  // alerts; past MaxAlertLists() at once a request is a 503 (a polling UI must not starve them).
  int MaxAlertLists() const { return std::max(1, std::min(2, cfg_.threads - 1)); }
  std::atomic<int> alert_lists_{0};
  Response Alerts(const Request& req);
  std::function<void(const std::string&)> on_fatal_;
  std::atomic<bool> fatal_seen_{false};

  std::mutex rules_mu_;  // rules_ and ingest_ (and decoding: one Ingest for every thread)
  std::shared_ptr<const rules::CompiledRules> rules_;
  std::unique_ptr<Ingest> ingest_;

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Histogram& ack_seconds_;
  std::unique_ptr<CivetServer> server_;
  std::unique_ptr<Handler> handler_;
  int port_ = 0;
};

}  // namespace noisegate::processor

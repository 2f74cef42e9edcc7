// AlertsApi: Alertmanager's alert list, `GET /api/v2/alerts[?filter=<matcher>...&active=
// &silenced=&inhibited=&unprocessed=]`, served by the HTTP intake. It is how an SRE sees what a
// silence would mute before creating it: `amtool alert query 'alertname=~"Disk.*"'` and
// Grafana's silence editor ("affected alert instances") ask it with the silence's matchers.
//
// The alerts are what the rules' alert inputs (every format but json_log and silences)
// received over the last `lookback`, read from their topics and decoded as the processing loop
// decodes them (processor/pipeline's Ingest). Each alert is its fingerprint's newest record
// (noisegate's fingerprint, as explain lines and pages show it); one still firing is listed,
// `suppressed` with the silences that mute it now (the rules' and the runtime ones, matched as
// the engine matches them), else `active`. Each also names, in the extra field
// `noisegate.incidents`, the incidents whose latest page or ticket in the window lists it as a
// member and is a trigger, not a resolve: the open incidents the silence would touch.
// Inhibitions are not computed here (`inhibitedBy` is empty): the engine decides those.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "processor/intake/api_answer.h"
#include "processor/intake/silences_api.h"
#include "rules/compiled_rules.h"

namespace noisegate::processor {

class AlertsApi {
 public:
  using Answer = ApiAnswer;
  // `kafka`: librdkafka properties for reading the topics. `notification_topics`: the pages
  // and tickets topics (their members name the incidents of an alert).
  AlertsApi(std::map<std::string, std::string> kafka, std::chrono::milliseconds lookback,
            std::vector<std::string> notification_topics, size_t max_message_bytes)
      : kafka_(std::move(kafka)),
        lookback_(lookback),
        notification_topics_(std::move(notification_topics)),
        max_message_bytes_(max_message_bytes) {}

  static bool Serves(std::string_view method, std::string_view path) {
    return method == "GET" && path == "/api/v2/alerts";
  }
  // `silences`: the runtime silences now (from SilencesApi::ReadAll; empty without an input of
  // format silences).
  Answer List(std::string_view query, const std::shared_ptr<const rules::CompiledRules>& rules,
              const std::map<std::string, SilencesApi::Stored>& silences, int64_t now_ms);

 private:
  std::map<std::string, std::string> kafka_;
  std::chrono::milliseconds lookback_;
  std::vector<std::string> notification_topics_;
  size_t max_message_bytes_;
};

}  // namespace noisegate::processor

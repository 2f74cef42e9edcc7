// Record: one alert or one log line, decoded from a message and owning all of its data. The
// engine reads records; only decoders (processor/decode) write them. Drivers reuse Record
// objects between messages so their strings keep capacity.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dedup/labels.h"
#include "dedup/types.h"

namespace noisegate {

// A silence is no signal: it is a runtime silence (Alertmanager's silence model) that takes
// effect at its record's place in event-time order (input format `silences`).
enum class SignalKind : uint8_t { kAlert, kLog, kSilence };
enum class AlertState : uint8_t { kFiring, kResolved };

// Where a record came from: (topic, partition, offset, index inside the message).
struct RecordAddress {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t index = 0;
};

// A silence as Alertmanager's API models it. Every matcher must match; a regex is fully
// anchored (RE2). It mutes signals that first fire while starts <= t < ends.
struct SilenceSpec {
  struct Matcher {
    std::string name, value;
    bool regex = false;
    bool equal = true;  // false: != or !~
  };
  std::string id;
  std::vector<Matcher> matchers;
  EventTime starts = kMinTime;
  EventTime ends = kMinTime;
  std::string created_by;
  std::string comment;
};

struct Record {
  RecordAddress addr;
  EventTime time;
  SignalKind kind = SignalKind::kAlert;
  AlertState state = AlertState::kFiring;
  // Index of the rules' input this record came in through (for per-input settings), or -1.
  int32_t input = -1;
  // Alerts: identifying labels (alertname, severity, service, instance, ...).
  // Logs: service, level, error_type, version, host/pod/node when the line has them.
  LabelSet labels;
  std::string summary;      // alert summary annotation or title; for logs the message
  std::string description;  // alert description; for logs the stack trace, if any
  std::string link;         // generatorURL, issue page, monitor link ...
  std::string runbook;      // alerts: the runbook_url (or runbook) annotation, if any
  std::string image;        // alerts: a graph of it (Grafana's imageURL), if any
  std::string trace_id;     // logs: the trace the failing request belongs to
  // Alerts: the sender's own id of the alert (Alertmanager's and Grafana's `fingerprint`), so
  // that an explain line can be found in the sender's UI. Empty: none.
  std::string source_fingerprint;
  EventTime ends_at = kMinTime;  // alerts: when the source says the alert stops (if known)
  // Where it merges with the other channels' records, when that is after `time`: the latest
  // record time its channel (input partition) had reached when it came. A channel merges in
  // its own order, so the merge does not depend on how a driver batches what it reads
  // (processor/pipeline/merger.h). kMinTime: at `time`. Set by Ingest, never by decoders.
  EventTime merge_time = kMinTime;
  // Silences (SignalKind::kSilence) only: the silence, shared (it is read, never changed).
  std::shared_ptr<const SilenceSpec> silence;

  void Clear() {
    time = EventTime{};
    kind = SignalKind::kAlert;
    state = AlertState::kFiring;
    input = -1;
    labels.Clear();
    summary.clear();
    description.clear();
    link.clear();
    runbook.clear();
    image.clear();
    trace_id.clear();
    source_fingerprint.clear();
    ends_at = kMinTime;
    merge_time = kMinTime;
    silence.reset();
  }
};

}  // namespace noisegate

// Dead-letter reason codes: the bounded, machine-readable `reason` of every rejected message or
// record (the dead-letter output and the `reason` label of the dead-letter counter). They are an
// external interface (see design/interfaces.md): add codes, never rename or remove one.
#pragma once

#include <string_view>

namespace noisegate::processor::reason {

// The message is empty or only whitespace.
inline constexpr std::string_view kEmpty = "empty";
// The message is not JSON: a syntax error before its end, or content after the document.
inline constexpr std::string_view kNotJson = "not_json";
// The message is a valid prefix of a JSON document that ends early (cut by a size limit).
inline constexpr std::string_view kTruncated = "truncated";
// The message holds bytes that are not valid UTF-8.
inline constexpr std::string_view kInvalidUtf8 = "invalid_utf8";
// Valid JSON, but not this format's shape (e.g. no alerts[] and no labels for alertmanager).
inline constexpr std::string_view kUnsupportedShape = "unsupported_shape";
// A field has the wrong JSON type (labels is a string, alerts is not an array, ...).
inline constexpr std::string_view kWrongType = "wrong_type";
// A required field is absent or empty (labels, issueId, alert_id, service, message, ...).
inline constexpr std::string_view kMissingField = "missing_field";
// The record's event time is missing or cannot be parsed.
inline constexpr std::string_view kBadTimestamp = "bad_timestamp";
// The message (or dump line) is larger than the configured limit.
inline constexpr std::string_view kTooLarge = "too_large";
// The input names a format that has no decoder (replay driver).
inline constexpr std::string_view kUnknownFormat = "unknown_format";
// The message's topic is not mapped to any input (replay driver).
inline constexpr std::string_view kUnknownTopic = "unknown_topic";
// A dump line is JSON but not a valid kcat -J envelope (replay driver).
inline constexpr std::string_view kBadEnvelope = "bad_envelope";
// A message on noisegate's internal repartition topic that this build cannot read (live
// driver; e.g. written by an incompatible version, or by something other than noisegate).
inline constexpr std::string_view kBadRepartition = "bad_repartition_record";

// A notice, not a broken record: the sender left alerts out of the message (Alertmanager's and
// Grafana's `truncatedAlerts`, over a webhook's max_alerts). They never reached noisegate; the
// alerts the message does hold are read as ever. Its index is one past the message's alerts.
inline constexpr std::string_view kAlertsLeftOut = "alerts_left_out";

// A silence (format `silences`) that Alertmanager would refuse: no matchers, an invalid regex,
// only matchers that an absent label matches, or an end before its start.
inline constexpr std::string_view kBadSilence = "bad_silence";

}  // namespace noisegate::processor::reason

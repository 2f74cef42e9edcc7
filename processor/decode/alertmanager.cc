// Alertmanager-shaped alerts (formats `alertmanager` and `grafana`): one record per alert, with
// the alert's labels verbatim. Grafana's webhook is Alertmanager's plus fields of its own, so
// one decoder with a flag reads both.
#include "processor/decode/alertmanager.h"

#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"

namespace noisegate::processor {
namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

// Fields of one alert object that are only interpreted once the whole object has been read
// (JSON gives no field order). The views live as long as the message's parse.
struct AlertFields {
  bool has_labels_key = false;  // "labels" was present, whatever its type
  bool labels_object = false;   // ... and was an object
  ScalarText status, starts_at, ends_at;
  ScalarText summary, message, description;
  ScalarText generator_url, panel_url, dashboard_url;
  ScalarText runbook_url, runbook, image_url;
  ScalarText fingerprint;
};

// Reads a scalar field into `slot`; an object or array there is a wrong_type issue.
error_code ReadField(ondemand::value& value, ScalarText* slot, std::string_view name,
                     RecordIssue& issue, int depth) {
  NG_JSON_TRY(ReadScalar(value, slot, depth));
  if (slot->kind == JsonKind::kContainer) {
    issue.Set(reason::kWrongType, name, "expected a string, got an object or array");
  }
  return simdjson::SUCCESS;
}

// Grafana's legacy (pre-unified alerting) webhook: one rule's notification, no labels and no
// alerts[] (ruleId, ruleName, ruleUrl, state, title, message, tags, evalMatches, imageUrl).
struct LegacyGrafanaFields {
  bool any = false;
  bool tags_object = false;
  ScalarText rule_id, rule_name, rule_url, state, title, message, image_url;
};

bool IsLegacyGrafanaKey(std::string_view key) {
  return key == "ruleId" || key == "ruleName" || key == "ruleUrl" || key == "state" ||
         key == "tags" || key == "evalMatches" || key == "imageUrl";
}

error_code ReadLabels(std::string_view key, ondemand::value& value, Record& r, RecordIssue& issue,
                      int depth, bool* is_object);

// A field that only adds a link or graph: its text when it is a string, else nothing.
std::string_view StringOrEmpty(const ScalarText& t) {
  return t.kind == JsonKind::kString ? t.text : std::string_view{};
}

std::string_view FirstPresent(const ScalarText& a, const ScalarText& b, const ScalarText& c) {
  if (a.present()) return a.text;
  if (b.present()) return b.text;
  if (c.present()) return c.text;
  return {};
}

class AlertmanagerDecoder final : public JsonDecoder {
 public:
  explicit AlertmanagerDecoder(bool grafana) : grafana_(grafana) {}

 protected:
  error_code DecodeDocument(ondemand::document& doc, Context& ctx) override;

 private:
  // Decodes the alerts of `alerts`, numbering records from *next_index.
  error_code DecodeAlerts(ondemand::array& alerts, Context& ctx, int32_t* next_index, int depth);
  // Handles one key of an alert object at nesting `depth`.
  error_code AlertField(std::string_view key, ondemand::value& value, Record& r, AlertFields& f,
                        RecordIssue& issue, int depth);
  void FinishAlert(const MessageMeta& meta, const AlertFields& f, Record& r,
                   RecordIssue& issue) const;
  // A dead letter for the alerts the sender left out of the message (truncatedAlerts).
  static void NoteAlertsLeftOut(const ScalarText& count, int32_t next_index, Context& ctx);
  static void FinishLegacyGrafana(const MessageMeta& meta, const LegacyGrafanaFields& f, Record& r,
                                  RecordIssue& issue);

  const bool grafana_;
  // The root object read as a bare alert. Only used when the root has no alerts[]; it is
  // swapped into the batch then, so its strings' capacity circulates instead of being copied.
  Record scratch_;
};

error_code AlertmanagerDecoder::DecodeDocument(ondemand::document& doc, Context& ctx) {
  ondemand::json_type type;
  NG_JSON_TRY(RootType(doc, ctx, &type));
  int32_t next_index = 0;
  if (type == ondemand::json_type::array) {
    // POST /api/v2/alerts body: a list of alerts.
    ondemand::array alerts;
    NG_JSON_TRY(doc.get_array().get(alerts));
    return DecodeAlerts(alerts, ctx, &next_index, 0);
  }
  if (type != ondemand::json_type::object) return simdjson::SUCCESS;

  ondemand::object root;
  NG_JSON_TRY(doc.get_object().get(root));
  bool saw_alerts = false;
  ScalarText left_out;  // truncatedAlerts
  scratch_.Clear();
  AlertFields bare;
  RecordIssue bare_issue;
  LegacyGrafanaFields legacy;
  RecordIssue legacy_issue;
  for (auto field_result : root) {
    NG_JSON_TRY(field_result.error());
    ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
    std::string_view key;
    NG_JSON_TRY(FieldKey(field, &key));
    ondemand::value& value = field.value();
    if (key == "alerts") {
      saw_alerts = true;
      ondemand::json_type t;
      NG_JSON_TRY(value.type().get(t));
      if (t != ondemand::json_type::array) {
        ctx.message_issue.Set(reason::kWrongType, "alerts", "expected an array");
        NG_JSON_TRY(SkipValue(value, 1));
        continue;
      }
      ondemand::array alerts;
      NG_JSON_TRY(value.get_array().get(alerts));
      NG_JSON_TRY(DecodeAlerts(alerts, ctx, &next_index, 1));
    } else if (key == "truncatedAlerts") {
      NG_JSON_TRY(ReadScalar(value, &left_out, 1));
    } else if (grafana_ && (IsLegacyGrafanaKey(key) || key == "title" || key == "message")) {
      // (title and message are also fields of the unified webhook's envelope: only without
      // alerts[] are they the legacy notification's.)
      legacy.any |= IsLegacyGrafanaKey(key);
      if (key == "tags") {
        NG_JSON_TRY(ReadLabels(key, value, scratch_, legacy_issue, 0, &legacy.tags_object));
      } else {
        ScalarText* slot = key == "ruleId"     ? &legacy.rule_id
                           : key == "ruleName" ? &legacy.rule_name
                           : key == "ruleUrl"  ? &legacy.rule_url
                           : key == "state"    ? &legacy.state
                           : key == "title"    ? &legacy.title
                           : key == "message"  ? &legacy.message
                                               : nullptr;  // evalMatches
        if (key == "imageUrl") {  // (only adds a graph: anything but a string is passed over)
          NG_JSON_TRY(ReadScalar(value, &legacy.image_url, 0));
          continue;
        }
        NG_JSON_TRY(slot == nullptr ? SkipValue(value, 1)
                                    : ReadField(value, slot, key, legacy_issue, 0));
      }
    } else {
      // Webhook envelope fields (receiver, groupLabels, ...) are skipped here; a bare alert's
      // fields are collected in case there is no alerts[].
      NG_JSON_TRY(AlertField(key, value, scratch_, bare, bare_issue, 0));
    }
  }
  if (saw_alerts) {
    if (!ctx.message_issue) NoteAlertsLeftOut(left_out, next_index, ctx);
    return simdjson::SUCCESS;
  }
  if (grafana_ && legacy.any && !bare.has_labels_key) {
    FinishLegacyGrafana(ctx.meta, legacy, scratch_, legacy_issue);
    bare_issue = legacy_issue;
  } else if (!bare.has_labels_key) {
    ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                          grafana_ ? "neither alerts[] nor labels nor ruleName: not a Grafana "
                                     "webhook payload (unified or legacy)"
                                   : "neither alerts[] nor labels: not an Alertmanager payload");
    return simdjson::SUCCESS;
  } else {
    FinishAlert(ctx.meta, bare, scratch_, bare_issue);
  }
  if (bare_issue) {
    RejectRecord(ctx, 0, bare_issue);
    return simdjson::SUCCESS;
  }
  Record& r = BeginRecord(ctx, 0, SignalKind::kAlert);
  std::swap(r.labels, scratch_.labels);
  std::swap(r.summary, scratch_.summary);
  std::swap(r.description, scratch_.description);
  std::swap(r.link, scratch_.link);
  std::swap(r.runbook, scratch_.runbook);
  std::swap(r.image, scratch_.image);
  std::swap(r.source_fingerprint, scratch_.source_fingerprint);
  r.time = scratch_.time;
  r.state = scratch_.state;
  r.ends_at = scratch_.ends_at;
  return simdjson::SUCCESS;
}

void AlertmanagerDecoder::NoteAlertsLeftOut(const ScalarText& count, int32_t next_index,
                                            Context& ctx) {
  // A webhook over its max_alerts: the sender dropped alerts of the group from this message.
  // Nothing noisegate can read, but they must not go unnoticed: a dead letter (counted by
  // reason) after the message's alerts, which are read as ever.
  // (A JSON number: read as a double, so that 1e2 is 100; a count is never that large.)
  double v = 0;
  if (count.kind != JsonKind::kNumber ||
      std::from_chars(count.text.data(), count.text.data() + count.text.size(), v).ec !=
          std::errc() ||
      !(v >= 1)) {
    return;
  }
  const int64_t n = v < 1e15 ? static_cast<int64_t>(v) : static_cast<int64_t>(1e15);
  DeadLetter& d = ctx.dead.emplace_back();
  d.index = next_index;
  d.reason.assign(reason::kAlertsLeftOut);
  d.detail = "truncatedAlerts: the sender left " + std::to_string(n) +
             " alert(s) of this group out of the message (over the webhook's max_alerts); "
             "they never reached noisegate";
}

error_code AlertmanagerDecoder::DecodeAlerts(ondemand::array& alerts, Context& ctx,
                                             int32_t* next_index, int depth) {
  for (auto element_result : alerts) {
    NG_JSON_TRY(element_result.error());
    ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
    const int32_t index = (*next_index)++;
    ondemand::json_type t;
    NG_JSON_TRY(element.type().get(t));
    if (t != ondemand::json_type::object) {
      NG_JSON_TRY(SkipValue(element, depth + 1));
      RecordIssue issue;
      issue.Set(reason::kWrongType, "alerts[]", "an alert must be an object");
      RejectRecord(ctx, index, issue);
      continue;
    }
    ondemand::object alert;
    NG_JSON_TRY(element.get_object().get(alert));
    Record& r = BeginRecord(ctx, index, SignalKind::kAlert);
    AlertFields f;
    RecordIssue issue;
    for (auto field_result : alert) {
      NG_JSON_TRY(field_result.error());
      ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
      std::string_view key;
      NG_JSON_TRY(FieldKey(field, &key));
      NG_JSON_TRY(AlertField(key, field.value(), r, f, issue, depth + 1));
    }
    FinishAlert(ctx.meta, f, r, issue);
    EndRecord(ctx, index, issue);
  }
  return simdjson::SUCCESS;
}

// Reads an object of string label values (`key`: "labels", or legacy Grafana's "tags") into
// `r`; false in *is_object when it is no object.
error_code ReadLabels(std::string_view key, ondemand::value& value, Record& r, RecordIssue& issue,
                      int depth, bool* is_object) {
  ondemand::json_type t;
  NG_JSON_TRY(value.type().get(t));
  *is_object = t == ondemand::json_type::object;
  if (!*is_object) {
    if (t != ondemand::json_type::null) issue.Set(reason::kWrongType, key, "expected an object");
    return SkipValue(value, depth + 1);
  }
  ondemand::object labels;
  NG_JSON_TRY(value.get_object().get(labels));
  for (auto field_result : labels) {
    NG_JSON_TRY(field_result.error());
    ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
    std::string_view name;
    NG_JSON_TRY(FieldKey(field, &name));
    ScalarText v;
    NG_JSON_TRY(ReadScalar(field.value(), &v, depth + 2));
    // Label values are strings in Alertmanager's model (its API refuses anything else): a
    // number or bool is a sender's bug, not a label to match on.
    if (v.kind == JsonKind::kString) {
      r.labels.Add(name, v.text);
    } else if (v.kind != JsonKind::kAbsent) {
      issue.Set(reason::kWrongType, key == "labels" ? "labels." : "tags.",
                v.kind == JsonKind::kContainer ? "expected a string, got an object or array"
                : v.kind == JsonKind::kNumber  ? "expected a string, got a number"
                                               : "expected a string, got a bool",
                name);
    }  // null: the label is absent
  }
  return simdjson::SUCCESS;
}

error_code AlertmanagerDecoder::AlertField(std::string_view key, ondemand::value& value, Record& r,
                                           AlertFields& f, RecordIssue& issue, int depth) {
  if (key == "labels") {
    f.has_labels_key = true;
    return ReadLabels(key, value, r, issue, depth, &f.labels_object);
  }
  if (key == "annotations") {
    ondemand::json_type t;
    NG_JSON_TRY(value.type().get(t));
    if (t != ondemand::json_type::object) {
      if (t != ondemand::json_type::null) {
        issue.Set(reason::kWrongType, "annotations", "expected an object");
      }
      return SkipValue(value, depth + 1);
    }
    ondemand::object annotations;
    NG_JSON_TRY(value.get_object().get(annotations));
    for (auto field_result : annotations) {
      NG_JSON_TRY(field_result.error());
      ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
      std::string_view name;
      NG_JSON_TRY(FieldKey(field, &name));
      // (runbook_url is the annotation Prometheus' and kube-prometheus' rules use.)
      ScalarText* slot = name == "summary"       ? &f.summary
                         : name == "message"     ? &f.message
                         : name == "description" ? &f.description
                         : name == "runbook_url" ? &f.runbook_url
                         : name == "runbook"     ? &f.runbook
                                                 : nullptr;
      if (slot == nullptr) {
        NG_JSON_TRY(SkipValue(field.value(), depth + 2));
        continue;
      }
      NG_JSON_TRY(ReadScalar(field.value(), slot, depth + 2));
      // (A runbook only adds a link: one that is no string is passed over, not a reason to
      // refuse the alert.)
      const bool link_only = slot == &f.runbook_url || slot == &f.runbook;
      if (slot->kind == JsonKind::kContainer && !link_only) {
        issue.Set(reason::kWrongType, "annotations.", "expected a string", name);
      }
    }
    return simdjson::SUCCESS;
  }
  if (key == "status") return ReadField(value, &f.status, "status", issue, depth + 1);
  if (key == "startsAt") return ReadField(value, &f.starts_at, "startsAt", issue, depth + 1);
  if (key == "endsAt") return ReadField(value, &f.ends_at, "endsAt", issue, depth + 1);
  if (key == "generatorURL") {
    return ReadField(value, &f.generator_url, "generatorURL", issue, depth + 1);
  }
  if (key == "fingerprint") {
    // Only to find the alert in the sender's UI: anything but a string is passed over.
    return ReadScalar(value, &f.fingerprint, depth + 1);
  }
  if (grafana_) {
    if (key == "panelURL") return ReadField(value, &f.panel_url, "panelURL", issue, depth + 1);
    if (key == "dashboardURL") {
      return ReadField(value, &f.dashboard_url, "dashboardURL", issue, depth + 1);
    }
    // (Only adds a graph: anything but a string is passed over.)
    if (key == "imageURL") return ReadScalar(value, &f.image_url, depth + 1);
  }
  // silenceURL, values, valueString, ... and envelope fields.
  return SkipValue(value, depth + 1);
}

void AlertmanagerDecoder::FinishAlert(const MessageMeta& meta, const AlertFields& f, Record& r,
                                      RecordIssue& issue) const {
  r.kind = SignalKind::kAlert;
  if (!f.labels_object) {
    issue.Set(reason::kMissingField, "labels",
              f.has_labels_key ? "is null" : "absent: an alert needs a labels object");
  }
  r.labels.Canonicalize();
  if (f.labels_object && r.labels.empty()) {
    issue.Set(reason::kMissingField, "labels", "empty: an alert needs at least one label");
  }

  EventTime starts, ends;
  bool has_starts = false, has_ends = false;
  if (f.starts_at.present()) {
    if (ParseTimeText(f.starts_at.text, &starts)) {
      has_starts = !IsZeroTime(starts);
    } else {
      issue.Set(reason::kBadTimestamp, "startsAt", "not an RFC 3339 time or epoch number");
    }
  }
  if (f.ends_at.present()) {
    if (ParseTimeText(f.ends_at.text, &ends)) {
      has_ends = !IsZeroTime(ends);  // Go's zero time: "no end known"
    } else {
      issue.Set(reason::kBadTimestamp, "endsAt", "not an RFC 3339 time or epoch number");
    }
  }
  if (has_ends) r.ends_at = ends;

  bool resolved;
  if (EqualsIgnoreCase(f.status.text, "resolved")) {
    resolved = true;
  } else if (EqualsIgnoreCase(f.status.text, "firing")) {
    resolved = false;
  } else {
    // API-shaped alert (no status): Alertmanager treats it as resolved once endsAt has passed.
    // Without a clock, "now" is the Kafka timestamp, else the alert's own start.
    const bool has_ref = meta.kafka_ts.has_value() || has_starts;
    const EventTime ref = meta.kafka_ts ? EventTime{*meta.kafka_ts} : starts;
    resolved = has_ends && has_ref && ends <= ref;
  }
  r.state = resolved ? AlertState::kResolved : AlertState::kFiring;

  if (meta.kafka_ts) {
    r.time = EventTime{*meta.kafka_ts};
  } else if (resolved) {
    if (has_ends) {
      r.time = ends;
    } else {
      issue.Set(reason::kBadTimestamp, "endsAt", "a resolved alert needs endsAt");
    }
  } else if (has_starts) {
    r.time = starts;
  } else {
    issue.Set(reason::kBadTimestamp, "startsAt", "absent, and the message has no Kafka timestamp");
  }

  std::string_view summary = FirstPresent(f.summary, f.message, f.description);
  if (summary.empty()) summary = r.labels.Get("alertname");
  r.summary.assign(summary);
  r.description.assign(f.description.present() ? f.description.text : std::string_view{});
  r.link.assign(FirstPresent(f.generator_url, f.panel_url, f.dashboard_url));
  r.runbook.assign(StringOrEmpty(f.runbook_url).empty() ? StringOrEmpty(f.runbook)
                                                        : StringOrEmpty(f.runbook_url));
  r.image.assign(StringOrEmpty(f.image_url));
  r.source_fingerprint.assign(f.fingerprint.kind == JsonKind::kString ? f.fingerprint.text
                                                                      : std::string_view{});
}

// The legacy notification as an alert: alertname = ruleName, rule_id, the tags as labels;
// state alerting or no_data fires, ok or paused resolves. It has no time of its own: the
// Kafka timestamp is its time.
void AlertmanagerDecoder::FinishLegacyGrafana(const MessageMeta& meta, const LegacyGrafanaFields& f,
                                              Record& r, RecordIssue& issue) {
  r.kind = SignalKind::kAlert;
  if (!f.rule_name.present() || f.rule_name.text.empty()) {
    issue.Set(reason::kMissingField, "ruleName", "absent: a legacy Grafana alert needs it");
  }
  r.labels.Add("alertname", f.rule_name.text);
  if (f.rule_id.present()) r.labels.Add("rule_id", f.rule_id.text);
  r.labels.Canonicalize();
  const std::string_view state = TrimSpace(f.state.text);
  if (EqualsIgnoreCase(state, "alerting") || EqualsIgnoreCase(state, "no_data")) {
    r.state = AlertState::kFiring;
  } else if (EqualsIgnoreCase(state, "ok") || EqualsIgnoreCase(state, "paused")) {
    r.state = AlertState::kResolved;
  } else {
    issue.Set(reason::kWrongType, "state",
              f.state.present() ? "expected alerting, no_data, ok or paused" : "absent");
  }
  if (meta.kafka_ts) {
    r.time = EventTime{*meta.kafka_ts};
  } else {
    issue.Set(reason::kBadTimestamp, "document",
              "a legacy Grafana notification has no time: it needs the Kafka timestamp");
  }
  r.summary.assign(f.message.present() && !f.message.text.empty() ? f.message.text
                                                                  : f.rule_name.text);
  r.description.assign(f.title.text);
  r.link.assign(f.rule_url.text);
  r.image.assign(StringOrEmpty(f.image_url));
}

}  // namespace

std::unique_ptr<Decoder> MakeAlertmanagerDecoder(const DecoderConfig&) {
  return std::make_unique<AlertmanagerDecoder>(false);
}

std::unique_ptr<Decoder> MakeGrafanaDecoder(const DecoderConfig&) {
  return std::make_unique<AlertmanagerDecoder>(true);
}

}  // namespace noisegate::processor

// Datadog monitor webhook (format `datadog`): one notification -> one alert record, labelled by
// monitor, host and the notification's tags.
#include "processor/decode/datadog.h"

#include <array>
#include <string_view>
#include <utility>

#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"

namespace noisegate::processor {
namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

struct MonitorFields {
  bool any_known_key = false;
  bool scope_seen = false;  // alert_scope was given
  ScalarText alert_id, id, transition, alert_type, priority, alert_priority;
  ScalarText alert_title, title, body, event_msg, hostname, link;
  ScalarText last_updated, date;
};

// Adds the labels of a Datadog tag list "k:v, k2:v2, bare": split at the first ':' (values such
// as URLs keep theirs), spaces trimmed, a bare tag becomes `tag="true"`.
void AddTags(std::string_view list, LabelSet& labels) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view tag = TrimSpace(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (tag.empty() || tag == "*") continue;  // "*": the scope of a simple (ungrouped) monitor
    size_t colon = tag.find(':');
    if (colon == std::string_view::npos) {
      labels.Add(tag, "true");
      continue;
    }
    std::string_view key = TrimSpace(tag.substr(0, colon));
    if (key.empty()) continue;
    labels.Add(key, TrimSpace(tag.substr(colon + 1)));
  }
}

// A title as Datadog writes it: notification prefixes before the monitor's name
// ("[Triggered] ", "[P1] [Re-Triggered on {host:a,env:prod}] "). `name` is the title without
// them, so a monitor's trigger and recovery carry the same name; a bracketed prefix that is
// none of these ("[prod] DB down") is part of the name. `transition` and `scope` are what the
// prefixes say (the default webhook payload has no alert_transition or alert_scope field).
struct Title {
  std::string_view name, transition, scope, priority;
};

Title ParseTitle(std::string_view title) {
  static constexpr std::array<std::string_view, 8> kTransitions = {
      "Triggered", "Re-Triggered", "Recovered",  "Warn",
      "Re-Warn",   "No Data",      "Re-No Data", "Renotify"};
  static constexpr std::array<std::string_view, 5> kPriorities = {"P1", "P2", "P3", "P4", "P5"};
  auto starts = [](std::string_view inner, std::string_view p) {
    return inner.size() >= p.size() && EqualsIgnoreCase(inner.substr(0, p.size()), p) &&
           (inner.size() == p.size() || inner[p.size()] == ' ');
  };
  Title out;
  title = TrimSpace(title);
  while (!title.empty() && title.front() == '[') {
    size_t close = title.find(']');
    if (close == std::string_view::npos) break;
    std::string_view inner = title.substr(1, close - 1);
    bool known = false;
    for (std::string_view p : kPriorities) {
      if (starts(inner, p)) {
        known = true;
        out.priority = p;
      }
    }
    // The longest transition that fits ("Re-No Data" before "No Data" cannot clash: prefixes
    // are matched from the start).
    for (std::string_view t : kTransitions) {
      if (!starts(inner, t)) continue;
      known = true;
      out.transition = t;
      std::string_view rest = TrimSpace(inner.substr(t.size()));
      if (rest.size() > 3 && rest.substr(0, 3) == "on ") {
        rest = TrimSpace(rest.substr(3));
        if (rest.size() >= 2 && rest.front() == '{' && rest.back() == '}') {
          out.scope = rest.substr(1, rest.size() - 2);
        }
      }
    }
    if (!known) break;
    title = TrimSpace(title.substr(close + 1));
  }
  out.name = title;
  return out;
}

std::string_view Severity(const MonitorFields& f, const Title& t, std::string_view transition) {
  if (EqualsIgnoreCase(f.priority.text, "P1") || EqualsIgnoreCase(f.alert_priority.text, "P1") ||
      (!f.priority.present() && !f.alert_priority.present() && t.priority == "P1")) {
    return "critical";
  }
  std::string_view type = f.alert_type.text;
  if (EqualsIgnoreCase(type, "error")) return "error";
  if (EqualsIgnoreCase(type, "warning")) return "warning";
  if (EqualsIgnoreCase(type, "info") || EqualsIgnoreCase(type, "success")) return "info";
  if (f.alert_type.present()) return {};
  // No alert_type (the default payload): what the transition says.
  if (EqualsIgnoreCase(transition, "Triggered") || EqualsIgnoreCase(transition, "Re-Triggered") ||
      EqualsIgnoreCase(transition, "Renotify")) {
    return "error";
  }
  if (EqualsIgnoreCase(transition, "Warn") || EqualsIgnoreCase(transition, "Re-Warn") ||
      EqualsIgnoreCase(transition, "No Data") || EqualsIgnoreCase(transition, "Re-No Data")) {
    return "warning";
  }
  if (EqualsIgnoreCase(transition, "Recovered")) return "info";
  return {};
}

class DatadogDecoder final : public JsonDecoder {
 protected:
  error_code DecodeDocument(ondemand::document& doc, Context& ctx) override {
    ondemand::json_type type;
    NG_JSON_TRY(RootType(doc, ctx, &type));
    if (type == ondemand::json_type::array) {
      ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                            "an array: a Datadog notification is one object");
      ondemand::array array;
      NG_JSON_TRY(doc.get_array().get(array));
      for (auto element_result : array) {
        NG_JSON_TRY(element_result.error());
        ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
        NG_JSON_TRY(SkipValue(element, 1));
      }
      return simdjson::SUCCESS;
    }
    if (type != ondemand::json_type::object) return simdjson::SUCCESS;

    ondemand::object root;
    NG_JSON_TRY(doc.get_object().get(root));
    // Tags become labels as they are read; the record is begun first so they land in it.
    Record& r = BeginRecord(ctx, 0, SignalKind::kAlert);
    MonitorFields f;
    RecordIssue issue;
    for (auto field_result : root) {
      NG_JSON_TRY(field_result.error());
      ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
      std::string_view key;
      NG_JSON_TRY(FieldKey(field, &key));
      NG_JSON_TRY(Field(key, field.value(), f, r, issue));
    }
    if (!f.any_known_key) {
      ctx.out.DropLast();
      ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                            "no Datadog monitor fields (alert_id, alert_transition, title, ...)");
      return simdjson::SUCCESS;
    }
    Finish(ctx.meta, f, r, issue);
    EndRecord(ctx, 0, issue);
    return simdjson::SUCCESS;
  }

 private:
  static error_code Field(std::string_view key, ondemand::value& value, MonitorFields& f, Record& r,
                          RecordIssue& issue) {
    constexpr int kDepth = 1;
    if (key == "tags" || key == "alert_scope") {
      // alert_scope holds the group of a multi-alert monitor (host:a, service:b): without it
      // every group of one monitor would be one alert.
      f.any_known_key = true;
      if (key == "alert_scope") f.scope_seen = true;
      ondemand::json_type t;
      NG_JSON_TRY(value.type().get(t));
      if (t == ondemand::json_type::array) {
        ondemand::array tags;
        NG_JSON_TRY(value.get_array().get(tags));
        for (auto element_result : tags) {
          NG_JSON_TRY(element_result.error());
          ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
          ScalarText tag;
          NG_JSON_TRY(ReadScalar(element, &tag, kDepth + 1));
          if (tag.kind == JsonKind::kContainer) {
            issue.Set(reason::kWrongType, key, "expected strings");
          } else if (tag.scalar()) {
            AddTags(tag.text, r.labels);
          }
        }
        return simdjson::SUCCESS;
      }
      ScalarText tags;
      NG_JSON_TRY(ReadScalar(value, &tags, kDepth));
      if (tags.kind == JsonKind::kContainer) {
        issue.Set(reason::kWrongType, key, "expected a string or an array of strings");
      } else if (tags.scalar()) {
        AddTags(tags.text, r.labels);
      }
      return simdjson::SUCCESS;
    }
    ScalarText* slot = key == "alert_id"           ? &f.alert_id
                       : key == "id"               ? &f.id
                       : key == "alert_transition" ? &f.transition
                       : key == "alert_type"       ? &f.alert_type
                       : key == "priority"         ? &f.priority
                       : key == "alert_priority"   ? &f.alert_priority
                       : key == "alert_title"      ? &f.alert_title
                       : key == "title"            ? &f.title
                       : key == "body"             ? &f.body
                       : key == "event_msg"        ? &f.event_msg
                       : (key == "hostname" || key == "host_name" || key == "host") ? &f.hostname
                       : key == "link"                                              ? &f.link
                       : key == "last_updated" ? &f.last_updated
                       : key == "date"         ? &f.date
                                               : nullptr;
    if (slot == nullptr) return SkipValue(value, kDepth);  // org, event_type, alert_query, ...
    f.any_known_key = true;
    NG_JSON_TRY(ReadScalar(value, slot, kDepth));
    if (slot->kind == JsonKind::kContainer) {
      issue.Set(reason::kWrongType, key, "expected a string or number");
    }
    return simdjson::SUCCESS;
  }

  static void Finish(const MessageMeta& meta, const MonitorFields& f, Record& r,
                     RecordIssue& issue) {
    const Title title = ParseTitle(f.title.text);
    const Title alert_title = ParseTitle(f.alert_title.text);
    const std::string_view name = alert_title.name.empty() ? title.name : alert_title.name;
    // The monitor: alert_id, else its name (the default payload has only `id`, which is the
    // id of this one notification: a recovery would never find its trigger by it).
    const std::string_view alert_id = f.alert_id.present() ? f.alert_id.text : name;
    if (alert_id.empty()) {
      issue.Set(reason::kMissingField, "alert_id", "absent, and no title to name the monitor");
    }
    std::string_view transition = TrimSpace(f.transition.text);
    if (!f.transition.present()) {
      transition = !title.transition.empty() ? title.transition : alert_title.transition;
      if (transition.empty()) {
        issue.Set(reason::kMissingField, "alert_transition",
                  "absent, and the title has no [Triggered]/[Recovered]/... prefix");
      }
    }
    // The group of a multi-alert monitor, as the title names it, when alert_scope is absent.
    if (!f.scope_seen) AddTags(title.scope.empty() ? alert_title.scope : title.scope, r.labels);

    // Added after the tags: on a clash the notification's own fields win.
    r.labels.Add("alert_id", alert_id);
    r.labels.Add("alertname", name);
    if (f.hostname.present()) r.labels.Add("host", f.hostname.text);  // (else the scope's)
    r.labels.Add("severity", Severity(f, title.priority.empty() ? alert_title : title, transition));
    r.labels.Add("source", "datadog");
    r.labels.Canonicalize();

    r.state =
        EqualsIgnoreCase(transition, "Recovered") ? AlertState::kResolved : AlertState::kFiring;
    r.summary.assign(title.name.empty() ? alert_title.name : title.name);
    r.description.assign(f.body.present() ? f.body.text : f.event_msg.text);
    r.link.assign(f.link.text);

    PickEventTime(meta, f.last_updated, "last_updated", f.date, "date", r, issue);
  }
};

}  // namespace

std::unique_ptr<Decoder> MakeDatadogDecoder(const DecoderConfig&) {
  return std::make_unique<DatadogDecoder>();
}

}  // namespace noisegate::processor

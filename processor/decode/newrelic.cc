// New Relic workflow webhook (format `newrelic`): one issue notification -> one alert record,
// labelled by issue, condition, policy and first impacted entity.
#include "processor/decode/newrelic.h"

#include <string_view>
#include <utility>

#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"

namespace noisegate::processor {
namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

struct IssueFields {
  bool any_known_key = false;  // tells "not a New Relic payload" from "one missing field"
  ScalarText issue_id, id, issue_page_url, issue_url, title, priority, state, account_id;
  ScalarText entity, policy, condition;  // first elements of the lists
  ScalarText created_at, updated_at;
};

// Reads the first element of a list field ("alertConditionNames": ["High CPU"]); a plain
// scalar is taken as a one-element list, since templates are hand-edited.
error_code ReadFirst(ondemand::value& value, ScalarText* slot, std::string_view name,
                     RecordIssue& issue, int depth) {
  ondemand::json_type t;
  NG_JSON_TRY(value.type().get(t));
  if (t == ondemand::json_type::object) {
    issue.Set(reason::kWrongType, name, "expected an array of strings");
    return SkipValue(value, depth);
  }
  if (t != ondemand::json_type::array) return ReadScalar(value, slot, depth);
  ondemand::array list;
  NG_JSON_TRY(value.get_array().get(list));
  bool first = true;
  for (auto element_result : list) {
    NG_JSON_TRY(element_result.error());
    ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
    if (!first) {
      NG_JSON_TRY(SkipValue(element, depth + 1));
      continue;
    }
    first = false;
    NG_JSON_TRY(ReadScalar(element, slot, depth + 1));
    if (slot->kind == JsonKind::kContainer) {
      issue.Set(reason::kWrongType, name, "expected an array of strings");
    }
  }
  return simdjson::SUCCESS;
}

error_code ReadField(ondemand::value& value, ScalarText* slot, std::string_view name,
                     RecordIssue& issue, int depth) {
  NG_JSON_TRY(ReadScalar(value, slot, depth));
  if (slot->kind == JsonKind::kContainer) {
    issue.Set(reason::kWrongType, name, "expected a string or number");
  }
  return simdjson::SUCCESS;
}

std::string_view SeverityFromPriority(std::string_view priority) {
  if (EqualsIgnoreCase(priority, "CRITICAL")) return "critical";
  if (EqualsIgnoreCase(priority, "HIGH")) return "error";
  if (EqualsIgnoreCase(priority, "MEDIUM")) return "warning";
  if (EqualsIgnoreCase(priority, "LOW")) return "info";
  return {};
}

class NewRelicDecoder final : public JsonDecoder {
 protected:
  error_code DecodeDocument(ondemand::document& doc, Context& ctx) override {
    ondemand::json_type type;
    NG_JSON_TRY(RootType(doc, ctx, &type));
    if (type == ondemand::json_type::array) {
      ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                            "an array: a New Relic notification is one object");
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
    IssueFields f;
    RecordIssue issue;
    for (auto field_result : root) {
      NG_JSON_TRY(field_result.error());
      ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
      std::string_view key;
      NG_JSON_TRY(FieldKey(field, &key));
      NG_JSON_TRY(Field(key, field.value(), f, issue));
    }
    if (!f.any_known_key) {
      ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                            "no New Relic issue fields (issueId, state, title, ...)");
      return simdjson::SUCCESS;
    }
    Record& r = BeginRecord(ctx, 0, SignalKind::kAlert);
    Finish(ctx.meta, f, r, issue);
    EndRecord(ctx, 0, issue);
    return simdjson::SUCCESS;
  }

 private:
  static error_code Field(std::string_view key, ondemand::value& value, IssueFields& f,
                          RecordIssue& issue) {
    constexpr int kDepth = 1;
    ScalarText* slot = nullptr;
    if (key == "issueId") {
      slot = &f.issue_id;
    } else if (key == "id") {
      slot = &f.id;  // the default template's name for the issue id
    } else if (key == "issuePageUrl") {
      slot = &f.issue_page_url;
    } else if (key == "issueUrl") {
      slot = &f.issue_url;
    } else if (key == "title") {
      slot = &f.title;
    } else if (key == "priority") {
      slot = &f.priority;
    } else if (key == "state") {
      slot = &f.state;
    } else if (key == "accountId") {
      slot = &f.account_id;
    } else if (key == "createdAt") {
      slot = &f.created_at;
    } else if (key == "updatedAt") {
      slot = &f.updated_at;
    } else if (key == "impactedEntities") {
      f.any_known_key = true;
      return ReadFirst(value, &f.entity, "impactedEntities", issue, kDepth);
    } else if (key == "alertPolicyNames") {
      f.any_known_key = true;
      return ReadFirst(value, &f.policy, "alertPolicyNames", issue, kDepth);
    } else if (key == "alertConditionNames") {
      f.any_known_key = true;
      return ReadFirst(value, &f.condition, "alertConditionNames", issue, kDepth);
    } else {
      // totalIncidents, trigger, isCorrelated, sources, workflowName, accumulations, ...
      return SkipValue(value, kDepth);
    }
    f.any_known_key = true;
    return ReadField(value, slot, key, issue, kDepth);
  }

  static void Finish(const MessageMeta& meta, const IssueFields& f, Record& r, RecordIssue& issue) {
    const ScalarText& id = f.issue_id.present() ? f.issue_id : f.id;
    if (!id.present()) issue.Set(reason::kMissingField, "issueId", "absent (nor id)");
    if (!f.state.present()) issue.Set(reason::kMissingField, "state", "absent");

    r.labels.Add("issue_id", id.text);
    r.labels.Add("alertname", f.condition.present() ? f.condition.text : f.title.text);
    r.labels.Add("policy", f.policy.text);
    r.labels.Add("entity", f.entity.text);
    // New Relic entities are usually APM services: expose the entity as the service too, so
    // service-level rules see New Relic issues.
    r.labels.Add("service", f.entity.text);
    r.labels.Add("account_id", f.account_id.text);
    r.labels.Add("severity", SeverityFromPriority(f.priority.text));
    r.labels.Add("source", "newrelic");
    r.labels.Canonicalize();

    r.state =
        EqualsIgnoreCase(f.state.text, "CLOSED") ? AlertState::kResolved : AlertState::kFiring;
    r.summary.assign(f.title.text);
    r.link.assign(f.issue_page_url.present() ? f.issue_page_url.text : f.issue_url.text);

    PickEventTime(meta, f.updated_at, "updatedAt", f.created_at, "createdAt", r, issue);
  }
};

}  // namespace

std::unique_ptr<Decoder> MakeNewRelicDecoder(const DecoderConfig&) {
  return std::make_unique<NewRelicDecoder>();
}

}  // namespace noisegate::processor

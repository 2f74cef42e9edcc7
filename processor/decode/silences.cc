#include "processor/decode/silences.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"
#include "rules/runtime_silence.h"

namespace noisegate::processor {
namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

struct SilenceFields {
  bool any_known_key = false;
  bool has_matchers = false;
  ScalarText id, starts_at, ends_at, created_by, comment, updated_at;
};

class SilencesDecoder final : public JsonDecoder {
 public:
  explicit SilencesDecoder(bool postable) : postable_(postable) {}

 protected:
  error_code DecodeDocument(ondemand::document& doc, Context& ctx) override {
    ondemand::json_type type;
    NG_JSON_TRY(RootType(doc, ctx, &type));
    if (type == ondemand::json_type::array) {
      ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                            "an array: a silence is one object");
      ondemand::value whole;
      NG_JSON_TRY(doc.get_value().get(whole));
      return SkipValue(whole, 0);
    }
    if (type != ondemand::json_type::object) return simdjson::SUCCESS;
    ondemand::object root;
    NG_JSON_TRY(doc.get_object().get(root));
    SilenceFields f;
    RecordIssue issue;
    spec_ = std::make_shared<SilenceSpec>();
    for (auto field_result : root) {
      NG_JSON_TRY(field_result.error());
      ondemand::field& field = field_result.value_unsafe();  // in place, see json_util.h
      std::string_view key;
      NG_JSON_TRY(FieldKey(field, &key));
      NG_JSON_TRY(Field(key, field.value(), f, issue));
    }
    if (!f.any_known_key) {
      ctx.message_issue.Set(reason::kUnsupportedShape, "document",
                            "no silence fields (matchers, startsAt, endsAt, ...)");
      return simdjson::SUCCESS;
    }
    Record& r = BeginRecord(ctx, 0, SignalKind::kSilence);
    Finish(ctx.meta, f, r, issue);
    EndRecord(ctx, 0, issue);
    return simdjson::SUCCESS;
  }

 private:
  error_code Field(std::string_view key, ondemand::value& value, SilenceFields& f,
                   RecordIssue& issue) {
    constexpr int kDepth = 1;
    ScalarText* slot = nullptr;
    if (key == "id") {
      slot = &f.id;
    } else if (key == "startsAt") {
      slot = &f.starts_at;
    } else if (key == "endsAt") {
      slot = &f.ends_at;
    } else if (key == "createdBy") {
      slot = &f.created_by;
    } else if (key == "comment") {
      slot = &f.comment;
    } else if (key == "updatedAt") {
      slot = &f.updated_at;
    } else if (key == "matchers") {
      f.any_known_key = true;
      f.has_matchers = true;
      return Matchers(value, issue, kDepth);
    } else {
      return SkipValue(value, kDepth);  // status, and what a later Alertmanager adds
    }
    f.any_known_key = true;
    NG_JSON_TRY(ReadScalar(value, slot, kDepth));
    if (slot->kind == JsonKind::kContainer) issue.Set(reason::kWrongType, key, "expected a string");
    return simdjson::SUCCESS;
  }

  error_code Matchers(ondemand::value& value, RecordIssue& issue, int depth) {
    ondemand::json_type t;
    NG_JSON_TRY(value.type().get(t));
    if (t != ondemand::json_type::array) {
      issue.Set(reason::kWrongType, "matchers", "expected an array of matchers");
      return SkipValue(value, depth);
    }
    ondemand::array list;
    NG_JSON_TRY(value.get_array().get(list));
    for (auto element_result : list) {
      NG_JSON_TRY(element_result.error());
      ondemand::value& element = element_result.value_unsafe();  // in place, see json_util.h
      NG_JSON_TRY(element.type().get(t));
      if (t != ondemand::json_type::object) {
        issue.Set(reason::kWrongType, "matchers[]", "a matcher must be an object");
        NG_JSON_TRY(SkipValue(element, depth + 1));
        continue;
      }
      ondemand::object m;
      NG_JSON_TRY(element.get_object().get(m));
      SilenceSpec::Matcher& out = spec_->matchers.emplace_back();
      bool has_name = false, has_value = false;
      for (auto field_result : m) {
        NG_JSON_TRY(field_result.error());
        ondemand::field& field = field_result.value_unsafe();
        std::string_view key;
        NG_JSON_TRY(FieldKey(field, &key));
        ScalarText v;
        NG_JSON_TRY(ReadScalar(field.value(), &v, depth + 2));
        if (key == "name" || key == "value") {
          if (v.kind != JsonKind::kString) {
            issue.Set(reason::kWrongType, key == "name" ? "matchers[].name" : "matchers[].value",
                      "expected a string");
          }
          (key == "name" ? out.name : out.value).assign(v.text);
          (key == "name" ? has_name : has_value) = true;
        } else if (key == "isRegex" || key == "isEqual") {
          if (v.kind != JsonKind::kBool) {
            issue.Set(reason::kWrongType,
                      key == "isRegex" ? "matchers[].isRegex" : "matchers[].isEqual",
                      "expected true or false");
          }
          (key == "isRegex" ? out.regex : out.equal) = v.text == "true";
        }
      }
      if (!has_name) issue.Set(reason::kMissingField, "matchers[].name", "absent");
      if (!has_value) issue.Set(reason::kMissingField, "matchers[].value", "absent");
    }
    return simdjson::SUCCESS;
  }

  void Finish(const MessageMeta& meta, const SilenceFields& f, Record& r, RecordIssue& issue) {
    SilenceSpec& s = *spec_;
    if (!postable_ && !f.id.present()) issue.Set(reason::kMissingField, "id", "absent");
    if (!f.has_matchers) issue.Set(reason::kMissingField, "matchers", "absent");
    s.id.assign(f.id.text);
    s.created_by.assign(f.created_by.text);
    s.comment.assign(f.comment.text);
    if (!f.starts_at.present() || !ParseTimeText(f.starts_at.text, &s.starts)) {
      issue.Set(f.starts_at.present() ? reason::kBadTimestamp : reason::kMissingField, "startsAt",
                f.starts_at.present() ? "not an RFC 3339 time or epoch number" : "absent");
    }
    if (!f.ends_at.present() || !ParseTimeText(f.ends_at.text, &s.ends)) {
      issue.Set(f.ends_at.present() ? reason::kBadTimestamp : reason::kMissingField, "endsAt",
                f.ends_at.present() ? "not an RFC 3339 time or epoch number" : "absent");
    }
    if (postable_) {
      r.time = s.starts;
    } else {
      PickEventTime(meta, f.updated_at, "updatedAt", f.starts_at, "startsAt", r, issue);
    }
    if (!issue) {
      Result<rules::Silence> compiled = rules::CompileSilence(s);
      if (!compiled) {
        error_ = compiled.error().detail;
        issue.Set(reason::kBadSilence, "silence", error_);
      }
    }
    r.ends_at = s.ends;
    r.silence = std::move(spec_);
  }

  bool postable_;
  std::shared_ptr<SilenceSpec> spec_;
  std::string error_;  // the detail of the last bad silence (valid until the next message)
};

}  // namespace

std::unique_ptr<Decoder> MakeSilencesDecoder(const DecoderConfig&) {
  return std::make_unique<SilencesDecoder>(false);
}

std::unique_ptr<Decoder> MakePostableSilenceDecoder() {
  return std::make_unique<SilencesDecoder>(true);
}

}  // namespace noisegate::processor

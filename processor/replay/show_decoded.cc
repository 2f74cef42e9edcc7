#include "processor/replay/show_decoded.h"

#include <iostream>
#include <iterator>
#include <memory>

#include "dedup/log_template.h"
#include "dedup/record_labels.h"
#include "processor/output/json_writer.h"
#include "processor/output/render.h"
#include "processor/pipeline/pipeline.h"
#include "processor/replay/dump_reader.h"

namespace noisegate::processor {
namespace {

// The labels matchers see besides the record's own, in the order rules/README.md lists them.
constexpr std::string_view kComputed[] = {"signal", "template", "component", "impacted_service",
                                          "impacted_user_facing"};

class Shower : public IngestSink {
 public:
  Shower(const rules::CompiledRules& rules, const DecodeShowOptions& opt, std::ostream& out)
      : rules_(rules), opt_(opt), out_(out) {}

  bool Init(std::ostream& err) {
    std::string error;
    ingest_ = std::make_unique<Ingest>(rules_, opt_.max_message_bytes, &error);
    if (!ingest_->ok()) {
      err << "noisegate: " << error << "\n";
      return false;
    }
    return true;
  }

  void Message(const RawMessage& m, std::string_view where) {
    ingest_->Decode(m, 0);
    if (!opt_.json) {
      const size_t records = ingest_->records().size(), dead = ingest_->dead_letters().size();
      out_ << "== " << where << ": topic " << m.topic << ", partition " << m.partition
           << ", offset " << m.offset << ": " << records << (records == 1 ? " record" : " records");
      if (dead > 0) out_ << ", " << dead << (dead == 1 ? " dead letter" : " dead letters");
      out_ << "\n";
    }
    ingest_->HandOver(*this, /*channel_time=*/nullptr);  // (records as decoded)
  }

 private:
  void OnRecord(Record& r) override {
    if (r.kind == SignalKind::kSilence) {
      ShowSilence(r);
      return;
    }
    dedup::RecordLabels labels(r, rules_.topology);
    if (r.kind == SignalKind::kLog) {
      if (rules_.logs.template_auto) {
        dedup::MineTemplate(r.summary, &template_);
      } else {
        template_.assign(r.summary);
      }
      labels.log_template = template_;
    }
    const bool alert = r.kind == SignalKind::kAlert;
    const std::string_view state = !alert                           ? "log"
                                   : r.state == AlertState::kFiring ? "firing"
                                                                    : "resolved";
    const std::string_view severity = dedup::SeverityName(dedup::SeverityOf(r));
    if (opt_.json) {
      line_.clear();
      JsonWriter w(&line_);
      w.BeginObject();
      WriteAddress(w, r.addr.topic, r.addr.partition, r.addr.offset, r.addr.index);
      w.Key("kind");
      w.String(alert ? "alert" : "log");
      w.Key("state");
      w.String(state);
      w.Key("time");
      w.String(FormatRfc3339(r.time));
      w.Key("ends_at");
      if (r.ends_at != kMinTime) {
        w.String(FormatRfc3339(r.ends_at));
      } else {
        w.Null();
      }
      w.Key("severity");
      w.String(severity);
      w.Key("labels");
      w.BeginObject();
      for (const Label& l : r.labels) {
        w.Key(l.name);
        w.String(l.value);
      }
      w.EndObject();
      w.Key("computed");
      w.BeginObject();
      for (std::string_view name : kComputed) {
        w.Key(name);
        w.String(labels.Get(name));
      }
      w.EndObject();
      w.Key("placed");
      w.BeginObject();
      for (const auto& [name, value] : labels.Placed()) {
        w.Key(name);
        w.String(value);
      }
      w.EndObject();
      w.Key("summary");
      w.String(r.summary);
      w.Key("link");
      w.StringOrNull(r.link);
      w.Key("trace_id");
      w.StringOrNull(r.trace_id);
      w.Key("source_fingerprint");
      w.StringOrNull(r.source_fingerprint);
      w.Key("runbook");
      w.StringOrNull(r.runbook);
      w.Key("image");
      w.StringOrNull(r.image);
      w.EndObject();
      out_ << line_ << "\n";
      return;
    }
    out_ << "  [" << r.addr.index << "] " << state << "  " << FormatRfc3339(r.time);
    if (r.ends_at != kMinTime) out_ << "  ends " << FormatRfc3339(r.ends_at);
    out_ << "  severity " << severity << "\n";
    out_ << "      labels:   " << Quoted(r.labels.begin(), r.labels.end()) << "\n";
    std::vector<Label> computed;
    for (std::string_view name : kComputed) {
      std::string_view v = labels.Get(name);
      if (!v.empty()) computed.push_back(Label{name, v});
    }
    out_ << "      computed: " << Quoted(computed.begin(), computed.end()) << "\n";
    const rules::PlaceInventory::Labels placed_by = labels.Placed();
    if (!placed_by.empty()) {
      std::vector<Label> placed;
      for (const auto& [name, value] : placed_by) placed.push_back(Label{name, value});
      out_ << "      placed:   " << Quoted(placed.begin(), placed.end()) << "\n";
    }
    if (!r.summary.empty()) out_ << "      summary:  " << r.summary << "\n";
    if (!r.link.empty()) out_ << "      link:     " << r.link << "\n";
    if (!r.runbook.empty()) out_ << "      runbook:  " << r.runbook << "\n";
    if (!r.image.empty()) out_ << "      graph:    " << r.image << "\n";
    if (!r.trace_id.empty()) out_ << "      trace:    " << r.trace_id << "\n";
    if (!r.source_fingerprint.empty()) {
      out_ << "      source fingerprint: " << r.source_fingerprint << "\n";
    }
  }

  // A runtime silence: its matchers in the rule language, its window and who set it.
  void ShowSilence(const Record& r) {
    const SilenceSpec& s = *r.silence;
    std::string matchers;
    for (const SilenceSpec::Matcher& m : s.matchers) {
      if (!matchers.empty()) matchers += ", ";
      matchers += m.name;
      matchers += m.equal ? (m.regex ? "=~" : "=") : (m.regex ? "!~" : "!=");
      JsonWriter::Escape(m.value, &matchers);
    }
    if (opt_.json) {
      line_.clear();
      JsonWriter w(&line_);
      w.BeginObject();
      WriteAddress(w, r.addr.topic, r.addr.partition, r.addr.offset, r.addr.index);
      w.Key("kind");
      w.String("silence");
      w.Key("time");
      w.String(FormatRfc3339(r.time));
      w.Key("id");
      w.String(s.id);
      w.Key("matchers");
      w.String(matchers);
      w.Key("starts_at");
      w.String(FormatRfc3339(s.starts));
      w.Key("ends_at");
      w.String(FormatRfc3339(s.ends));
      w.Key("created_by");
      w.String(s.created_by);
      w.Key("comment");
      w.String(s.comment);
      w.EndObject();
      out_ << line_ << "\n";
      return;
    }
    out_ << "  [" << r.addr.index << "] silence " << s.id << "  " << FormatRfc3339(r.time) << "\n";
    out_ << "      matchers: " << matchers << "\n";
    out_ << "      from " << FormatRfc3339(s.starts) << " until " << FormatRfc3339(s.ends)
         << ", by " << (s.created_by.empty() ? "(nobody)" : s.created_by) << "\n";
    if (!s.comment.empty()) out_ << "      comment:  " << s.comment << "\n";
  }

  void OnDeadLetter(const DeadLetter& dl, const RawMessage& m, int64_t) override {
    if (opt_.json) {
      line_.clear();
      JsonWriter w(&line_);
      w.BeginObject();
      WriteAddress(w, m.topic, m.partition, m.offset, dl.index);
      w.Key("dead_letter");
      w.String(dl.reason);
      w.Key("detail");
      w.String(dl.detail);
      w.EndObject();
      out_ << line_ << "\n";
      return;
    }
    out_ << "  [" << dl.index << "] DEAD LETTER " << dl.reason << ": " << dl.detail << "\n";
  }

  // a="b", c="d" (values escaped as in JSON).
  template <typename It>
  std::string Quoted(It begin, It end) {
    std::string s;
    for (It it = begin; it != end; ++it) {
      const Label l = *it;
      if (!s.empty()) s += ", ";
      s.append(l.name);
      s += '=';
      JsonWriter::Escape(l.value, &s);
    }
    return s.empty() ? "(none)" : s;
  }

  const rules::CompiledRules& rules_;
  const DecodeShowOptions& opt_;
  std::ostream& out_;
  std::unique_ptr<Ingest> ingest_;
  std::string template_, line_;
};

}  // namespace

bool ShowDecoded(const rules::CompiledRules& rules, const std::vector<DecodeSource>& sources,
                 const DecodeShowOptions& opt, std::ostream& out, std::ostream& err) {
  Shower show(rules, opt, out);
  if (!show.Init(err)) return false;
  for (const DecodeSource& src : sources) {
    if (src.topic) {
      std::string body;
      if (src.path == "-") {
        body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        std::string error;
        auto bytes = DumpBytes::Open(src.path, &error);
        if (bytes == nullptr) {
          err << "noisegate: " << error << "\n";
          return false;
        }
        body.assign(bytes->bytes());
      }
      RawMessage m;
      m.topic = *src.topic;
      m.ts = opt.body_ts;
      m.payload = body;
      show.Message(m, src.path);
      continue;
    }
    DumpReader reader(src.path == "-" ? "/dev/stdin" : src.path, std::nullopt);
    std::string error, skipped;
    if (!reader.Open(&error)) {
      err << "noisegate: " << error << "\n";
      return false;
    }
    DumpMessage msg;
    while (reader.Next(&msg, &skipped)) {
      if (!skipped.empty()) {
        err << "noisegate: skipped unreadable line " << skipped << "\n";
        continue;
      }
      RawMessage m{msg.topic,   msg.partition,    msg.offset,        msg.ts,
                   msg.payload, msg.payload_null, msg.envelope_error};
      show.Message(m, src.path + ":" + std::to_string(msg.line));
    }
  }
  return true;
}

}  // namespace noisegate::processor

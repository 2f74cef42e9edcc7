#include "processor/intake/alerts_api.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>
#include <utility>

#include "dedup/engine.h"
#include "dedup/record_labels.h"
#include "processor/intake/query_string.h"
#include "processor/intake/topic_reader.h"
#include "processor/output/json_writer.h"
#include "processor/pipeline/pipeline.h"

namespace noisegate::processor {
namespace {

// An alert as the window last heard of it.
struct Heard {
  Record last;
  int64_t last_ts = 0;                // its message's timestamp: when it was received
  EventTime first_firing = kMaxTime;  // the earliest firing record of it in the window
};

// Collects the alert records of the messages read, by fingerprint.
class Collect : public IngestSink {
 public:
  Collect(const dedup::Engine& engine, std::map<uint64_t, Heard>* out)
      : engine_(engine), out_(out) {}
  int64_t message_ts = 0;

  void OnRecord(Record& r) override {
    if (r.kind != SignalKind::kAlert) return;
    const Fingerprint fp = engine_.AlertFingerprint(r, &key_);
    Heard& h = (*out_)[fp.value];
    if (r.state == AlertState::kFiring) h.first_firing = std::min(h.first_firing, r.time);
    // The newest: received last, and of two received together the later one.
    if (std::tie(message_ts, r.time) >= std::tie(h.last_ts, h.last.time)) {
      h.last_ts = message_ts;
      std::swap(h.last, r);
    }
  }
  void OnDeadLetter(const DeadLetter&, const RawMessage&, int64_t) override {}

 private:
  const dedup::Engine& engine_;
  std::map<uint64_t, Heard>* out_;
  dedup::KeyBuilder key_;
};

class NoSink : public dedup::Sink {
 public:
  void OnDecision(const dedup::DecisionEvent&) override {}
  void OnNotification(const dedup::Notification&) override {}
};

// A boolean parameter as Alertmanager reads it (go-openapi's words for true; anything else is
// false); absent: true.
bool Param(std::string_view query, std::string_view name) {
  std::vector<std::string> v = QueryValues(query, name);
  if (v.empty() || v.back().empty()) return true;  // (`active=` is absent to Alertmanager)
  std::string word = v.back();
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* t :
       {"true", "1", "yes", "ok", "y", "on", "selected", "checked", "t", "enabled"}) {
    if (word == t) return true;
  }
  return false;
}

// Per (notification topic, dedup_key): whether its newest event in the window is a trigger,
// and the members that event lists. (An incident's ticket and its page after an escalation
// are apart: each topic is in order, by key; the two are not.)
using Latest =
    std::map<std::pair<std::string, std::string>, std::pair<bool, std::vector<std::string>>>;

// Takes one page or ticket event into `latest`.
void OpenIncidents(const rd_kafka_message_t& m, simdjson::dom::parser& parser, Latest* latest) {
  if (m.payload == nullptr) return;
  simdjson::dom::element doc;
  if (parser.parse(static_cast<const char*>(m.payload), m.len).get(doc) != simdjson::SUCCESS) {
    return;
  }
  std::string_view key, action;
  if (doc["dedup_key"].get(key) != simdjson::SUCCESS ||
      doc["event_action"].get(action) != simdjson::SUCCESS) {
    return;
  }
  auto& [open, members] = (*latest)[{rd_kafka_topic_name(m.rkt), std::string(key)}];
  open = action == "trigger";
  members.clear();
  simdjson::dom::array list;
  if (doc.at_pointer("/payload/custom_details/members").get(list) != simdjson::SUCCESS) return;
  for (simdjson::dom::element member : list) {
    std::string_view fp;
    if (member["fingerprint"].get(fp) == simdjson::SUCCESS) members.emplace_back(fp);
  }
}

void WriteAlert(const Heard& h, std::string_view fp, const std::vector<std::string>& silenced_by,
                const std::set<std::string>& incidents, JsonWriter& w) {
  const Record& r = h.last;
  w.BeginObject();
  w.Key("labels");
  w.BeginObject();
  for (Label l : r.labels) {
    w.Key(l.name);
    w.String(l.value);
  }
  w.EndObject();
  w.Key("annotations");
  w.BeginObject();
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"summary", &r.summary},
                             {"description", &r.description},
                             {"runbook_url", &r.runbook}}) {
    if (value->empty()) continue;
    w.Key(name);
    w.String(*value);
  }
  w.EndObject();
  w.Key("startsAt");
  w.String(FormatRfc3339(h.first_firing != kMaxTime ? h.first_firing : r.time));
  w.Key("endsAt");
  w.String(r.ends_at != kMinTime ? FormatRfc3339(r.ends_at) : "0001-01-01T00:00:00Z");
  w.Key("updatedAt");
  w.String(FormatRfc3339(EventTime{h.last_ts}));
  w.Key("fingerprint");
  w.String(fp);
  w.Key("receivers");
  w.BeginArray();
  w.BeginObject();
  w.Key("name");
  w.String("noisegate");
  w.EndObject();
  w.EndArray();
  w.Key("status");
  w.BeginObject();
  w.Key("state");
  w.String(silenced_by.empty() ? "active" : "suppressed");
  w.Key("silencedBy");
  w.BeginArray();
  for (const std::string& id : silenced_by) w.String(id);
  w.EndArray();
  w.Key("inhibitedBy");
  w.BeginArray();
  w.EndArray();
  w.Key("mutedBy");
  w.BeginArray();
  w.EndArray();
  w.EndObject();
  w.Key("generatorURL");
  w.String(r.link);
  w.Key("noisegate");
  w.BeginObject();
  w.Key("topic");
  w.String(r.addr.topic);
  w.Key("incidents");
  w.BeginArray();
  for (const std::string& id : incidents) w.String(id);
  w.EndArray();
  w.EndObject();
  w.EndObject();
}

}  // namespace

AlertsApi::Answer AlertsApi::List(std::string_view query,
                                  const std::shared_ptr<const rules::CompiledRules>& rules,
                                  const std::map<std::string, SilencesApi::Stored>& silences,
                                  int64_t now_ms) {
  std::vector<rules::Matcher> filter;
  if (std::string bad = ParseFilter(query, &filter); !bad.empty())
    return ApiAnswer::Error(400, bad);
  const bool show_active = Param(query, "active"), show_silenced = Param(query, "silenced");
  // Every alert goes to one receiver, "noisegate": a `receiver` regex (anchored, as
  // Alertmanager's) that does not match it lists nothing.
  // (The last value counts, and an empty one is none, as Alertmanager binds parameters.)
  if (std::vector<std::string> r = QueryValues(query, "receiver");
      !r.empty() && !r.back().empty()) {
    Result<rules::Matcher> m = rules::Matcher::Make("receiver", rules::MatchOp::kRegex, r.back());
    if (!m) return ApiAnswer::Error(400, "bad receiver " + r.back() + ": " + m.error().detail);
    if (!m->MatchesValue("noisegate")) return ApiAnswer{200, "[]"};
  }
  // (Nothing here is inhibited or unprocessed: those parameters filter nothing out.)

  // An engine of the same rules, for its fingerprints and silence matching; it takes the
  // runtime silences as the loop's engines do, at the current time.
  NoSink no_sink;
  dedup::Engine engine(rules, &no_sink);
  engine.AdvanceWatermark(EventTime{now_ms});
  for (const auto& [id, st] : silences) {
    Record s;
    s.kind = SignalKind::kSilence;
    s.time = EventTime{now_ms};
    s.silence = std::make_shared<SilenceSpec>(st.spec);
    engine.Process(s);
  }

  std::vector<std::string> topics;
  for (const rules::InputRule& in : rules->inputs) {
    if (in.format != "json_log" && in.format != "silences") topics.push_back(in.topic);
  }
  std::string error;
  Ingest ingest(*rules, max_message_bytes_, &error);
  if (!ingest.ok()) return ApiAnswer::Error(500, error);
  std::map<uint64_t, Heard> heard;
  Collect collect(engine, &heard);
  const int64_t since = now_ms - lookback_.count();
  if (!topics.empty() && !ReadTopics(
                             kafka_, topics, since, kApiReadTimeoutMs,
                             [&](const rd_kafka_message_t& m) {
                               RawMessage raw;
                               raw.topic = rd_kafka_topic_name(m.rkt);
                               raw.partition = m.partition;
                               raw.offset = m.offset;
                               rd_kafka_timestamp_type_t tstype;
                               const int64_t ts = rd_kafka_message_timestamp(&m, &tstype);
                               if (ts >= 0) raw.ts = ts;
                               raw.payload_null = m.payload == nullptr;
                               if (m.payload != nullptr) {
                                 raw.payload =
                                     std::string_view(static_cast<const char*>(m.payload), m.len);
                               }
                               collect.message_ts = ts >= 0 ? ts : now_ms;
                               ingest.Message(raw, collect.message_ts, collect, nullptr);
                             },
                             &error, true)) {
    return ApiAnswer::Error(503, error);
  }

  Latest latest;
  simdjson::dom::parser parser;
  if (!ReadTopics(
          kafka_, notification_topics_, since, kApiReadTimeoutMs,
          [&](const rd_kafka_message_t& m) { OpenIncidents(m, parser, &latest); }, &error, true)) {
    return ApiAnswer::Error(503, error);
  }
  std::map<std::string, std::set<std::string>> incidents_of;  // fingerprint -> dedup keys
  for (const auto& [key, entry] : latest) {
    if (!entry.first) continue;
    for (const std::string& fp : entry.second) incidents_of[fp].insert(key.second);
  }

  struct Shown {
    const Heard* heard;
    std::string fp;
    std::vector<std::string> silenced_by;
  };
  std::vector<Shown> shown;
  for (const auto& [fp, h] : heard) {
    const Record& r = h.last;
    if (r.state != AlertState::kFiring || (r.ends_at != kMinTime && r.ends_at.ms <= now_ms)) {
      continue;
    }
    dedup::RecordLabels labels(r, rules->topology);
    bool match = true;
    for (const rules::Matcher& f : filter) match = match && f.Matches(labels);
    if (!match) continue;
    Shown s{&h, ToHex(Fingerprint{fp}), {}};
    for (const rules::Silence* silence : engine.SilencesMatching(labels, EventTime{now_ms})) {
      // A runtime silence by its id, as Alertmanager names it; one of the rules by its name.
      constexpr std::string_view kRuntime = "silence ";
      s.silenced_by.push_back(silence->runtime ? silence->name.substr(kRuntime.size())
                                               : silence->name);
    }
    if (s.silenced_by.empty() ? !show_active : !show_silenced) continue;
    shown.push_back(std::move(s));
  }
  // By alertname, then fingerprint: the order amtool prints in.
  std::sort(shown.begin(), shown.end(), [](const Shown& a, const Shown& b) {
    return std::make_tuple(a.heard->last.labels.Get("alertname"), std::string_view(a.fp)) <
           std::make_tuple(b.heard->last.labels.Get("alertname"), std::string_view(b.fp));
  });
  Answer a;
  JsonWriter w(&a.body);
  w.BeginArray();
  static const std::set<std::string> kNone;
  for (const Shown& s : shown) {
    auto it = incidents_of.find(s.fp);
    WriteAlert(*s.heard, s.fp, s.silenced_by, it == incidents_of.end() ? kNone : it->second, w);
  }
  w.EndArray();
  return a;
}

}  // namespace noisegate::processor

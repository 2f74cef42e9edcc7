#include "processor/intake/silences_api.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <random>
#include <tuple>
#include <utility>

#include "processor/decode/silences.h"
#include "processor/intake/query_string.h"
#include "processor/intake/topic_reader.h"
#include "processor/output/json_writer.h"
#include "rules/matcher.h"
#include "rules/runtime_silence.h"

namespace noisegate::processor {
namespace {

constexpr std::string_view kSilences = "/api/v2/silences";
constexpr std::string_view kSilence = "/api/v2/silence/";
constexpr std::string_view kStatus = "/api/v2/status";
// Alertmanager keeps expired silences this long (--data.retention), and lists them meanwhile.
constexpr int64_t kExpiredListedMs = 120LL * 3'600'000;

enum class State { kActive, kPending, kExpired };

State StateAt(const SilenceSpec& s, int64_t now_ms) {
  if (now_ms >= s.ends.ms) return State::kExpired;
  if (now_ms < s.starts.ms) return State::kPending;
  return State::kActive;
}

const char* StateName(State s) {
  switch (s) {
    case State::kActive:
      return "active";
    case State::kPending:
      return "pending";
    case State::kExpired:
      return "expired";
  }
  return "expired";
}

// Alertmanager's silence model, but for its id, status and updatedAt: the matchers, the
// window and who set it, why.
void WriteSilenceFields(const SilenceSpec& s, JsonWriter& w) {
  w.Key("matchers");
  w.BeginArray();
  for (const SilenceSpec::Matcher& m : s.matchers) {
    w.BeginObject();
    w.Key("name");
    w.String(m.name);
    w.Key("value");
    w.String(m.value);
    w.Key("isRegex");
    w.Bool(m.regex);
    w.Key("isEqual");
    w.Bool(m.equal);
    w.EndObject();
  }
  w.EndArray();
  w.Key("startsAt");
  w.String(FormatRfc3339(s.starts));
  w.Key("endsAt");
  w.String(FormatRfc3339(s.ends));
  w.Key("createdBy");
  w.String(s.created_by);
  w.Key("comment");
  w.String(s.comment);
}

// Alertmanager's gettable silence.
void WriteGettable(const SilencesApi::Stored& st, int64_t now_ms, JsonWriter& w) {
  const SilenceSpec& s = st.spec;
  w.BeginObject();
  w.Key("id");
  w.String(s.id);
  w.Key("status");
  w.BeginObject();
  w.Key("state");
  w.String(StateName(StateAt(s, now_ms)));
  w.EndObject();
  w.Key("updatedAt");
  w.String(FormatRfc3339(EventTime{st.updated_ms}));
  WriteSilenceFields(s, w);
  w.EndObject();
}

// A random (version 4) UUID, as Alertmanager names silences.
std::string NewSilenceId() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          (static_cast<uint64_t>(std::random_device{}()) << 32)};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

// Alertmanager's filter of silences: the filter matchers, applied to the silence's matchers
// taken as labels (name -> value).
bool FilterMatches(const std::vector<rules::Matcher>& filter, const SilenceSpec& s) {
  for (const rules::Matcher& f : filter) {
    std::string_view value;
    for (const SilenceSpec::Matcher& m : s.matchers) {
      if (m.name == f.name()) value = m.value;
    }
    if (!f.MatchesValue(value)) return false;
  }
  return true;
}

}  // namespace

std::string SilenceMessage(const SilenceSpec& s, int64_t updated_ms) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("id");
  w.String(s.id);
  WriteSilenceFields(s, w);
  w.Key("updatedAt");
  w.String(FormatRfc3339(EventTime{updated_ms}));
  w.EndObject();
  return out;
}

bool SilencesApi::Serves(std::string_view path) {
  return path == kSilences || path == kStatus ||
         (path.size() > kSilence.size() && path.substr(0, kSilence.size()) == kSilence);
}

const char* SilencesApi::Allowed(std::string_view path) {
  if (path == kStatus) return "GET";
  return path == kSilences ? "GET, POST" : "GET, DELETE";
}

SilencesApi::Answer SilencesApi::Handle(std::string_view method, std::string_view path,
                                        std::string_view query, std::string_view body,
                                        const std::string& topic, int64_t now_ms) {
  if (path == kStatus) {
    if (method != "GET") return ApiAnswer::Error(405, "use GET");
    // What amtool reads of an Alertmanager's status: no cluster, noisegate's version.
    Answer a;
    JsonWriter w(&a.body);
    w.BeginObject();
    w.Key("cluster");
    w.BeginObject();
    w.Key("status");
    w.String("disabled");
    w.Key("peers");
    w.BeginArray();
    w.EndArray();
    w.EndObject();
    w.Key("versionInfo");
    w.BeginObject();
    for (const char* k : {"branch", "buildDate", "buildUser", "goVersion", "revision"}) {
      w.Key(k);
      w.String("");
    }
    w.Key("version");
    w.String(std::string("noisegate ") + NG_VERSION);
    w.EndObject();
    w.Key("config");
    w.BeginObject();
    w.Key("original");
    w.String("");
    w.EndObject();
    w.Key("uptime");
    w.String(FormatRfc3339(EventTime{now_ms}));
    w.EndObject();
    return a;
  }
  if (topic.empty()) {
    return ApiAnswer::Error(404,
                            "no input of format silences in the rules: add one, e.g. "
                            "{topic: noisegate.silences, format: silences}");
  }
  if (path == kSilences) {
    if (method == "GET") return List(query, topic, now_ms);
    if (method == "POST") return Post(body, topic, now_ms);
    return ApiAnswer::Error(405, "use GET or POST");
  }
  const std::string id(path.substr(kSilence.size()));  // (the path is already URL-decoded)
  if (method == "GET") return GetOne(id, topic, now_ms);
  if (method == "DELETE") return Expire(id, topic, now_ms);
  return ApiAnswer::Error(405, "use GET or DELETE");
}

SilencesApi::Answer SilencesApi::List(std::string_view query, const std::string& topic,
                                      int64_t now_ms) {
  std::vector<rules::Matcher> filter;
  if (std::string bad = ParseFilter(query, &filter); !bad.empty())
    return ApiAnswer::Error(400, bad);
  std::map<std::string, Stored> all;
  std::string error;
  if (!ReadAll(topic, &all, &error)) return ApiAnswer::Error(503, error);
  std::vector<const Stored*> shown;
  for (const auto& [id, st] : all) {
    if (st.spec.ends.ms <= now_ms - kExpiredListedMs) continue;
    if (FilterMatches(filter, st.spec)) shown.push_back(&st);
  }
  // Alertmanager's order: active by end, then pending by start, then expired, latest end first.
  auto key = [now_ms](const Stored* s) {
    const State state = StateAt(s->spec, now_ms);
    const int64_t t = state == State::kActive    ? s->spec.ends.ms
                      : state == State::kPending ? s->spec.starts.ms
                                                 : -s->spec.ends.ms;
    return std::make_tuple(static_cast<int>(state), t, std::string_view(s->spec.id));
  };
  std::sort(shown.begin(), shown.end(),
            [&](const Stored* a, const Stored* b) { return key(a) < key(b); });
  Answer a;
  JsonWriter w(&a.body);
  w.BeginArray();
  for (const Stored* st : shown) WriteGettable(*st, now_ms, w);
  w.EndArray();
  return a;
}

const SilencesApi::Stored* SilencesApi::Lookup(const std::string& id, const std::string& topic,
                                               std::map<std::string, Stored>* all, Answer* failed) {
  std::string error;
  if (!ReadAll(topic, all, &error)) {
    *failed = ApiAnswer::Error(503, error);
    return nullptr;
  }
  auto it = all->find(id);
  if (it == all->end()) {
    *failed = ApiAnswer::Error(404, "silence " + id + " not found");
    return nullptr;
  }
  return &it->second;
}

SilencesApi::Answer SilencesApi::GetOne(const std::string& id, const std::string& topic,
                                        int64_t now_ms) {
  std::map<std::string, Stored> all;
  Answer a;
  const Stored* st = Lookup(id, topic, &all, &a);
  if (st == nullptr) return a;
  JsonWriter w(&a.body);
  WriteGettable(*st, now_ms, w);
  return a;
}

SilencesApi::Answer SilencesApi::Post(std::string_view body, const std::string& topic,
                                      int64_t now_ms) {
  std::unique_ptr<Decoder> decoder = MakePostableSilenceDecoder();
  RecordBatch out;
  std::vector<DeadLetter> dead;
  decoder->Decode(body, MessageMeta{}, out, dead);
  if (out.size() != 1) {
    std::string why = dead.empty() ? "not a silence" : dead[0].reason + ": " + dead[0].detail;
    return ApiAnswer::Error(400, why);
  }
  SilenceSpec s = *out[0].silence;
  if (s.ends.ms <= now_ms) return ApiAnswer::Error(400, "endsAt is in the past");
  std::map<std::string, Stored> all;
  std::string error;
  if (!ReadAll(topic, &all, &error)) return ApiAnswer::Error(503, error);
  if (!s.id.empty()) {
    auto it = all.find(s.id);
    if (it == all.end()) return ApiAnswer::Error(404, "silence " + s.id + " not found");
    const SilenceSpec& old = it->second.spec;
    if (!CanUpdate(old, s, now_ms)) {
      // As Alertmanager does it: the old one ends now and the update is a new silence.
      if (StateAt(old, now_ms) != State::kExpired) {
        Answer expired = Write(Ended(old, now_ms), topic, now_ms, "");
        if (expired.status != 200) return expired;
      }
      s.id.clear();
    }
  }
  if (s.id.empty()) {
    s.id = NewSilenceId();
    // A new silence starts now at the earliest (Alertmanager moves a past start to now).
    if (s.starts.ms < now_ms) s.starts = EventTime{now_ms};
  }
  std::string answer;
  JsonWriter w(&answer);
  w.BeginObject();
  w.Key("silenceID");
  w.String(s.id);
  w.EndObject();
  Answer a = Write(s, topic, now_ms, std::move(answer));
  if (a.status == 200) Forget(all, topic, now_ms);
  return a;
}

bool SilencesApi::CanUpdate(const SilenceSpec& old, const SilenceSpec& update, int64_t now_ms) {
  auto same = [](const SilenceSpec::Matcher& a, const SilenceSpec::Matcher& b) {
    return a.name == b.name && a.value == b.value && a.regex == b.regex && a.equal == b.equal;
  };
  if (!std::equal(old.matchers.begin(), old.matchers.end(), update.matchers.begin(),
                  update.matchers.end(), same)) {
    return false;
  }
  switch (StateAt(old, now_ms)) {
    case State::kActive:
      return update.starts == old.starts && update.ends.ms >= now_ms;
    case State::kPending:
      return update.starts.ms >= now_ms;
    case State::kExpired:
      return false;
  }
  return false;
}

SilenceSpec SilencesApi::Ended(const SilenceSpec& spec, int64_t now_ms) {
  SilenceSpec s = spec;
  if (StateAt(s, now_ms) == State::kPending) s.starts = EventTime{now_ms};  // it never starts
  s.ends = EventTime{std::min(s.ends.ms, now_ms)};
  return s;
}

void SilencesApi::Forget(const std::map<std::string, Stored>& all, const std::string& topic,
                         int64_t now_ms) {
  // Ids the list no longer shows and no engine holds: a tombstone lets compaction drop them,
  // so that the topic holds what is listed, not every silence ever made. A few per write.
  int budget = 16;
  for (const auto& [id, st] : all) {
    if (budget == 0) break;
    if (st.spec.ends.ms > now_ms - kExpiredListedMs) continue;
    std::string detail;
    if (producer_.Publish(topic, std::string_view{}, now_ms, &detail, id) !=
        IntakeProducer::Outcome::kStored) {
      return;  // (the next write tries again)
    }
    --budget;
  }
}

SilencesApi::Answer SilencesApi::Expire(const std::string& id, const std::string& topic,
                                        int64_t now_ms) {
  std::map<std::string, Stored> all;
  Answer failed;
  const Stored* st = Lookup(id, topic, &all, &failed);
  if (st == nullptr) return failed;
  if (StateAt(st->spec, now_ms) == State::kExpired) {
    return ApiAnswer::Error(500, "silence " + id + " already expired");
  }
  return Write(Ended(st->spec, now_ms), topic, now_ms, "");
}

SilencesApi::Answer SilencesApi::Write(const SilenceSpec& spec, const std::string& topic,
                                       int64_t now_ms, std::string answer_body) {
  const std::string message = SilenceMessage(spec, now_ms);
  std::string detail;
  switch (producer_.Publish(topic, message, now_ms, &detail, spec.id)) {
    case IntakeProducer::Outcome::kStored: {
      Answer a;
      a.body = std::move(answer_body);
      return a;
    }
    case IntakeProducer::Outcome::kRejected:
      return ApiAnswer::Error(413, "the broker refused the silence: " + detail);
    case IntakeProducer::Outcome::kUnavailable:
      break;
  }
  return ApiAnswer::Error(503, "not stored, try again: " + detail);
}

bool SilencesApi::ReadAll(const std::string& topic, std::map<std::string, Stored>* out,
                          std::string* error) {
  std::unique_ptr<Decoder> decoder = MakeSilencesDecoder({});
  RecordBatch records;
  std::vector<DeadLetter> dead;
  return ReadTopics(
      kafka_, {topic}, std::nullopt, kApiReadTimeoutMs,
      [&](const rd_kafka_message_t& m) {
        if (m.payload == nullptr) {  // a tombstone: the id is forgotten
          if (m.key != nullptr) {
            out->erase(std::string(static_cast<const char*>(m.key), m.key_len));
          }
          return;
        }
        rd_kafka_timestamp_type_t tstype;
        MessageMeta meta;
        meta.topic = topic;
        meta.partition = m.partition;
        meta.offset = m.offset;
        const int64_t ts = rd_kafka_message_timestamp(&m, &tstype);
        if (ts >= 0) meta.kafka_ts = ts;
        records.Reset();
        dead.clear();
        decoder->Decode(std::string_view(static_cast<const char*>(m.payload), m.len), meta, records,
                        dead);
        if (records.size() != 1) return;  // not a silence: the loop dead-letters it
        const Record& r = records[0];
        Stored& st = (*out)[r.silence->id];
        st.spec = *r.silence;
        st.updated_ms = r.time.ms;
      },
      error);
}

}  // namespace noisegate::processor

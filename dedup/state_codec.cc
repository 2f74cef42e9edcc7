// Encoders of the engine's state elements; see state_codec.h.
#include "dedup/state_codec.h"

#include <span>

namespace noisegate::dedup {
namespace state_codec {
namespace {

void PutLabels(const LabelSet& labels, Writer& w) {
  w.Var(labels.size());
  for (const Label& l : labels) {
    w.Str(l.name);
    w.Str(l.value);
  }
}

bool GetLabels(Reader& rd, LabelSet* labels) {
  labels->Clear();
  uint64_t n = rd.Count(2);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    std::string_view name = rd.Str();
    std::string_view value = rd.Str();
    labels->Add(name, value);
  }
  return rd.ok();
}

// The inhibit targets of a member are written with it; `targets` are the incident's entries for
// this member.
void PutMember(const Member& m, std::span<const InhibitTarget> targets, Writer& w) {
  w.U64(m.fingerprint.value);
  w.U8(static_cast<uint8_t>(m.kind));
  const bool refired = m.firing_since != m.first_seen;
  const bool links = m.detail && (!m.detail->runbook.empty() || !m.detail->image.empty());
  const bool routing = m.detail && !m.detail->routing.empty();
  w.U8(static_cast<uint8_t>((m.firing ? 1 : 0) | (m.inhibited ? 2 : 0) | (m.pages ? 4 : 0) |
                            (m.clauses != 0 ? 8 : 0) | (refired ? 16 : 0) | (links ? 32 : 0) |
                            (routing ? 64 : 0) | (m.blames ? 128 : 0)));
  if (m.clauses != 0) w.Var(m.clauses);  // (incident entries from 2, states from 5)
  w.U8(static_cast<uint8_t>(m.severity));
  w.SVar(m.component);
  w.SVar(m.culprit);
  w.Var(m.count);
  w.Time(m.first_seen);
  w.Time(m.last_seen);
  if (refired) w.Time(m.firing_since);  // (incident entries from 4, states from 7)
  w.Bool(m.detail != nullptr);
  if (m.detail) {
    w.Str(m.detail->summary);
    w.Str(m.detail->name);
    w.Str(m.detail->service);
    w.Str(m.detail->link);
    if (links) {  // (incident entries from 5, states from 10; so are the routing labels)
      w.Str(m.detail->runbook);
      w.Str(m.detail->image);
    }
    if (routing) {
      w.Var(m.detail->routing.size());
      for (const auto& [name, value] : m.detail->routing) {
        w.Str(name);
        w.Str(value);
      }
    }
  }
  w.Bool(!targets.empty());
  if (!targets.empty()) {
    w.Var(targets.size());
    for (const InhibitTarget& t : targets) {
      w.Var(t.rule);
      w.Bool(t.two_sided);
      w.U64(t.equal_hash);
    }
  }
}

// Reads member number `index` of an incident, appending its inhibit targets to `targets`.
Member GetMember(Reader& rd, uint32_t index, std::vector<InhibitTarget>& targets) {
  Member m;
  m.fingerprint.value = rd.U64();
  m.kind = static_cast<SignalKind>(rd.U8() & 1);
  uint8_t flags = rd.U8();
  m.firing = flags & 1;
  m.inhibited = flags & 2;
  m.pages = flags & 4;
  m.blames = flags & 128;  // (an older build ignores it)
  if (flags & 8) m.clauses = static_cast<uint32_t>(rd.Var());
  m.severity = static_cast<Severity>(rd.U8() & 3);
  m.component = static_cast<int>(rd.SVar());
  m.culprit = static_cast<int>(rd.SVar());
  m.count = static_cast<uint32_t>(rd.Var());
  m.first_seen = rd.Time();
  m.last_seen = rd.Time();
  m.firing_since = flags & 16 ? rd.Time() : m.first_seen;
  if (rd.Bool()) {
    m.detail = std::make_unique<MemberDetail>();
    m.detail->summary = rd.Str();
    m.detail->name = rd.Str();
    m.detail->service = rd.Str();
    m.detail->link = rd.Str();
    if (flags & 32) {
      m.detail->runbook = rd.Str();
      m.detail->image = rd.Str();
    }
    if (flags & 64) {
      uint64_t n = rd.Count(2);
      for (uint64_t i = 0; i < n && rd.ok(); ++i) {
        std::string name(rd.Str());
        m.detail->routing.emplace_back(std::move(name), std::string(rd.Str()));
      }
    }
  }
  if (rd.Bool()) {
    uint64_t n = rd.Count(10);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      InhibitTarget& t = targets.emplace_back();
      t.member = index;
      t.rule = static_cast<uint32_t>(rd.Var() & 0x7fffffff);
      t.two_sided = rd.Bool();
      t.equal_hash = rd.U64();
    }
  }
  return m;
}

void PutStrings(const std::vector<std::string>& v, Writer& w) {
  w.Var(v.size());
  for (const std::string& s : v) w.Str(s);
}

void GetStrings(Reader& rd, std::vector<std::string>* v) {
  uint64_t n = rd.Count(1);
  v->clear();
  for (uint64_t i = 0; i < n && rd.ok(); ++i) v->emplace_back(rd.Str());
}

}  // namespace

void PutIncident(const Incident& inc, Writer& w) {
  w.Str(inc.id);
  w.SVar(inc.rule);
  w.Str(inc.rule_name);
  w.Var(inc.generation);
  w.U8(static_cast<uint8_t>(inc.state));
  w.Bool(inc.sealed);
  w.Var(inc.group.size());
  for (const auto& [k, v] : inc.group) {
    w.Str(k);
    w.Str(v);
  }
  w.U64(inc.group_hash);
  w.Var(inc.impacted.size());
  for (int n : inc.impacted) w.SVar(n);
  w.Var(inc.members.size());
  size_t t = 0;
  for (size_t i = 0; i < inc.members.size(); ++i) {
    const size_t first = t;
    while (t < inc.targets.size() && inc.targets[t].member == i) ++t;
    PutMember(inc.members[i], std::span(inc.targets).subspan(first, t - first), w);
  }
  w.Var(inc.alert_records);
  w.Var(inc.log_records);
  PutStrings(inc.evidence, w);
  PutStrings(inc.traces, w);
  w.Time(inc.opened);
  w.Time(inc.first_seen);
  w.Time(inc.last_seen);
  w.Time(inc.last_activity);
  w.U8(static_cast<uint8_t>(inc.severity));
  w.SVar(inc.firing_members);
  w.SVar(inc.active_members);
  w.U8(static_cast<uint8_t>(inc.route));
  const bool joins = !inc.places.empty() || !inc.joined_groups.empty();
  w.U8(static_cast<uint8_t>((inc.notified ? 1 : 0) | (inc.paged ? 2 : 0) | (inc.ticketed ? 4 : 0) |
                            (inc.escalation_pending ? 8 : 0) | (joins ? 16 : 0) |
                            (inc.routing_key.empty() ? 0 : 32)));
  // Places, then the groups that joined (incident entries from 3, states from 6). Groups join
  // through co-location, which notes places, and also through other ties and merges, so the
  // section is there when either is (an older build reads a section of 0 places the same).
  if (joins) {
    w.Var(inc.places.size());
    for (const Place& p : inc.places) {
      w.Str(p.key);
      w.Time(p.first);
      w.Var(p.member);
      w.Bool(p.tied);
    }
    w.Var(inc.joined_groups.size());
    for (uint64_t g : inc.joined_groups) w.U64(g);
  }
  if (!inc.routing_key.empty()) w.Str(inc.routing_key);  // (incident entries from 5, states 10)
  w.U8(static_cast<uint8_t>(inc.notified_route));
  w.U8(static_cast<uint8_t>(inc.notified_severity));
  w.Var(inc.notified_impacted);
  w.Time(inc.last_notified);
  w.Time(inc.scheduled);
}

void GetIncident(Reader& rd, Incident* inc) {
  inc->id = rd.Str();
  inc->rule = static_cast<int>(rd.SVar());
  inc->rule_name = rd.Str();
  inc->generation = static_cast<uint32_t>(rd.Var());
  uint8_t state = rd.U8();
  if (state > static_cast<uint8_t>(IncidentState::kClosed)) rd.Fail();
  inc->state = static_cast<IncidentState>(state);
  inc->sealed = rd.Bool();
  uint64_t n = rd.Count(2);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    std::string k(rd.Str());
    inc->group.emplace_back(std::move(k), std::string(rd.Str()));
  }
  inc->group_hash = rd.U64();
  n = rd.Count(1);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) inc->impacted.push_back(static_cast<int>(rd.SVar()));
  n = rd.Count(20);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    inc->members.push_back(GetMember(rd, static_cast<uint32_t>(i), inc->targets));
  }
  inc->alert_records = rd.Var();
  inc->log_records = rd.Var();
  GetStrings(rd, &inc->evidence);
  GetStrings(rd, &inc->traces);
  inc->opened = rd.Time();
  inc->first_seen = rd.Time();
  inc->last_seen = rd.Time();
  inc->last_activity = rd.Time();
  inc->severity = static_cast<Severity>(rd.U8() & 3);
  inc->firing_members = static_cast<int>(rd.SVar());
  inc->active_members = static_cast<int>(rd.SVar());
  auto action = [&rd]() {
    uint8_t a = rd.U8();
    if (a > static_cast<uint8_t>(rules::Action::kDrop)) rd.Fail();
    return static_cast<rules::Action>(a);
  };
  inc->route = action();
  uint8_t flags = rd.U8();
  inc->notified = flags & 1;
  inc->paged = flags & 2;
  inc->ticketed = flags & 4;
  inc->escalation_pending = flags & 8;
  if (flags & 16) {
    uint64_t places = rd.Count(4);
    for (uint64_t i = 0; i < places && rd.ok(); ++i) {
      Place& p = inc->places.emplace_back();
      p.key = rd.Str();
      p.first = rd.Time();
      p.member = static_cast<uint32_t>(rd.Var());
      p.tied = rd.Bool();
      if (p.member >= inc->members.size()) rd.Fail();
    }
    uint64_t groups = rd.Count(8);
    for (uint64_t i = 0; i < groups && rd.ok(); ++i) inc->joined_groups.push_back(rd.U64());
  }
  if (flags & 32) {
    inc->routing_key = rd.Str();
    if (inc->routing_key.empty()) rd.Fail();
  }
  inc->notified_route = action();
  inc->notified_severity = static_cast<Severity>(rd.U8() & 3);
  inc->notified_impacted = rd.Var();
  inc->last_notified = rd.Time();
  inc->scheduled = rd.Time();
}

void PutFpFields(const Engine::FpState& st, Writer& w) {
  w.U64(st.fp);
  w.Var(st.incident);
  w.Var(st.incident_generation);
  w.SVar(st.member);
  w.Var(st.log_rate);
  w.Var(st.generation);
  w.Time(st.last_seen);
  w.Time(st.last_change);
  w.Time(st.timer_at);
  w.U8(static_cast<uint8_t>(st.kind));
  w.U8(static_cast<uint8_t>((st.firing ? 1 : 0) | (st.flapping ? 2 : 0)));
  w.U8(st.nchanges);
}

void GetFpFields(Reader& rd, Engine::FpState* st) {
  st->fp = rd.U64();
  st->incident = static_cast<uint32_t>(rd.Var());
  st->incident_generation = static_cast<uint32_t>(rd.Var());
  st->member = static_cast<int32_t>(rd.SVar());
  st->log_rate = static_cast<uint32_t>(rd.Var());
  st->generation = static_cast<uint32_t>(rd.Var());
  st->last_seen = rd.Time();
  st->last_change = rd.Time();
  st->timer_at = rd.Time();
  st->kind = static_cast<SignalKind>(rd.U8() & 1);
  uint8_t flags = rd.U8();
  st->firing = flags & 1;
  st->flapping = flags & 2;
  st->nchanges = rd.U8();
}

void PutFlapHistory(const Engine::FlapHistory& h, Writer& w) {
  for (int64_t c : h.changes) w.SVar(c);
  w.U8(h.head);
  w.U8(h.count);
}

void GetFlapHistory(Reader& rd, Engine::FlapHistory* h) {
  for (int64_t& c : h->changes) c = rd.SVar();
  h->head = static_cast<uint8_t>(rd.U8() % kMaxFlapChanges);
  h->count = std::min<uint8_t>(rd.U8(), kMaxFlapChanges);
}

void PutLogRate(const Engine::LogRate& lr, Writer& w) {
  w.SVar(lr.bucket);
  for (uint32_t c : lr.counts) w.Var(c);
  w.F64(lr.baseline);
  w.F64(lr.weight);
  w.Time(lr.last_above);
}

void GetLogRate(Reader& rd, Engine::LogRate* lr, bool with_surge) {
  lr->bucket = rd.SVar();
  for (uint32_t& c : lr->counts) c = static_cast<uint32_t>(rd.Var());
  lr->baseline = rd.F64();
  if (with_surge) {
    lr->weight = rd.F64();
    lr->last_above = rd.Time();
    if (!(lr->weight >= 0 && lr->weight <= 1)) rd.Fail();
  } else {
    lr->weight = 1;
  }
}

}  // namespace state_codec

namespace {
constexpr uint8_t kHasMergeTime = 0x80, kHasSourceFingerprint = 0x40, kHasLinks = 0x20;
}  // namespace

void EncodeSilence(const SilenceSpec& s, Writer& w) {
  w.Str(s.id);
  w.Var(s.matchers.size());
  for (const SilenceSpec::Matcher& m : s.matchers) {
    w.Str(m.name);
    w.Str(m.value);
    w.U8(static_cast<uint8_t>((m.regex ? 1 : 0) | (m.equal ? 2 : 0)));
  }
  w.Time(s.starts);
  w.Time(s.ends);
  w.Str(s.created_by);
  w.Str(s.comment);
}

std::shared_ptr<const SilenceSpec> DecodeSilence(Reader& rd) {
  auto s = std::make_shared<SilenceSpec>();
  s->id = rd.Str();
  uint64_t n = rd.Count(3);
  s->matchers.resize(n);
  for (SilenceSpec::Matcher& m : s->matchers) {
    m.name = rd.Str();
    m.value = rd.Str();
    uint8_t flags = rd.U8();
    if (flags > 3) rd.Fail();
    m.regex = (flags & 1) != 0;
    m.equal = (flags & 2) != 0;
  }
  s->starts = rd.Time();
  s->ends = rd.Time();
  s->created_by = rd.Str();
  s->comment = rd.Str();
  if (s->id.empty()) rd.Fail();
  return s;
}

void EncodeRecord(const Record& r, Writer& w) {
  w.Str(r.addr.topic);
  w.SVar(r.addr.partition);
  w.SVar(r.addr.offset);
  w.SVar(r.addr.index);
  w.Time(r.time);
  // Flags in the kind's top bits: a merge time follows the record (set only on records late
  // within their own channel), then the sender's fingerprint, then the runbook and image
  // links. Older readers refuse each.
  const bool merge_time = r.merge_time > r.time;
  const bool source_fingerprint = !r.source_fingerprint.empty();
  const bool links = !r.runbook.empty() || !r.image.empty();
  w.U8(static_cast<uint8_t>(static_cast<uint8_t>(r.kind) | (merge_time ? kHasMergeTime : 0) |
                            (source_fingerprint ? kHasSourceFingerprint : 0) |
                            (links ? kHasLinks : 0)));
  w.U8(static_cast<uint8_t>(r.state));
  w.SVar(r.input);
  state_codec::PutLabels(r.labels, w);
  w.Str(r.summary);
  w.Str(r.description);
  w.Str(r.link);
  w.Str(r.trace_id);
  w.Time(r.ends_at);
  if (merge_time) w.Time(r.merge_time);
  if (source_fingerprint) w.Str(r.source_fingerprint);
  if (links) {
    w.Str(r.runbook);
    w.Str(r.image);
  }
  // A silence carries its model (older readers refuse kind 2).
  if (r.kind == SignalKind::kSilence) EncodeSilence(*r.silence, w);
}

bool DecodeRecord(Reader& rd, Record* r) {
  r->addr.topic = rd.Str();
  r->addr.partition = static_cast<int32_t>(rd.SVar());
  r->addr.offset = rd.SVar();
  r->addr.index = static_cast<int32_t>(rd.SVar());
  r->time = rd.Time();
  uint8_t kind = rd.U8();
  const bool merge_time = (kind & kHasMergeTime) != 0;
  const bool source_fingerprint = (kind & kHasSourceFingerprint) != 0;
  const bool links = (kind & kHasLinks) != 0;
  kind &= static_cast<uint8_t>(~(kHasMergeTime | kHasSourceFingerprint | kHasLinks));
  uint8_t state = rd.U8();
  if (kind > 2 || state > 1) rd.Fail();
  r->kind = kind > 2 ? SignalKind::kAlert : static_cast<SignalKind>(kind);
  r->state = static_cast<AlertState>(state & 1);
  r->input = static_cast<int32_t>(rd.SVar());
  state_codec::GetLabels(rd, &r->labels);
  r->summary = rd.Str();
  r->description = rd.Str();
  r->link = rd.Str();
  r->trace_id = rd.Str();
  r->ends_at = rd.Time();
  r->merge_time = merge_time ? rd.Time() : kMinTime;
  if (merge_time && !(r->merge_time > r->time)) rd.Fail();
  if (source_fingerprint) {
    r->source_fingerprint = rd.Str();
    if (r->source_fingerprint.empty()) rd.Fail();
  } else {
    r->source_fingerprint.clear();
  }
  if (links) {
    r->runbook = rd.Str();
    r->image = rd.Str();
    if (r->runbook.empty() && r->image.empty()) rd.Fail();
  } else {
    r->runbook.clear();
    r->image.clear();
  }
  if (r->kind == SignalKind::kSilence) {
    r->silence = DecodeSilence(rd);
  } else {
    r->silence.reset();
  }
  return rd.ok();
}

}  // namespace noisegate::dedup

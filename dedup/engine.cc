#include "dedup/engine.h"

#include <algorithm>
#include <cmath>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dedup/check.h"
#include "dedup/engine_state.h"
#include "dedup/log_template.h"
#include "dedup/page_policy.h"
#include "dedup/record_labels.h"

namespace noisegate::dedup {

std::string_view DecisionName(Decision d) {
  static constexpr std::string_view kNames[] = {
      "new",      "grouped",  "deduplicated",    "resolved", "inhibited",
      "silenced", "flapping", "below_threshold", "dropped",  "dead_letter"};
  return kNames[static_cast<int>(d)];
}

std::string_view SeverityName(Severity s) {
  static constexpr std::string_view kNames[] = {"info", "warning", "error", "critical"};
  return kNames[static_cast<int>(s)];
}

Severity ParseSeverity(std::string_view v) {
  auto is = [&](std::initializer_list<std::string_view> names) {
    for (std::string_view n : names) {
      if (v.size() == n.size() && std::equal(v.begin(), v.end(), n.begin(), [](char a, char b) {
            return (a >= 'A' && a <= 'Z' ? a + 32 : a) == b;
          })) {
        return true;
      }
    }
    return false;
  };
  if (is({"critical", "crit", "page", "p1", "emergency", "emerg", "alert", "fatal", "high",
          "disaster"})) {
    return Severity::kCritical;
  }
  if (is({"error", "err", "major", "p2", "severe"})) return Severity::kError;
  if (is({"warning", "warn", "minor", "p3", "medium", "average"})) return Severity::kWarning;
  return Severity::kInfo;
}

namespace {

// How recent a new version must be to count as the change behind a signal.
constexpr Millis kDeployWindow{30 * 60 * 1000};

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool Overlaps(const std::vector<int>& a, const std::vector<int>& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) return true;
    if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

}  // namespace

Engine::Engine(std::shared_ptr<const rules::CompiledRules> rules, Sink* sink)
    : rules_(std::move(rules)), sink_(sink) {
  NG_CHECK(rules_ != nullptr && sink_ != nullptr);
  alert_fp_labels_ = SortedUnique(rules_->dedup.fingerprint);
  log_fp_labels_ = SortedUnique(rules_->logs.fingerprint);
  for (const rules::InputRule& in : rules_->inputs) {
    std::optional<std::vector<std::string>> fp = in.fingerprint;
    // Sources whose labels change over an alert's life (severity, state) have their own ids.
    if (!fp && in.format == "datadog") fp = std::vector<std::string>{"alert_id", "host"};
    if (!fp && in.format == "newrelic") fp = std::vector<std::string>{"issue_id"};
    input_fp_override_.push_back(fp.has_value());
    input_fp_labels_.push_back(fp ? SortedUnique(*fp) : std::vector<std::string>{});
  }
  for (const rules::CorrelateRule& c : rules_->correlate) {
    correlate_seed_.push_back(XXH3_64bits(c.name.data(), c.name.size()));
    std::vector<std::vector<int>>& callees = callees_.emplace_back();
    if (c.caller_hops <= 0) continue;
    for (size_t v = 0; v < rules_->topology.size(); ++v) {
      callees.push_back(rules_->topology.Callees(static_cast<int>(v), c.caller_hops));
    }
  }
  for (const rules::InhibitRule& in : rules_->inhibit) inhibit_seed_.push_back(InhibitIdentity(in));
}

uint64_t Engine::InhibitIdentity(const rules::InhibitRule& rule) {
  // Its content, not its name: unnamed rules are named by position ("inhibit[2]").
  std::string id = rule.source.ToString();
  id.push_back('\x1f');
  id += rule.target.ToString();
  for (const std::string& e : rule.equal) {
    id.push_back('\x1f');
    id += e;
  }
  return XXH3_64bits(id.data(), id.size());
}

Engine::~Engine() = default;

EngineStats Engine::stats() const {
  EngineStats s = stats_;
  s.open_incidents = open_order_.size();
  return s;
}

StateSizes Engine::state_sizes() const {
  StateSizes s;
  s.fingerprints = fp_index_.live();
  s.log_signals = log_rates_.size() - free_log_rates_.size();
  s.flap_histories = flap_history_.size();
  s.incidents = open_order_.size();
  s.groups = groups_.size();
  s.inhibit_sources = inhibit_sources_.size();
  s.held = held_.size();
  s.versions = versions_.size();
  s.traces = traces_.size();
  s.timers = timers_.size();
  return s;
}

std::vector<const Incident*> Engine::OpenIncidents() const {
  std::vector<const Incident*> out;
  for (uint32_t slot : open_order_) out.push_back(&incidents_[slot]);
  return out;
}

// ---------------------------------------------------------------------------------------
// Records

void Engine::Process(const Record& r) {
  DecisionEvent ev;
  ev.record = &r;
  ev.late = watermark_ != kMinTime && r.time < watermark_ - rules_->allowed_lateness;
  if (ev.late) ++stats_.late;
  ++stats_.records;
  if (first_record_ == kMinTime) first_record_ = r.time;
  AdvanceWatermark(r.time);

  RecordLabels labels(r, rules_->topology);
  if (r.kind == SignalKind::kAlert) {
    ProcessAlert(r, labels, ev);
  } else {
    ProcessLog(r, labels, ev);
  }
  ev.name = r.kind == SignalKind::kAlert ? r.labels.Get("alertname") : labels.log_template;
  sink_->OnDecision(ev);
}

uint32_t Engine::LookupOrInsert(Fingerprint fp, uint64_t verify, SignalKind kind) {
  auto [slot, inserted] = fp_index_.FindOrInsert(fp.value, verify);
  if (inserted) {
    if (slot == fps_.size()) fps_.emplace_back();
    FpState& st = Fp(slot);
    NG_CHECK(slot + 1 == fps_.size() || st.free());
    // A reused slot keeps counting generations, so the timers of its last owner stay stale.
    const uint32_t generation = st.generation;
    st = FpState{};
    st.generation = generation;
    st.fp = fp.value;
    st.kind = kind;
  }
  return slot;
}

bool Engine::RecordChange(uint32_t slot, EventTime t) {
  FpState& st = Fp(slot);
  const rules::FlappingRule& fl = rules_->dedup.flapping;
  EventTime previous = st.last_change;
  st.last_change = t;
  if (fl.changes <= 0) return false;
  uint8_t seen = st.nchanges;
  st.nchanges = static_cast<uint8_t>(std::min<int>(seen + 1, 255));
  if (seen == 0) return st.flapping;  // a first change needs no history
  auto [it, created] = flap_history_.try_emplace(slot);
  FlapHistory& h = it->second;
  if (created) h.Push(previous.ms);
  h.Push(t.ms);
  int recent = 0;
  for (int i = 0; i < h.count; ++i) {
    if (h.changes[i] >= t.ms - fl.within.count()) ++recent;
  }
  if (recent >= std::min(fl.changes, kMaxFlapChanges)) st.flapping = true;
  return st.flapping;
}

uint32_t Engine::IncidentSlotOf(const FpState& st) const {
  if (st.incident == kNone) return kNone;
  const Incident& inc = incidents_[st.incident];
  // An incident whose correlate rule a rules change removed takes nothing more: it closes.
  if (inc.generation != st.incident_generation || inc.state == IncidentState::kClosed ||
      inc.rule < 0) {
    return kNone;
  }
  return st.incident;
}

Incident* Engine::IncidentOf(const FpState& st) {
  uint32_t slot = IncidentSlotOf(st);
  return slot == kNone ? nullptr : &Inc(slot);
}

void Engine::ProcessAlert(const Record& r, RecordLabels& labels, DecisionEvent& ev) {
  const rules::CompiledRules& rules = *rules_;
  key_.Begin(SignalKind::kAlert);
  bool override_fp = r.input >= 0 && static_cast<size_t>(r.input) < input_fp_override_.size() &&
                     input_fp_override_[r.input];
  key_.AppendLabels(r.labels, override_fp ? input_fp_labels_[r.input] : alert_fp_labels_);
  Fingerprint fp = key_.Hash();
  ev.has_fingerprint = true;
  ev.fingerprint = fp;
  const uint64_t verify = key_.Verify();
  uint32_t slot = fp_index_.Find(fp.value, verify);
  // A drop rule never swallows the resolve of an alert that is firing: its incident must
  // hear it (the resolve may carry other labels, e.g. a lower severity). Dropped records
  // leave no state behind.
  bool resolving = r.state == AlertState::kResolved && slot != kNone && Fp(slot).firing;
  if (!resolving && Dropped(labels, ev)) return;
  if (slot == kNone) slot = LookupOrInsert(fp, verify, SignalKind::kAlert);
  EventTime t = std::max(r.time, watermark_);

  if (r.state == AlertState::kResolved) {
    FpState& st = Fp(slot);
    st.last_seen = t;
    Incident* inc = IncidentOf(st);
    if (inc != nullptr) {
      ev.incident = inc->id;
      ev.rule = inc->rule_name;
      inc->last_activity = t;
      inc->alert_records++;
      inc->members[st.member].count++;
    }
    if (st.firing) {
      st.firing = false;
      if (RecordChange(slot, t)) {
        Schedule(TimerKind::kFingerprint, slot, t + rules.dedup.flapping.stable_for);
      }
      UpdateInhibitSources(slot, nullptr, false);
      if (inc != nullptr) MemberResolved(Fp(slot), t);
      ev.decision = Decision::kResolved;
    } else {
      ev.decision = inc != nullptr ? Decision::kDeduplicated : Decision::kResolved;
    }
    if (!Fp(slot).flapping) ScheduleExpiry(slot);
    return;
  }

  bool activation = !Fp(slot).firing;
  if (activation) {
    Fp(slot).firing = true;
    RecordChange(slot, t);
    UpdateInhibitSources(slot, &labels, true);
  }
  FpState& st = Fp(slot);
  st.last_seen = t;
  if (rules.dedup.resolve_timeout.count() > 0) {
    Schedule(TimerKind::kFingerprint, slot, t + rules.dedup.resolve_timeout);
  }
  Incident* inc = IncidentOf(st);
  if (st.flapping) {
    ev.decision = Decision::kFlapping;
    ev.rule = "dedup.flapping";
    held_[slot] = r;  // correlated when the fingerprint is stable again
    if (inc != nullptr) {
      ev.incident = inc->id;
      inc->members[st.member].count++;
      inc->alert_records++;
    }
    Schedule(TimerKind::kFingerprint, slot, st.last_change + rules.dedup.flapping.stable_for);
    return;
  }
  if (inc != nullptr) {
    FoldIntoIncident(*inc, st, r, labels, activation, t, ev);
    return;
  }
  MuteOrCorrelate(r, labels, slot, 0, t, ev);
}

void Engine::ProcessLog(const Record& r, RecordLabels& labels, DecisionEvent& ev) {
  const rules::CompiledRules& rules = *rules_;
  if (r.input >= 0 && static_cast<size_t>(r.input) < rules.inputs.size()) {
    const rules::InputRule& in = rules.inputs[r.input];
    if (in.min_level != rules::LogLevel::kUnknown &&
        rules::ParseLogLevel(r.labels.Get("level")) < in.min_level) {
      ev.decision = Decision::kDropped;
      ev.rule = "inputs.min_level";
      return;
    }
  }
  // (Before the drop rules: they see `template` like every matcher.)
  if (rules.logs.template_auto) {
    MineTemplate(r.summary, &template_buf_);
  } else {
    template_buf_.assign(r.summary);
  }
  labels.log_template = template_buf_;
  if (Dropped(labels, ev)) return;
  key_.Begin(SignalKind::kLog);
  key_.AppendLabels(r.labels, log_fp_labels_);
  if (rules.logs.template_in_key) {
    if (rules.logs.template_auto) {
      TemplateKey(template_buf_, &template_key_buf_);
      key_.Append("\x01template", template_key_buf_);
    } else {
      key_.Append("\x01template", template_buf_);
    }
  }
  Fingerprint fp = key_.Hash();
  ev.has_fingerprint = true;
  ev.fingerprint = fp;
  uint32_t slot = LookupOrInsert(fp, key_.Verify(), SignalKind::kLog);
  EventTime t = std::max(r.time, watermark_);

  const rules::SurgeRule& surge = rules.logs.surge;
  int64_t width = std::max<int64_t>(1, surge.within.count() / 4);
  double alpha = std::min(
      1.0, static_cast<double>(width) / std::max<int64_t>(1, surge.baseline_window.count()));
  if (Fp(slot).log_rate == kNone) {
    if (!free_log_rates_.empty()) {
      Fp(slot).log_rate = free_log_rates_.back();
      free_log_rates_.pop_back();
    } else {
      Fp(slot).log_rate = static_cast<uint32_t>(log_rates_.size());
      log_rates_.emplace_back();
    }
    // A signal seen during warm-up is known: its baseline is the mean rate it has shown so
    // far. One first seen after warm-up is new: its baseline starts from nothing and learns
    // over baseline_window, so a new error that climbs slowly still surges.
    if (t >= first_record_ + surge.warmup) log_rates_[Fp(slot).log_rate].weight = 1;
  }
  LogRate& rate = log_rates_[Fp(slot).log_rate];
  rate.Advance(t.ms / width, alpha, /*learn=*/!Fp(slot).firing);
  rate.counts[static_cast<size_t>(((t.ms / width) % 4 + 4) % 4)]++;

  NoteVersion(r, t);
  FpState& st = Fp(slot);
  st.last_seen = t;
  // At or above the surge threshold: enough lines in `within`, and that many times the
  // baseline. A surge starts there (once warm) and ends `quiet_for` after it was last there.
  const uint32_t recent = rate.Recent();
  const bool above = recent >= static_cast<uint32_t>(surge.min_count) &&
                     recent >= surge.over_baseline * rate.Baseline() * 4;
  bool activation = false;
  if (!st.firing) {
    bool warm = t >= first_record_ + surge.warmup;
    if (!warm || !above) {
      ScheduleExpiry(slot);
      // Not a surge of its own, but part of a request that is already failing end to end.
      uint32_t traced = IncidentOfTrace(r);
      if (traced != kNone) {
        Incident& inc = Inc(traced);
        inc.log_records++;
        inc.last_activity = t;
        inc.last_seen = std::max(inc.last_seen, t);
        ev.decision = Decision::kGrouped;
        ev.rule = "trace";
        ev.incident = inc.id;
        AddEvidence(inc, "trace " + r.trace_id + " ties " + std::string(r.labels.Get("service")) +
                             " errors to this incident");
        return;
      }
      ev.decision = Decision::kBelowThreshold;
      ev.rule = "logs.surge";
      return;
    }
    st.firing = true;
    activation = true;
    UpdateInhibitSources(slot, &labels, true);
  }
  if (above) {
    rate.last_above = t;
    Schedule(TimerKind::kFingerprint, slot, t + surge.quiet_for);
  }

  Incident* inc = IncidentOf(st);
  if (inc != nullptr) {
    FoldIntoIncident(*inc, st, r, labels, activation, t, ev);
    return;
  }
  // The lines that made the surge count towards the incident.
  MuteOrCorrelate(r, labels, slot, activation ? rate.Recent() - 1 : 0, t, ev);
}

void Engine::MuteOrCorrelate(const Record& r, RecordLabels& labels, uint32_t slot,
                             uint32_t extra_count, EventTime t, DecisionEvent& ev) {
  std::string_view rule;
  int64_t inhibitor = FindInhibitor(labels, fps_[slot], &rule);
  if (inhibitor >= 0) {
    ev.decision = Decision::kInhibited;
    ev.rule = rule;
    AttachInhibited(r, labels, slot, static_cast<uint32_t>(inhibitor), ev);
    return;
  }
  if (const rules::Silence* s = MatchSilence(labels, t)) {
    ev.decision = Decision::kSilenced;
    ev.rule = s->name;
    return;
  }
  Decision d;
  uint32_t inc_slot = Correlate(r, labels, slot, t, &d, &rule, extra_count);
  ev.decision = d;
  ev.rule = rule;
  if (inc_slot != kNone) {
    ev.incident = Inc(inc_slot).id;
    if (r.kind == SignalKind::kLog) RememberTrace(r, inc_slot);
  }
}

// ---------------------------------------------------------------------------------------
// Muting

bool Engine::Dropped(const RecordLabels& labels, DecisionEvent& ev) const {
  for (const rules::DropRule& d : rules_->drop) {
    if (d.matchers.Matches(labels)) {
      ev.decision = Decision::kDropped;
      ev.rule = d.name;
      return true;
    }
  }
  return false;
}

const rules::Silence* Engine::MatchSilence(const RecordLabels& labels, EventTime t) const {
  for (const rules::Silence& s : rules_->silences) {
    if (t < s.starts || t >= s.ends) continue;
    if (!s.time_intervals.empty()) {
      bool inside = false;
      for (int ti : s.time_intervals) inside |= rules_->time_intervals[ti].Contains(t);
      if (!inside) continue;
    }
    if (s.matchers.Matches(labels)) return &s;
  }
  return nullptr;
}

bool Engine::RuleMuted(const rules::CorrelateRule& rule, EventTime t) const {
  for (int ti : rule.mute_time_intervals) {
    if (rules_->time_intervals[ti].Contains(t)) return true;
  }
  if (!rule.active_time_intervals.empty()) {
    for (int ti : rule.active_time_intervals) {
      if (rules_->time_intervals[ti].Contains(t)) return false;
    }
    return true;
  }
  return false;
}

namespace {

uint64_t EqualHash(uint64_t seed, const std::vector<std::string>& equal,
                   const rules::LabelSource& labels) {
  XXH3_state_t state;
  XXH3_64bits_reset_withSeed(&state, seed);
  for (const std::string& name : equal) {
    std::string_view v = labels.Get(name);
    uint64_t len = v.size();
    XXH3_64bits_update(&state, &len, sizeof(len));
    XXH3_64bits_update(&state, v.data(), v.size());
  }
  return XXH3_64bits_digest(&state);
}

}  // namespace

void Engine::UpdateInhibitSources(uint32_t fp_slot, const RecordLabels* labels, bool firing) {
  const auto& rules = rules_->inhibit;
  if (firing) {
    const bool log = fps_[fp_slot].kind == SignalKind::kLog;
    for (size_t i = 0; i < rules.size(); ++i) {
      if ((log && !rules[i].log_sources) || !rules[i].source.Matches(*labels)) continue;
      uint64_t h = EqualHash(inhibit_seed_[i], rules[i].equal, *labels);
      inhibit_sources_[h].push_back(InhibitSource{fp_slot, rules[i].target.Matches(*labels)});
      source_of_[fp_slot].push_back(h);
    }
    return;
  }
  auto it = source_of_.find(fp_slot);
  if (it == source_of_.end()) return;
  for (uint64_t h : it->second) {
    auto e = inhibit_sources_.find(h);
    NG_CHECK(e != inhibit_sources_.end());
    auto& v = e->second;
    auto pos = std::find_if(v.begin(), v.end(),
                            [&](const InhibitSource& src) { return src.slot == fp_slot; });
    NG_CHECK(pos != v.end());
    v.erase(pos);
    if (v.empty()) inhibit_sources_.erase(e);
  }
  source_of_.erase(it);
}

int64_t Engine::FindInhibitor(const RecordLabels& labels, const FpState& self,
                              std::string_view* rule) {
  const auto& rules = rules_->inhibit;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i].target.Matches(labels)) continue;
    auto it = inhibit_sources_.find(EqualHash(inhibit_seed_[i], rules[i].equal, labels));
    if (it == inhibit_sources_.end()) continue;
    // Alertmanager: an alert that matches both sides is not inhibited by sources that also
    // match both sides, so an alert never inhibits itself or its peers.
    bool two_sided = rules[i].source.Matches(labels);
    // Of the live sources, the earliest whose incident is open names the incident.
    int64_t chosen = -1;
    for (const InhibitSource& src : it->second) {
      if (two_sided && src.both) continue;
      // A log surge inhibits only into its open incident (one that was silenced, muted or
      // taken by no correlate rule would hide its targets from every page and ticket).
      if (fps_[src.slot].kind == SignalKind::kLog && IncidentSlotOf(fps_[src.slot]) == kNone) {
        continue;
      }
      if (chosen < 0) chosen = src.slot;
      if (IncidentSlotOf(fps_[src.slot]) != kNone) {
        chosen = src.slot;
        break;
      }
    }
    if (chosen < 0) continue;
    *rule = rules[i].name;
    return chosen;
  }
  return -1;
}

void Engine::FoldIntoIncident(Incident& inc, FpState& st, const Record& r, RecordLabels& labels,
                              bool activation, EventTime t, DecisionEvent& ev) {
  Member& m = inc.members[st.member];
  m.count++;
  m.last_seen = t;
  (r.kind == SignalKind::kAlert ? inc.alert_records : inc.log_records)++;
  inc.last_activity = t;
  inc.last_seen = std::max(inc.last_seen, t);
  ev.incident = inc.id;
  ev.rule = inc.rule_name;
  if (r.kind == SignalKind::kLog) RememberTrace(r, st.incident);
  // An inhibited alert that still fires when its inhibitor goes has fired all along.
  const EventTime since = m.inhibited && m.firing ? m.firing_since : t;
  if (m.inhibited && StillInhibited(labels, st, ev)) return;
  if (activation || !m.firing) {
    MemberFired(st, r, t, since);
    ev.decision = Decision::kGrouped;
  } else {
    ev.decision = Decision::kDeduplicated;
  }
}

bool Engine::StillInhibited(const RecordLabels& labels, FpState& st, DecisionEvent& ev) {
  std::string_view rule;
  if (FindInhibitor(labels, st, &rule) >= 0) {
    ev.decision = Decision::kInhibited;
    ev.rule = rule;
    return true;
  }
  // Its inhibitor is gone while it still fires: from now on it counts as a member, so it
  // re-enters as a fresh firing member (severity, route and escalation are recomputed).
  Incident& inc = Inc(st.incident);
  Member& m = inc.members[st.member];
  SetMemberFiring(inc, m, false, watermark_);  // while still counted as inhibited
  m.inhibited = false;
  return false;
}

void Engine::AttachInhibited(const Record& r, RecordLabels& labels, uint32_t fp_slot,
                             uint32_t source_slot, DecisionEvent& ev) {
  Incident* inc = source_slot < fps_.size() ? IncidentOf(fps_[source_slot]) : nullptr;
  if (inc == nullptr) return;
  FpState& st = Fp(fp_slot);
  ev.incident = inc->id;
  EventTime t = st.last_seen;
  int idx = inc->FindMember(Fingerprint{st.fp});
  if (idx < 0) {
    AddMember(*inc, r, labels, Fingerprint{st.fp}, t);
    inc->members.back().inhibited = true;
    idx = static_cast<int>(inc->members.size() - 1);
  }
  st.incident = static_cast<uint32_t>(inc - incidents_.data());
  st.incident_generation = inc->generation;
  st.member = idx;
  Member& m = inc->members[idx];
  m.count++;
  m.last_seen = t;
  if (r.kind == SignalKind::kAlert) {
    inc->alert_records++;
  } else {
    inc->log_records++;
  }
  inc->last_activity = t;
  SetMemberFiring(*inc, m, true, t);
}

// ---------------------------------------------------------------------------------------
// Correlation

uint32_t Engine::Correlate(const Record& r, RecordLabels& labels, uint32_t fp_slot, EventTime t,
                           Decision* decision, std::string_view* rule_name, uint32_t extra_count) {
  const rules::CompiledRules& rules = *rules_;
  const uint64_t fp_value = Fp(fp_slot).fp;
  int rule_index = -1;
  for (size_t i = 0; i < rules.correlate.size(); ++i) {
    if (rules.correlate[i].match.Matches(labels)) {
      rule_index = static_cast<int>(i);
      break;
    }
  }
  if (rule_index < 0) {
    *decision = Decision::kDropped;
    *rule_name = "correlate";
    return kNone;
  }
  const rules::CorrelateRule& rule = rules.correlate[rule_index];
  if (RuleMuted(rule, t)) {
    *decision = Decision::kSilenced;
    *rule_name = rule.name;
    return kNone;
  }
  *rule_name = rule.name;

  // Named culprits: a log line that names a topology component ties the signal to it.
  if (r.kind == SignalKind::kLog) {
    labels.culprit = rules.topology.FindNamed(r.summary, r.description, labels.component());
  }
  std::vector<int> impacts = labels.impacts();
  if (labels.culprit >= 0 && impacts.empty()) {
    impacts = rules.topology.node(labels.culprit).impacts;
  }
  std::sort(impacts.begin(), impacts.end());

  XXH3_state_t hs;
  XXH3_64bits_reset_withSeed(&hs, correlate_seed_[rule_index]);
  bool by_impact = false;
  for (const std::string& dim : rule.group_by) {
    if (dim == "impacted_service") {
      by_impact = true;
      continue;
    }
    std::string_view v = labels.Get(dim);
    uint64_t len = v.size();
    XXH3_64bits_update(&hs, &len, sizeof(len));
    XXH3_64bits_update(&hs, v.data(), v.size());
  }
  uint64_t group_hash = XXH3_64bits_digest(&hs);
  static const std::vector<uint32_t> kNoCandidates;
  auto group = groups_.find(group_hash);
  const std::vector<uint32_t>& candidates = group == groups_.end() ? kNoCandidates : group->second;
  // An open incident of this rule and group that takes new signals (an incident of another
  // rule is in the group once a signal of it joined through co-location).
  auto takes = [&](const Incident& inc) {
    return TakesSignals(inc) &&
           (inc.rule == rule_index || std::find(inc.joined_groups.begin(), inc.joined_groups.end(),
                                                group_hash) != inc.joined_groups.end());
  };
  uint32_t chosen = kNone;
  for (uint32_t c : candidates) {
    const Incident& inc = incidents_[c];
    if (!takes(inc)) continue;
    if (!by_impact || (impacts.empty() && inc.impacted.empty()) ||
        Overlaps(impacts, inc.impacted)) {
      chosen = c;
      break;
    }
  }
  // No overlap of impact, but evidence that ties the signal to a member: the first open
  // incident (in the order they opened) with a member that `ties` accepts, among those firing
  // and not inhibited (an incident waiting out close_after is over).
  const Member* tied = nullptr;
  auto first_tied = [&](auto&& ties) {
    for (uint32_t c : candidates) {
      const Incident& inc = incidents_[c];
      if (!takes(inc)) continue;
      for (const Member& m : inc.members) {
        if (m.firing && !m.inhibited && ties(m)) {
          tied = &m;
          return c;
        }
      }
    }
    return kNone;
  };
  // Topology: a member on a component the signal's own calls (the failure under one
  // user-facing service shows in another that calls it).
  const int component = labels.component();
  std::string tie;  // the evidence, when a tie chose the incident
  if (chosen == kNone && by_impact && rule.caller_hops > 0 && component >= 0) {
    const std::vector<int>& near = callees_[static_cast<size_t>(rule_index)][component];
    chosen = first_tied([&near](const Member& m) {
      return m.component >= 0 && std::binary_search(near.begin(), near.end(), m.component);
    });
    if (chosen != kNone) {
      tie = "topology: " + rules.topology.node(component).name + " calls " +
            rules.topology.node(tied->component).name +
            " (caller_hops: " + std::to_string(rule.caller_hops) + ")";
    }
  }
  // Named culprits: a member on the component the signal's message names, or whose own
  // message names it (two services whose errors blame one database).
  const int culprit = labels.culprit;
  if (chosen == kNone && by_impact && rule.join_named && culprit >= 0) {
    chosen = first_tied(
        [culprit](const Member& m) { return m.component == culprit || m.culprit == culprit; });
    if (chosen != kNone) {
      const std::string who = component >= 0 ? rules.topology.node(component).name
                                             : std::string(r.labels.Get("service"));
      tie = "named: " + (who.empty() ? std::string("its") : who + "'s") + " errors name " +
            rules.topology.node(culprit).name + " (join_named)";
    }
  }
  // Co-location: a signal that began where a signal of an open incident (of any rule) began
  // shortly before. Many services failing together in one place point at the place (a node
  // or zone cut off), and the place's own alert, when it comes, joins them there.
  if (chosen == kNone && !rule.colocated_labels.empty()) {
    size_t place = 0;
    chosen = FindColocated(labels, rule, t, &place, &tie);
    if (chosen != kNone) {
      Incident& inc = Inc(chosen);
      inc.places[place].tied = true;
      if (inc.rule != rule_index && inc.group_hash != group_hash &&
          std::find(inc.joined_groups.begin(), inc.joined_groups.end(), group_hash) ==
              inc.joined_groups.end()) {
        // Later signals of this rule and group join it as their own (by overlap, or a tie).
        inc.joined_groups.push_back(group_hash);
        groups_[group_hash].push_back(chosen);
      }
    }
  }
  bool opened = chosen == kNone;
  if (opened) {
    if (!free_incidents_.empty()) {
      chosen = free_incidents_.back();
      free_incidents_.pop_back();
    } else {
      chosen = static_cast<uint32_t>(incidents_.size());
      incidents_.emplace_back();
    }
    Incident& inc = Inc(chosen);
    uint32_t gen = inc.generation + 1;
    inc = Incident{};
    inc.generation = gen;
    inc.rule = rule_index;
    inc.rule_name = rule.name;
    inc.group_hash = group_hash;
    inc.state = IncidentState::kPending;
    inc.opened = inc.first_seen = inc.last_seen = inc.last_activity = t;
    for (const std::string& dim : rule.group_by) {
      if (dim != "impacted_service") inc.group.emplace_back(dim, std::string(labels.Get(dim)));
    }
    // The dedup_key: stable for the incident's life and the same in replay and live.
    XXH3_state_t ks;
    XXH3_64bits_reset_withSeed(&ks, kFingerprintSeed);
    XXH3_64bits_update(&ks, rule.name.data(), rule.name.size());
    XXH3_64bits_update(&ks, &group_hash, sizeof(group_hash));
    XXH3_64bits_update(&ks, &fp_value, sizeof(fp_value));
    XXH3_64bits_update(&ks, &t.ms, sizeof(t.ms));
    char buf[24];
    std::snprintf(buf, sizeof(buf), "ng-%016llx",
                  static_cast<unsigned long long>(XXH3_64bits_digest(&ks)));
    inc.id = buf;
    groups_[group_hash].push_back(chosen);
    open_order_.push_back(chosen);
    ++stats_.incidents_opened;
    Schedule(TimerKind::kIncident, chosen, t + rule.group_wait);
  }
  Incident& inc = Inc(chosen);
  *decision = opened ? Decision::kNew : Decision::kGrouped;

  // Impacted services grow with the incident.
  size_t before = inc.impacted.size();
  for (int s : impacts) {
    auto pos = std::lower_bound(inc.impacted.begin(), inc.impacted.end(), s);
    if (pos == inc.impacted.end() || *pos != s) inc.impacted.insert(pos, s);
  }
  if (inc.impacted.size() != before && inc.notified) inc.escalation_pending = true;

  FpState& st = Fp(fp_slot);
  int idx = inc.FindMember(Fingerprint{st.fp});
  if (idx < 0) {
    AddMember(inc, r, labels, Fingerprint{st.fp}, t);
    idx = static_cast<int>(inc.members.size() - 1);
    if (!tie.empty()) AddEvidence(inc, std::move(tie));
    if (!rule.colocated_labels.empty())
      NotePlaces(inc, static_cast<uint32_t>(idx), labels, rule, t);
    // Change evidence: the signal's own version of its service first appeared shortly before.
    std::string_view service = r.labels.Get("service");
    std::string_view version = r.labels.Get("version");
    if (!service.empty() && !version.empty()) {
      scratch_.assign(service);
      scratch_.push_back('\0');
      scratch_.append(version);
      std::optional<EventTime> first = VersionFirstSeen(scratch_, t);
      if (first && *first > versions_first_record_ + kDeployWindow / 30 && t >= *first &&
          t - *first <= kDeployWindow) {
        AddEvidence(inc, "deploy: " + std::string(service) + " " + std::string(version) +
                             " first seen " + FormatRfc3339(*first) + ", " +
                             std::to_string((t - *first).count() / 1000) +
                             "s before its errors surged");
      }
    }
  }
  st.incident = chosen;
  st.incident_generation = inc.generation;
  st.member = idx;
  Member& m = inc.members[idx];
  m.count += 1 + extra_count;
  m.last_seen = t;
  if (r.kind == SignalKind::kAlert) {
    inc.alert_records += 1;
  } else {
    inc.log_records += 1 + extra_count;
  }
  inc.last_activity = t;
  inc.last_seen = std::max(inc.last_seen, t);
  MemberFired(st, r, t, t);
  if (static_cast<int>(inc.members.size()) >= rules.correlate[inc.rule].max_members &&
      !inc.sealed) {
    inc.sealed = true;
  }
  return chosen;
}

void Engine::SetMemberFiring(Incident& inc, Member& m, bool firing, EventTime t) {
  if (m.firing == firing) return;
  m.firing = firing;
  if (firing) m.firing_since = t;
  const int d = firing ? 1 : -1;
  inc.firing_members += d;
  if (!m.inhibited) inc.active_members += d;
  NG_CHECK(inc.firing_members >= 0 && inc.active_members >= 0);
}

void Engine::AddMember(Incident& inc, const Record& r, const RecordLabels& labels, Fingerprint fp,
                       EventTime t) const {
  Member m;
  m.fingerprint = fp;
  m.kind = r.kind;
  m.severity = SeverityOf(r);
  m.component = labels.component();
  m.culprit = labels.culprit;
  m.first_seen = m.last_seen = m.firing_since = t;
  m.firing = false;
  m.clauses = PageClauses(rules_->page, labels);
  m.pages = PagesAlone(rules_->page, m.clauses);
  const auto& inhibit = rules_->inhibit;
  for (size_t i = 0; i < inhibit.size(); ++i) {
    if (!inhibit[i].target.Matches(labels)) continue;
    InhibitTarget& target = inc.targets.emplace_back();
    target.equal_hash = EqualHash(inhibit_seed_[i], inhibit[i].equal, labels);
    target.member = static_cast<uint32_t>(inc.members.size());
    target.rule = static_cast<uint32_t>(i);
    target.two_sided = inhibit[i].source.Matches(labels);
  }
  if (inc.members.size() < kDetailedMembers || m.severity > inc.severity) {
    m.detail = std::make_unique<MemberDetail>();
    m.detail->summary = r.summary;
    m.detail->name = r.kind == SignalKind::kAlert ? std::string(r.labels.Get("alertname"))
                                                  : std::string(labels.log_template);
    m.detail->service = std::string(r.labels.Get("service"));
    m.detail->link = r.link;
  }
  inc.members.push_back(std::move(m));
}

void Engine::MemberFired(FpState& st, const Record& r, EventTime t, EventTime since) {
  Incident& inc = Inc(st.incident);
  Member& m = inc.members[st.member];
  SetMemberFiring(inc, m, true, std::min(std::max(since, m.first_seen), t));
  if (!m.inhibited && m.severity > inc.severity) {
    inc.severity = m.severity;
    if (inc.notified && inc.severity > inc.notified_severity) inc.escalation_pending = true;
  }
  RecomputeRoute(inc, watermark_);
  ScheduleIncident(st.incident);
}

void Engine::MemberResolved(FpState& st, EventTime t) {
  Incident& inc = Inc(st.incident);
  Member& m = inc.members[st.member];
  SetMemberFiring(inc, m, false, t);
  inc.last_activity = t;
  ScheduleIncident(st.incident);
}

void Engine::RecomputeRoute(Incident& inc, EventTime at, bool keep_page) {
  const rules::Action before = inc.route;
  // (Only a firing_for member that resolved, or inhibition, can take a met entry away.)
  const bool page = (keep_page && before == rules::Action::kPage) ||
                    MetPageCondition(rules_->page, inc.members, at) != -1;
  inc.route = page ? rules::Action::kPage : rules_->page.otherwise;
  if (inc.notified && before != rules::Action::kPage && inc.route == rules::Action::kPage) {
    inc.escalation_pending = true;
  }
}

// ---------------------------------------------------------------------------------------
// Timers

void Engine::Schedule(TimerKind kind, uint32_t slot, EventTime at) {
  if (kind == TimerKind::kIncident) {
    Incident& inc = Inc(slot);
    if (at >= inc.scheduled) return;
    inc.scheduled = at;
    timers_.push(Timer{at, kind, slot, inc.generation});
    return;
  }
  FpState& st = Fp(slot);
  if (st.timer_at <= at && st.timer_at > watermark_) return;
  st.timer_at = at;
  timers_.push(Timer{at, kind, slot, ++st.generation});
}

EventTime Engine::EscalationDue(const Incident& inc, const rules::CorrelateRule& rule) const {
  // group_interval rate-limits updates of what a receiver was told. An incident that now pages
  // was only ticketed: the pager has not heard of it, and its first page goes out at once.
  if (!inc.paged && inc.route == rules::Action::kPage) return watermark_;
  return inc.last_notified + rule.group_interval;
}

void Engine::ScheduleIncident(uint32_t slot) {
  Incident& inc = Inc(slot);
  if (inc.state == IncidentState::kClosed) return;
  if (inc.rule < 0) {  // its rule is gone: closes now
    if (watermark_ < inc.scheduled) {
      inc.scheduled = watermark_;
      timers_.push(Timer{watermark_, TimerKind::kIncident, slot, inc.generation});
    }
    return;
  }
  const rules::CorrelateRule& rule = rules_->correlate[inc.rule];
  EventTime next = kMaxTime;
  if (inc.state == IncidentState::kPending) {
    next = inc.opened + rule.group_wait;
  } else {
    if (!inc.notified && inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      next = watermark_;  // owed its first trigger
    }
    if (inc.escalation_pending) next = std::min(next, EscalationDue(inc, rule));
    if (inc.notified && inc.active_members > 0 && rules_->page.repeat_interval.count() > 0) {
      next = std::min(next, inc.last_notified + rules_->page.repeat_interval);
    }
  }
  // A member that keeps firing comes to meet a firing_for with no record arriving.
  if (rules_->page.timed && inc.route != rules::Action::kPage && inc.active_members > 0) {
    next = std::min(next, NextPageChange(rules_->page, inc.members, watermark_));
  }
  if (inc.firing_members == 0) next = std::min(next, inc.last_activity + rule.close_after);
  if (!inc.sealed) next = std::min(next, inc.opened + rule.max_duration);
  if (next < watermark_) next = watermark_;
  // Re-arm: a later deadline replaces an earlier one (the stale heap entry is skipped).
  if (next != inc.scheduled) {
    inc.scheduled = next;
    timers_.push(Timer{next, TimerKind::kIncident, slot, inc.generation});
  }
}

void Engine::AdvanceWatermark(EventTime t) {
  if (t <= watermark_) return;
  FireTimersUpTo(t);
  watermark_ = t;
}

void Engine::FireDue() { FireTimersUpTo(watermark_); }

void Engine::FireTimersUpTo(EventTime t) {
  while (!timers_.empty() && timers_.top().at <= t) {
    Timer tm = timers_.top();
    timers_.pop();
    // Timers fire at their own time, so outputs carry the event time they were due.
    watermark_ = std::max(watermark_, tm.at);
    if (tm.kind == TimerKind::kIncident) {
      Incident& inc = Inc(tm.slot);
      if (inc.generation != tm.generation || inc.scheduled != tm.at ||
          inc.state == IncidentState::kClosed) {
        continue;
      }
      inc.scheduled = kMaxTime;
      FireIncidentTimer(tm.slot, tm.at);
    } else {
      FpState& st = Fp(tm.slot);
      if (st.generation != tm.generation) continue;
      st.timer_at = kMaxTime;
      FireFingerprintTimer(tm.slot, tm.at);
    }
  }
}

void Engine::InhibitAtNotify(Incident& inc) {
  if (inhibit_sources_.empty()) return;
  bool changed = false;
  bool met = false;  // before muting: whether page.when was met, not held since it paged
  for (const InhibitTarget& target : inc.targets) {
    Member& m = inc.members[target.member];
    if (m.inhibited || !m.firing) continue;
    auto it = inhibit_sources_.find(target.equal_hash);
    if (it == inhibit_sources_.end()) continue;
    bool effective = false;
    for (const InhibitSource& src : it->second) effective |= !(target.two_sided && src.both);
    if (!effective) continue;
    if (!changed) {
      met = inc.route == rules::Action::kPage &&
            MetPageCondition(rules_->page, inc.members, watermark_) != -1;
    }
    // Muted from now on: it keeps the incident open but no longer makes it notify.
    inc.active_members--;
    m.inhibited = true;
    changed = true;
  }
  // A page that muting takes the met entry from is one no more; a page held since its entry
  // was met (by a firing_for member that resolved since) stays.
  if (changed) RecomputeRoute(inc, watermark_, /*keep_page=*/!met);
}

void Engine::FireIncidentTimer(uint32_t slot, EventTime t) {
  Incident& inc = Inc(slot);
  if (inc.rule < 0) {
    CloseIncident(slot, t);  // a paged incident always gets its resolve
    return;
  }
  const rules::CorrelateRule& rule = rules_->correlate[inc.rule];
  // Alertmanager checks inhibition when it notifies: a source that started firing after its
  // targets joined this incident still mutes them.
  InhibitAtNotify(inc);
  // Members may have fired long enough for a firing_for since the route was last computed.
  if (rules_->page.timed && inc.route != rules::Action::kPage) RecomputeRoute(inc, t);
  if (inc.state == IncidentState::kPending && t >= inc.opened + rule.group_wait) {
    inc.state = IncidentState::kOpen;
    // Everything resolved before group_wait was a blip: nobody is told.
    if (inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      Notify(inc, NotifyAction::kTrigger, "open", t);
    }
  } else if (inc.state == IncidentState::kOpen) {
    if (inc.escalation_pending && t >= EscalationDue(inc, rule)) {
      inc.escalation_pending = false;
      if (inc.active_members > 0 && inc.route != rules::Action::kDrop) {
        Notify(inc, NotifyAction::kTrigger, "escalation", t);
      }
    } else if (!inc.notified && inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      // Silent at group_wait (a blip, or its route was drop), pageable now: it is owed a
      // trigger, sent as soon as it becomes due.
      Notify(inc, NotifyAction::kTrigger, "open", t);
    } else if (inc.notified && inc.active_members > 0 && rules_->page.repeat_interval.count() > 0 &&
               t >= inc.last_notified + rules_->page.repeat_interval) {
      Notify(inc, NotifyAction::kTrigger, "repeat", t);
    }
  }
  if (inc.firing_members == 0 && t >= inc.last_activity + rule.close_after) {
    CloseIncident(slot, t);
    return;
  }
  if (!inc.sealed && t >= inc.opened + rule.max_duration) inc.sealed = true;
  ScheduleIncident(slot);
}

void Engine::FireFingerprintTimer(uint32_t slot, EventTime t) {
  const rules::CompiledRules& rules = *rules_;
  if (Fp(slot).flapping && t >= Fp(slot).last_change + rules.dedup.flapping.stable_for) {
    Fp(slot).flapping = false;
    Fp(slot).nchanges = 0;
    flap_history_.erase(slot);
    ReleaseHeld(slot, t);
  }
  FpState& st = Fp(slot);
  const Millis timeout = rules.dedup.resolve_timeout;
  if (st.firing && st.kind == SignalKind::kLog && t >= SurgeEnds(st)) {
    st.firing = false;
    // What the window still counts is the surge's tail: the baseline must not learn it when
    // the next line folds it in.
    log_rates_[st.log_rate].counts = {};
    UpdateInhibitSources(slot, nullptr, false);
    if (IncidentOf(st) != nullptr) MemberResolved(st, t);
  } else if (st.firing && st.kind == SignalKind::kAlert &&
             ((timeout.count() > 0 && t >= st.last_seen + timeout) ||
              (st.last_seen < refresh_before_ && t >= refresh_before_ + kRefreshGrace))) {
    st.firing = false;
    UpdateInhibitSources(slot, nullptr, false);
    if (IncidentOf(st) != nullptr) MemberResolved(st, t);
  }
  // Re-arm for whatever is still due: a flapping release, a quiet log, a stale alert, the
  // expiry of an inert fingerprint.
  EventTime next = kMaxTime;
  if (!st.firing && !st.flapping) {
    EventTime expiry = ExpiryOf(st);
    if (t >= expiry) {
      if (IncidentOf(st) == nullptr) {
        Evict(slot);
        return;
      }
      // Still a member of an open incident: a re-fire must fold into it. Look again later.
      expiry = t + std::max<Millis>(rules.state.retention, Millis{60'000});
    }
    next = expiry;
  }
  if (st.flapping) next = std::min(next, st.last_change + rules.dedup.flapping.stable_for);
  if (st.firing && st.kind == SignalKind::kLog) {
    next = std::min(next, SurgeEnds(st));
  }
  if (st.firing && st.kind == SignalKind::kAlert && timeout.count() > 0) {
    next = std::min(next, st.last_seen + timeout);
  }
  if (st.firing && st.kind == SignalKind::kAlert && st.last_seen < refresh_before_) {
    next = std::min(next, refresh_before_ + kRefreshGrace);
  }
  if (next != kMaxTime) Schedule(TimerKind::kFingerprint, slot, next);
}

void Engine::ReleaseHeld(uint32_t slot, EventTime t) {
  auto it = held_.find(slot);
  if (it == held_.end()) return;
  Record held = std::move(it->second);
  held_.erase(it);
  FpState& st = Fp(slot);
  if (!st.firing || st.kind != SignalKind::kAlert) return;
  RecordLabels labels(held, rules_->topology);
  DecisionEvent ev;  // not an input record: no explain line
  ev.record = &held;
  if (Incident* inc = IncidentOf(st)) {
    // (It has fired since its last change, held back while it flapped.)
    if (!inc->members[st.member].firing) MemberFired(st, held, t, st.last_change);
    return;
  }
  MuteOrCorrelate(held, labels, slot, 0, t, ev);
}

void Engine::Notify(Incident& inc, NotifyAction action, std::string_view reason, EventTime t) {
  Notification n;
  n.action = action;
  n.at = t;
  n.reason = reason;
  n.incident = &inc;
  if (action == NotifyAction::kTrigger) {
    n.route = inc.route;
    // An incident that escalates from ticket to page keeps its ticket; the page is new.
    inc.notified = true;
    inc.notified_route = inc.route;
    inc.notified_severity = inc.severity;
    inc.notified_impacted = inc.impacted.size();
    inc.last_notified = t;
    sink_->OnNotification(n);
    if (inc.route == rules::Action::kPage) inc.paged = true;
    if (inc.route == rules::Action::kTicket) inc.ticketed = true;
    return;
  }
  // Resolve every output that heard a trigger, even if members were since muted.
  if (inc.paged) {
    n.route = rules::Action::kPage;
    sink_->OnNotification(n);
  }
  if (inc.ticketed) {
    n.route = rules::Action::kTicket;
    sink_->OnNotification(n);
  }
}

void Engine::CloseIncident(uint32_t slot, EventTime t) {
  Incident& inc = Inc(slot);
  if (inc.notified) Notify(inc, NotifyAction::kResolve, "resolve", t);
  inc.state = IncidentState::kClosed;
  ++stats_.incidents_closed;
  inc.joined_groups.push_back(inc.group_hash);
  for (uint64_t hash : inc.joined_groups) {
    auto group = groups_.find(hash);
    NG_CHECK(group != groups_.end());
    auto& v = group->second;
    auto pos = std::find(v.begin(), v.end(), slot);
    NG_CHECK(pos != v.end());
    v.erase(pos);
    if (v.empty()) groups_.erase(group);
  }
  inc.joined_groups.clear();
  open_order_.erase(std::find(open_order_.begin(), open_order_.end(), slot));
  for (const std::string& trace : inc.traces) {
    auto it = traces_.find(trace);
    if (it != traces_.end() && it->second.first == slot) traces_.erase(it);
  }
  inc.traces.clear();
  inc.places.clear();
  inc.evidence.clear();
  inc.members.clear();
  inc.members.shrink_to_fit();
  inc.targets.clear();
  inc.targets.shrink_to_fit();
  free_incidents_.push_back(slot);
}

EventTime Engine::SurgeEnds(const FpState& st) const {
  return log_rates_[st.log_rate].last_above + rules_->logs.surge.quiet_for;
}

EventTime Engine::ExpiryOf(const FpState& st) const {
  const rules::CompiledRules& rules = *rules_;
  EventTime e = st.last_seen + rules.state.retention;
  // Flapping counts the changes within `within`: older ones never count again.
  if (rules.dedup.flapping.changes > 0 && st.nchanges > 0) {
    e = std::max(e, st.last_change + rules.dedup.flapping.within);
  }
  if (st.kind == SignalKind::kLog && st.log_rate != kNone) {
    const rules::SurgeRule& surge = rules.logs.surge;
    // Within warm-up a signal learns its mean rate (LogRate::weight); dropped and seen again
    // it would start that over from its next line.
    if (first_record_ != kMinTime) e = std::max(e, first_record_ + surge.warmup);
    const LogRate& rate = log_rates_[st.log_rate];
    int64_t width = std::max<int64_t>(1, surge.within.count() / 4);
    double alpha = std::min(
        1.0, static_cast<double>(width) / std::max<int64_t>(1, surge.baseline_window.count()));
    // Every counted line has left the window ...
    EventTime quiet = st.last_seen + Millis{surge.within.count() + width};
    e = std::max(e, quiet);
    // ... and the baseline, with those lines folded in, has decayed so far that starting
    // again from zero moves the surge threshold by less than 1e-6 lines.
    // (Bias-corrected as LogRate::Baseline is, by at least the weight of one more fold.)
    double b = (rate.baseline + rate.Recent() * alpha) / (rate.weight * (1 - alpha) + alpha);
    double eps = 1e-6 / (4 * std::max(surge.over_baseline, 1e-9));
    if (b > eps) {
      int64_t steps = 1;
      if (alpha < 1)
        steps = static_cast<int64_t>(std::ceil(std::log(eps / b) / std::log1p(-alpha)));
      e = std::max(e, quiet + Millis{std::min<int64_t>(steps, INT64_MAX / 4 / width) * width});
    }
  }
  return e;
}

void Engine::ScheduleExpiry(uint32_t slot) {
  FpState& st = Fp(slot);
  if (st.timer_at != kMaxTime && st.timer_at > watermark_) return;  // it re-arms when due
  Schedule(TimerKind::kFingerprint, slot, ExpiryOf(st));
}

void Engine::Evict(uint32_t slot) {
  FpState& st = Fp(slot);
  NG_CHECK(!source_of_.contains(slot));  // only firing signals are inhibition sources
  fp_index_.Erase(st.fp, slot);
  flap_history_.erase(slot);
  held_.erase(slot);
  if (st.log_rate != kNone) {
    log_rates_[st.log_rate] = LogRate{};
    free_log_rates_.push_back(st.log_rate);
  }
  const uint32_t generation = st.generation + 1;  // its queued timers are stale from now on
  st = FpState{};
  st.generation = generation;
  st.member = kFreeMember;
  ++stats_.fingerprints_expired;
}

void Engine::NoteVersion(const Record& r, EventTime t) {
  std::string_view version = r.labels.Get("version");
  std::string_view service = r.labels.Get("service");
  if (version.empty() || service.empty()) return;
  scratch_.assign(service);
  scratch_.push_back('\0');
  scratch_.append(version);
  if (versions_first_record_ == kMinTime) versions_first_record_ = t;
  // The first time each (service, version) shows up. Versions seen in the engine's first
  // moments were running before it started: they carry no deploy evidence. One not seen for
  // state.version_retention counts as new when it comes back.
  const Millis retention = rules_->state.version_retention;
  auto [it, inserted] = versions_.try_emplace(scratch_, VersionSeen{t, t});
  if (!inserted) {
    if (t - it->second.last >= retention) it->second.first = t;
    it->second.last = std::max(it->second.last, t);
  }
  // Forgotten pairs are never read (VersionFirstSeen checks the time): the sweep only frees
  // their memory, so when it runs changes no decision.
  if (t >= next_version_sweep_) {
    absl::erase_if(versions_, [&](const auto& v) { return t - v.second.last >= retention; });
    next_version_sweep_ = t + std::max<Millis>(retention / 4, Millis{60'000});
  }
}

std::optional<EventTime> Engine::VersionFirstSeen(const std::string& key, EventTime t) const {
  auto v = versions_.find(key);
  if (v == versions_.end() || t - v->second.last >= rules_->state.version_retention) {
    return std::nullopt;
  }
  return v->second.first;
}

void Engine::RememberTrace(const Record& r, uint32_t slot) {
  if (r.trace_id.empty()) return;
  Incident& inc = Inc(slot);
  if (inc.traces.size() >= kMaxTraces) return;
  auto [it, inserted] = traces_.try_emplace(r.trace_id, slot, inc.generation);
  if (inserted) inc.traces.push_back(r.trace_id);
}

uint32_t Engine::IncidentOfTrace(const Record& r) {
  if (r.trace_id.empty() || traces_.empty()) return kNone;
  auto it = traces_.find(r.trace_id);
  if (it == traces_.end()) return kNone;
  const Incident& inc = incidents_[it->second.first];
  if (inc.generation != it->second.second || inc.state == IncidentState::kClosed) return kNone;
  return it->second.first;
}

namespace {

// How a place is written in an incident and its evidence: node="node-1".
std::string PlaceKey(std::string_view label, std::string_view value) {
  std::string key(label);
  key += "=\"";
  key += value;
  key += '"';
  return key;
}

// What a signal is called in evidence: its service, else its alertname (a member: else its
// log template).
std::string_view SignalName(std::string_view service, std::string_view name) {
  if (!service.empty()) return service;
  return name.empty() ? std::string_view("a signal") : name;
}
std::string_view SignalName(const RecordLabels& labels) {
  return SignalName(labels.Get("service"), labels.Get("alertname"));
}
std::string_view SignalName(const Member& m) { return SignalName(m.service(), m.name()); }

}  // namespace

uint32_t Engine::FindColocated(const RecordLabels& labels, const rules::CorrelateRule& rule,
                               EventTime t, size_t* place, std::string* tie) const {
  for (const std::string& label : rule.colocated_labels) {
    std::string_view value = labels.Get(label);
    if (value.empty()) continue;
    const std::string key = PlaceKey(label, value);
    for (uint32_t slot : open_order_) {
      const Incident& inc = incidents_[slot];
      if (!TakesSignals(inc)) continue;
      for (size_t i = 0; i < inc.places.size(); ++i) {
        const Place& p = inc.places[i];
        if (p.key != key || t < p.first || t - p.first > rule.colocated_within) continue;
        *place = i;
        *tie = "place: " + std::string(SignalName(labels)) + " began " +
               std::to_string((t - p.first).count() / 1000) + "s after " +
               std::string(SignalName(inc.members[p.member])) + " on " + key + " (join_colocated)";
        return slot;
      }
    }
  }
  return kNone;
}

void Engine::NotePlaces(Incident& inc, uint32_t member, const RecordLabels& labels,
                        const rules::CorrelateRule& rule, EventTime t) {
  for (const std::string& label : rule.colocated_labels) {
    if (inc.places.size() >= kMaxPlaces) return;
    std::string_view value = labels.Get(label);
    if (value.empty()) continue;
    std::string key = PlaceKey(label, value);
    bool known = false;
    for (const Place& p : inc.places) known = known || p.key == key;
    if (!known) inc.places.push_back(Place{std::move(key), t, member});
  }
}

void Engine::AddEvidence(Incident& inc, std::string text) {
  if (inc.evidence.size() >= 10) return;
  for (const std::string& e : inc.evidence) {
    if (e == text) return;
  }
  inc.evidence.push_back(std::move(text));
}

void Engine::Finish() {
  // Send what group_wait holds back, at the time it was due.
  std::vector<uint32_t> pending;
  for (uint32_t slot : open_order_) {
    const Incident& inc = incidents_[slot];
    if (inc.state == IncidentState::kPending && inc.rule >= 0) pending.push_back(slot);
  }
  auto due_of = [&](uint32_t slot) {
    const Incident& inc = incidents_[slot];
    return inc.opened + rules_->correlate[inc.rule].group_wait;
  };
  std::stable_sort(pending.begin(), pending.end(),
                   [&](uint32_t a, uint32_t b) { return due_of(a) < due_of(b); });
  for (uint32_t slot : pending) {
    Incident& inc = Inc(slot);
    EventTime due = inc.opened + rules_->correlate[inc.rule].group_wait;
    inc.state = IncidentState::kOpen;
    InhibitAtNotify(inc);
    const EventTime at = std::max(due, watermark_);
    // (A firing_for may come due by then.)
    if (rules_->page.timed && inc.route != rules::Action::kPage) RecomputeRoute(inc, at);
    if (inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      Notify(inc, NotifyAction::kTrigger, "open", at);
    }
  }
}

}  // namespace noisegate::dedup

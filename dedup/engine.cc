// Engine: construction, stats, and the path of each record: its fingerprint, its dedup,
// flapping and surge state, the drop rules, and whether it joins the incident it is in or is
// muted or correlated. The rest of the engine: muting (engine_muting.cc), correlation and
// membership (engine_incidents.cc), timers and the incident lifecycle (engine_timers.cc),
// evidence (engine_evidence.cc), checkpoints (snapshot.cc, state_entries.cc).
#include "dedup/engine.h"

#include <algorithm>
#include <cmath>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dedup/check.h"
#include "dedup/engine_state.h"
#include "dedup/log_template.h"
#include "dedup/record_labels.h"

namespace noisegate::dedup {

namespace {

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

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
  for (const auto& [id, rs] : runtime_silences_) s.silences += rs.silence.ends > watermark_ ? 1 : 0;
  return s;
}

std::vector<const Incident*> Engine::OpenIncidents() const {
  std::vector<const Incident*> out;
  for (uint32_t slot : open_order_) out.push_back(&incidents_[slot]);
  return out;
}

void Engine::Process(const Record& r) {
  DecisionEvent ev;
  ev.record = &r;
  ev.late = watermark_ != kMinTime && r.time < watermark_ - rules_->allowed_lateness;
  if (ev.late) ++stats_.late;
  ++stats_.records;
  if (first_record_ == kMinTime) first_record_ = r.time;
  AdvanceWatermark(r.time);
  if (r.kind == SignalKind::kSilence) {
    ApplySilence(r);
    return;
  }

  RecordLabels labels(r, rules_->topology);
  if (r.kind == SignalKind::kAlert) {
    ProcessAlert(r, labels, ev);
  } else {
    ProcessLog(r, labels, ev);
  }
  ev.name = r.kind == SignalKind::kAlert ? r.labels.Get("alertname") : labels.log_template;
  sink_->OnDecision(ev);
}

void Engine::AdvanceWatermark(EventTime t) {
  if (t <= watermark_) return;
  if (!timers_.empty() && timers_.top().at <= t) FireTimersUpTo(t);
  watermark_ = t;
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

Fingerprint Engine::AlertFingerprint(const Record& r, KeyBuilder* key) const {
  key->Begin(SignalKind::kAlert);
  bool override_fp = r.input >= 0 && static_cast<size_t>(r.input) < input_fp_override_.size() &&
                     input_fp_override_[r.input];
  key->AppendLabels(r.labels, override_fp ? input_fp_labels_[r.input] : alert_fp_labels_);
  return key->Hash();
}

void Engine::ProcessAlert(const Record& r, RecordLabels& labels, DecisionEvent& ev) {
  const rules::CompiledRules& rules = *rules_;
  Fingerprint fp = AlertFingerprint(r, &key_);
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
    ev.runtime_silence = s->runtime;
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

}  // namespace noisegate::dedup

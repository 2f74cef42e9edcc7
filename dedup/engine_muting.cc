// Engine: muting. Silences and time intervals, and inhibition: which firing signals are
// sources (by rule and equal-label hash), which source mutes a signal, and members attached
// to the source's incident while they are inhibited.
#include <algorithm>

#include "dedup/engine.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dedup/check.h"
#include "dedup/codec.h"
#include "dedup/engine_state.h"
#include "dedup/page_policy.h"
#include "dedup/record_labels.h"
#include "rules/runtime_silence.h"

namespace noisegate::dedup {

uint64_t InhibitEqualHash(uint64_t seed, const std::vector<std::string>& equal,
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

bool Engine::SilenceMutes(const rules::Silence& s, const RecordLabels& labels, EventTime t) const {
  if (t < s.starts || t >= s.ends) return false;
  if (!s.time_intervals.empty()) {
    bool inside = false;
    for (int ti : s.time_intervals) inside |= rules_->time_intervals[ti].Contains(t);
    if (!inside) return false;
  }
  return s.matchers.Matches(labels);
}

const rules::Silence* Engine::MatchSilence(const RecordLabels& labels, EventTime t) const {
  for (const rules::Silence& s : rules_->silences) {
    if (SilenceMutes(s, labels, t)) return &s;
  }
  for (const auto& [id, rs] : runtime_silences_) {
    if (SilenceMutes(rs.silence, labels, t)) return &rs.silence;
  }
  return nullptr;
}

std::vector<const rules::Silence*> Engine::SilencesMatching(const RecordLabels& labels,
                                                            EventTime t) const {
  std::vector<const rules::Silence*> out;
  for (const rules::Silence& s : rules_->silences) {
    if (SilenceMutes(s, labels, t)) out.push_back(&s);
  }
  for (const auto& [id, rs] : runtime_silences_) {
    if (SilenceMutes(rs.silence, labels, t)) out.push_back(&rs.silence);
  }
  return out;
}

void Engine::ApplySilence(const Record& r) {
  if (r.silence == nullptr) return;
  // Ended silences never match again (matching is at or after the watermark): forget them.
  std::erase_if(runtime_silences_,
                [&](const auto& e) { return e.second.silence.ends <= watermark_; });
  // (The decoder refuses what does not compile; a foreign record that does not mutes nothing.)
  Result<rules::Silence> compiled = rules::CompileSilence(*r.silence);
  if (!compiled || compiled->ends <= watermark_) {
    // Expired (or unusable): the id's earlier version stops muting too.
    runtime_silences_.erase(r.silence->id);
    return;
  }
  RuntimeSilence& rs = runtime_silences_[r.silence->id];
  rs.spec = r.silence;
  rs.silence = std::move(compiled).value();
}

void Engine::SaveSilences(Writer& w) const {
  size_t n = 0;
  for (const auto& [id, rs] : runtime_silences_) n += rs.silence.ends > watermark_ ? 1 : 0;
  w.Var(n);
  for (const auto& [id, rs] : runtime_silences_) {
    if (rs.silence.ends > watermark_) EncodeSilence(*rs.spec, w);
  }
}

void Engine::LoadSilences(Reader& rd) {
  uint64_t n = rd.Count(8);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    std::shared_ptr<const SilenceSpec> spec = DecodeSilence(rd);
    if (!rd.ok()) return;
    Result<rules::Silence> compiled = rules::CompileSilence(*spec);
    if (!compiled) continue;
    RuntimeSilence& rs = runtime_silences_[spec->id];
    rs.spec = std::move(spec);
    rs.silence = std::move(compiled).value();
  }
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

void Engine::UpdateInhibitSources(uint32_t fp_slot, const RecordLabels* labels, bool firing) {
  const auto& rules = rules_->inhibit;
  if (firing) {
    const bool log = fps_[fp_slot].kind == SignalKind::kLog;
    for (size_t i = 0; i < rules.size(); ++i) {
      if ((log && !rules[i].log_sources) || !rules[i].source.Matches(*labels)) continue;
      uint64_t h = InhibitEqualHash(inhibit_seed_[i], rules[i].equal, *labels);
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
    auto it = inhibit_sources_.find(InhibitEqualHash(inhibit_seed_[i], rules[i].equal, labels));
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

}  // namespace noisegate::dedup

// Engine checkpoints: the whole state of one engine as bytes (a rules reload, tests, and the
// changelog of noisegate before per-entry checkpoints), and the parts of the state that the
// per-entry changelog (dedup/state_entries.cc) shares with it: the names the state's indexes
// stand for, the open-incident indexes, versions and traces. The layout is private to
// noisegate and versioned.
#include <xxhash.h>

#include <algorithm>
#include <span>

#include "dedup/codec.h"
#include "dedup/engine.h"
#include "dedup/engine_state.h"
#include "dedup/log_template.h"
#include "dedup/page_policy.h"
#include "dedup/state_codec.h"

namespace noisegate::dedup {
namespace {

constexpr uint64_t kMagic = 0x3174617473676e;  // "ngstat1"
// Version 2 adds expired fingerprint slots, free log rates and when versions were last seen.
// Version 3 replaces the rules digest with the names the state's indexes stand for, so state
// survives a rules change. Version 4 adds each log rate's bias weight and when it was last
// at the surge threshold, and the log identity. Version 5 adds the page.when clauses each
// member matches, and a digest of page.when. Version 6 adds the places where an incident's
// signals began (join_colocated). Version 7 adds when a member that fired again last began
// firing (page.when's firing_for). Version 8 has the same layout, but log signals may be
// inhibition sources, which a build that reads at most 7 would never remove. Version 9 adds the
// runtime silences; version 10 the runbook and image links and routing labels of detailed
// members, and an incident's routing key (flag bits, which a build that reads at most 9 would
// not know). Versions 1 and 2 are still
// read (under unchanged rules), 3 to 9 as is.
constexpr uint32_t kVersion = 10;

// Versions 1 and 2: everything in the rules that engine state points into by index or hashes
// into keys; the state only loads under rules with the same digest.
// `logs_fingerprint`, when given, stands for the rules' logs.fingerprint.
uint64_t LegacyRulesDigest(const rules::CompiledRules& r,
                           const std::vector<std::string>* logs_fingerprint = nullptr) {
  std::string d;
  Writer w(&d);
  auto list = [&](const std::vector<std::string>& v) {
    w.Var(v.size());
    for (const std::string& s : v) w.Str(s);
  };
  w.Var(r.inputs.size());
  for (const rules::InputRule& in : r.inputs) {
    w.Str(in.topic);
    w.Str(in.format);
    w.Bool(in.fingerprint.has_value());
    if (in.fingerprint) list(*in.fingerprint);
  }
  w.Var(r.topology.size());
  for (size_t i = 0; i < r.topology.size(); ++i) w.Str(r.topology.node(static_cast<int>(i)).name);
  list(r.dedup.fingerprint);
  list(logs_fingerprint != nullptr ? *logs_fingerprint : r.logs.fingerprint);
  w.Var(r.inhibit.size());
  for (const rules::InhibitRule& in : r.inhibit) {
    w.Str(in.name);
    list(in.equal);
  }
  w.Var(r.correlate.size());
  for (const rules::CorrelateRule& c : r.correlate) {
    w.Str(c.name);
    list(c.group_by);
  }
  return XXH3_64bits(d.data(), d.size());
}

// The default logs.fingerprint before namespace and cluster joined it: state written under
// it loads under today's default, its log signals learned again (a new log identity).
const std::vector<std::string> kThenDefaultLogs{"service", "error_type"};

// What decides alert fingerprints: when it changes, the same alert gets another fingerprint.
// Up to state version 3 it covered the log identity too (`legacy_logs`: the labels to take
// for logs.fingerprint; null for the rules' own); from version 4 that is LogIdentityDigest.
uint64_t FingerprintDigest(const rules::CompiledRules& r, bool legacy,
                           const std::vector<std::string>* legacy_logs = nullptr) {
  std::string d;
  Writer w(&d);
  auto list = [&](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    w.Var(v.size());
    for (const std::string& s : v) w.Str(s);
  };
  list(r.dedup.fingerprint);
  if (legacy) {
    list(legacy_logs != nullptr ? *legacy_logs : r.logs.fingerprint);
    w.Bool(r.logs.template_auto);
  }
  std::vector<const rules::InputRule*> inputs;
  for (const rules::InputRule& in : r.inputs) inputs.push_back(&in);
  std::sort(inputs.begin(), inputs.end(),
            [](const auto* a, const auto* b) { return a->topic < b->topic; });
  for (const rules::InputRule* in : inputs) {
    w.Str(in->topic);
    w.Str(in->format);
    w.Bool(in->fingerprint.has_value());
    if (in->fingerprint) list(*in->fingerprint);
  }
  return XXH3_64bits(d.data(), d.size());
}

// What log signals are keyed by: the labels, whether messages become templates, and how
// (the template scheme). A state written under another log identity has signals that new
// lines never reach again.
uint64_t LogIdentityDigest(const rules::CompiledRules& r, uint32_t scheme,
                           const std::vector<std::string>* labels_instead = nullptr) {
  std::string d;
  Writer w(&d);
  std::vector<std::string> labels =
      labels_instead != nullptr ? *labels_instead : r.logs.fingerprint;
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  w.Var(labels.size());
  for (const std::string& s : labels) w.Str(s);
  w.Bool(r.logs.template_auto);
  // (Under `omit` the template is no part of a signal's key: its scheme does not matter.)
  w.Var(r.logs.template_auto && r.logs.template_in_key ? scheme : 0);
  if (!r.logs.template_in_key) w.Str("omit");  // (absent before `omit` existed)
  return XXH3_64bits(d.data(), d.size());
}

// Old index -> new index (-1: gone) of one kind of rule element, matched by key.
template <typename Key>
std::vector<int> MatchByKey(const std::vector<Key>& old_keys, const std::vector<Key>& new_keys) {
  std::vector<int> map(old_keys.size(), -1);
  for (size_t i = 0; i < old_keys.size(); ++i) {
    auto it = std::find(new_keys.begin(), new_keys.end(), old_keys[i]);
    if (it != new_keys.end()) map[i] = static_cast<int>(it - new_keys.begin());
  }
  return map;
}

int Remapped(const std::vector<int>& map, int old) {
  return old >= 0 && static_cast<size_t>(old) < map.size() ? map[old] : -1;
}

}  // namespace

void Engine::SaveIdentity(Writer& w) const {
  // What the indexes in the state stand for, and the hash seeds of the rules that key it.
  w.Var(rules_->inputs.size());
  for (const rules::InputRule& in : rules_->inputs) w.Str(in.topic);
  w.Var(rules_->topology.size());
  for (size_t i = 0; i < rules_->topology.size(); ++i) {
    w.Str(rules_->topology.node(static_cast<int>(i)).name);
  }
  w.Var(rules_->inhibit.size());
  for (size_t i = 0; i < rules_->inhibit.size(); ++i) {
    w.U64(InhibitIdentity(rules_->inhibit[i]));
    w.U64(inhibit_seed_[i]);
  }
  w.Var(rules_->correlate.size());
  for (size_t i = 0; i < rules_->correlate.size(); ++i) {
    w.Str(rules_->correlate[i].name);
    w.U64(correlate_seed_[i]);
  }
  w.U64(FingerprintDigest(*rules_, /*legacy=*/false));
  w.Time(refresh_before_);
  w.Time(watermark_);
  w.Time(first_record_);
  w.Var(stats_.records);
  w.Var(stats_.late);
  w.Var(stats_.incidents_opened);
  w.Var(stats_.incidents_closed);
  w.U64(LogIdentityDigest(*rules_, kTemplateScheme));
  w.U64(PageWhenDigest(rules_->page));
}

Status Engine::LoadIdentity(Reader& rd, uint64_t version, RuleRemap* remap) {
  auto identity = [](size_t n) {
    std::vector<int> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<int>(i);
    return v;
  };
  // Whether the state was written under the default logs.fingerprint of its day, now another
  // (versions before 4 only: from 4 the log identity is a digest of its own).
  const bool default_logs = rules_->logs.fingerprint == rules::LogRule{}.fingerprint;
  bool then_default_logs = false;
  if (version <= 2) {
    const uint64_t digest = rd.U64();
    then_default_logs = default_logs && digest != LegacyRulesDigest(*rules_) &&
                        digest == LegacyRulesDigest(*rules_, &kThenDefaultLogs);
    if (digest != LegacyRulesDigest(*rules_) && !then_default_logs) {
      return MakeError(ErrorCode::kParse,
                       "engine state: written by an older noisegate under different rules "
                       "(inputs, topology, inhibit or correlate rules changed); it loads only "
                       "under the same rules");
    }
    remap->input = identity(rules_->inputs.size());
    remap->node = identity(rules_->topology.size());
    remap->inhibit = identity(rules_->inhibit.size());
    remap->correlate = identity(rules_->correlate.size());
    // Those versions seeded group and inhibition keys with rule positions.
    for (size_t i = 0; i < inhibit_seed_.size(); ++i) inhibit_seed_[i] = i;
    for (size_t i = 0; i < correlate_seed_.size(); ++i) correlate_seed_[i] = i;
  } else {
    std::vector<std::string> old_inputs, new_inputs, old_nodes, new_nodes, old_rules, new_rules;
    std::vector<uint64_t> old_inhibit, new_inhibit, inhibit_seeds, correlate_seeds;
    uint64_t n = rd.Count(1);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) old_inputs.emplace_back(rd.Str());
    n = rd.Count(1);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) old_nodes.emplace_back(rd.Str());
    n = rd.Count(16);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      old_inhibit.push_back(rd.U64());
      inhibit_seeds.push_back(rd.U64());
    }
    n = rd.Count(9);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      old_rules.emplace_back(rd.Str());
      correlate_seeds.push_back(rd.U64());
    }
    const uint64_t digest = rd.U64();
    if (version >= 4) {
      remap->fingerprints_changed = digest != FingerprintDigest(*rules_, false);
    } else {
      then_default_logs = default_logs && digest != FingerprintDigest(*rules_, true) &&
                          digest == FingerprintDigest(*rules_, true, &kThenDefaultLogs);
      remap->fingerprints_changed =
          digest != FingerprintDigest(*rules_, true) && !then_default_logs;
    }
    refresh_before_ = rd.Time();
    if (!rd.ok()) return MakeError(ErrorCode::kParse, "engine state: cut short in the rule names");
    for (const rules::InputRule& in : rules_->inputs) new_inputs.push_back(in.topic);
    for (size_t i = 0; i < rules_->topology.size(); ++i) {
      new_nodes.push_back(rules_->topology.node(static_cast<int>(i)).name);
    }
    for (const rules::InhibitRule& in : rules_->inhibit) new_inhibit.push_back(InhibitIdentity(in));
    for (const rules::CorrelateRule& c : rules_->correlate) new_rules.push_back(c.name);
    remap->input = MatchByKey(old_inputs, new_inputs);
    remap->node = MatchByKey(old_nodes, new_nodes);
    remap->inhibit = MatchByKey(old_inhibit, new_inhibit);
    remap->correlate = MatchByKey(old_rules, new_rules);
    // A rule that stays keeps the seed its keys were made with, wherever it now stands.
    for (size_t i = 0; i < remap->inhibit.size(); ++i) {
      if (remap->inhibit[i] >= 0) inhibit_seed_[remap->inhibit[i]] = inhibit_seeds[i];
    }
    for (size_t i = 0; i < remap->correlate.size(); ++i) {
      if (remap->correlate[i] >= 0) correlate_seed_[remap->correlate[i]] = correlate_seeds[i];
    }
  }
  watermark_ = rd.Time();
  first_record_ = rd.Time();
  stats_.records = rd.Var();
  stats_.late = rd.Var();
  stats_.incidents_opened = rd.Var();
  stats_.incidents_closed = rd.Var();
  // State written before the digest was kept (versions 1 to 3) used the first scheme, and
  // the labels of its day's default when it matched that.
  const uint64_t logs =
      version >= 4 ? rd.U64()
                   : LogIdentityDigest(*rules_, 1, then_default_logs ? &kThenDefaultLogs : nullptr);
  remap->log_identity_changed = logs != LogIdentityDigest(*rules_, kTemplateScheme);
  // Before version 4 one digest covered alerts and logs: when it differs, the log identity
  // may have changed too (learning again only costs warm-up).
  if (version < 4 && remap->fingerprints_changed) remap->log_identity_changed = true;
  // Clause bits are kept from version 5; before, members have none.
  if (version >= 5) remap->page_when_changed = rd.U64() != PageWhenDigest(rules_->page);
  return {};
}

void Engine::SaveOpenIndexes(Writer& w) const {
  w.Var(free_incidents_.size());
  for (uint32_t s : free_incidents_) w.Var(s);
  w.Var(open_order_.size());
  for (uint32_t s : open_order_) w.Var(s);
  w.Var(groups_.size());
  for (const auto& [h, slots] : groups_) {
    w.U64(h);
    w.Var(slots.size());
    for (uint32_t s : slots) w.Var(s);
  }
  w.Var(inhibit_sources_.size());
  for (const auto& [h, sources] : inhibit_sources_) {
    w.U64(h);
    w.Var(sources.size());
    for (const InhibitSource& s : sources) {
      w.Var(s.slot);
      w.Bool(s.both);
    }
  }
  w.Var(source_of_.size());
  for (const auto& [slot, hashes] : source_of_) {
    w.Var(slot);
    w.Var(hashes.size());
    for (uint64_t h : hashes) w.U64(h);
  }
}

void Engine::LoadOpenIndexes(Reader& rd, size_t incidents, size_t fps) {
  auto slots = [&](std::vector<uint32_t>* v, uint64_t limit) {
    uint64_t k = rd.Count(1);
    for (uint64_t i = 0; i < k && rd.ok(); ++i) {
      uint64_t s = rd.Var();
      if (s >= limit) rd.Fail();
      v->push_back(static_cast<uint32_t>(s));
    }
  };
  slots(&free_incidents_, incidents);
  slots(&open_order_, incidents);
  uint64_t n = rd.Count(9);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) slots(&groups_[rd.U64()], incidents);
  n = rd.Count(9);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    std::vector<InhibitSource>& v = inhibit_sources_[rd.U64()];
    uint64_t k = rd.Count(2);
    for (uint64_t j = 0; j < k && rd.ok(); ++j) {
      uint64_t s = rd.Var();
      if (s >= fps) rd.Fail();
      v.push_back(InhibitSource{static_cast<uint32_t>(s), rd.Bool()});
    }
  }
  n = rd.Count(2);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    std::vector<uint64_t>& v = source_of_[static_cast<uint32_t>(rd.Var())];
    uint64_t k = rd.Count(8);
    for (uint64_t j = 0; j < k && rd.ok(); ++j) v.push_back(rd.U64());
  }
}

void Engine::SaveVersionsAndTraces(Writer& w) const {
  w.Var(versions_.size());
  for (const auto& [v, seen] : versions_) {
    w.Str(v);
    w.Time(seen.first);
    w.Time(seen.last);
  }
  w.Time(versions_first_record_);
  w.Time(next_version_sweep_);
  w.Var(traces_.size());
  for (const auto& [trace, where] : traces_) {
    w.Str(trace);
    w.Var(where.first);
    w.Var(where.second);
  }
}

void Engine::LoadVersionsAndTraces(Reader& rd, uint64_t version) {
  uint64_t n = rd.Count(2);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    std::string v(rd.Str());
    VersionSeen& seen = versions_[std::move(v)];
    seen.first = rd.Time();
    // Version 1 did not say when a pair was last seen: it is taken as seen now.
    seen.last = version >= 2 ? rd.Time() : watermark_;
  }
  versions_first_record_ = rd.Time();
  if (version >= 2) next_version_sweep_ = rd.Time();
  n = rd.Count(3);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    std::string trace(rd.Str());
    auto slot = static_cast<uint32_t>(rd.Var());
    auto gen = static_cast<uint32_t>(rd.Var());
    traces_[std::move(trace)] = {slot, gen};
  }
}

Status Engine::FinishLoad(const RuleRemap& remap, uint64_t version) {
  auto corrupt = [](const char* what) {
    return MakeError(ErrorCode::kParse, std::string("engine state: ") + what);
  };
  for (const FpState& st : fps_) {
    if ((st.incident != kNone && st.incident >= incidents_.size()) ||
        (st.log_rate != kNone && st.log_rate >= log_rates_.size())) {
      return corrupt("fingerprint points past the incidents or log rates");
    }
    if (st.incident != kNone && st.member >= 0) {
      const Incident& inc = incidents_[st.incident];
      if (inc.generation == st.incident_generation && inc.state != IncidentState::kClosed &&
          static_cast<size_t>(st.member) >= inc.members.size()) {
        return corrupt("fingerprint points past its incident's members");
      }
    }
  }
  for (const auto& [trace, where] : traces_) {
    if (where.first >= incidents_.size()) return corrupt("trace points past the incidents");
  }
  for (const auto& [slot, hashes] : source_of_) {
    if (slot >= fps_.size()) return corrupt("inhibition source points past the fingerprints");
  }
  if (version == 1) {
    // Written before state expired: arm the expiry of every inert fingerprint.
    for (uint32_t slot = 0; slot < fps_.size(); ++slot) {
      if (!fps_[slot].firing && !fps_[slot].flapping) ScheduleExpiry(slot);
    }
  }
  // Indexes into the rules the state was written under, to indexes into these rules.
  for (Incident& inc : incidents_) {
    inc.rule = Remapped(remap.correlate, inc.rule);
    for (Member& m : inc.members) {
      m.component = Remapped(remap.node, m.component);
      m.culprit = Remapped(remap.node, m.culprit);
      if (remap.page_when_changed) {
        // What a member paged by its bits (alone, or with others toward an entry) keeps
        // paging as if it paged alone: an incident that paged keeps paging until it closes.
        if (inc.route == rules::Action::kPage && !m.inhibited && m.clauses != 0) m.pages = true;
        m.clauses = 0;
      }
    }
    std::vector<int> impacted;
    for (int node : inc.impacted) {
      if (int now = Remapped(remap.node, node); now >= 0) impacted.push_back(now);
    }
    std::sort(impacted.begin(), impacted.end());
    inc.impacted = std::move(impacted);
    for (InhibitTarget& t : inc.targets) {
      int now = Remapped(remap.inhibit, static_cast<int>(t.rule));
      t.member = now < 0 ? UINT32_MAX : t.member;  // marks it for removal
      t.rule = static_cast<uint32_t>(std::max(now, 0));
    }
    std::erase_if(inc.targets, [](const InhibitTarget& t) { return t.member == UINT32_MAX; });
  }
  for (auto& [slot, r] : held_) r.input = Remapped(remap.input, r.input);
  // Entries written under the old rules hold the old indexes: every one is written again.
  if (tracking_ && remap.changed()) TrackChanges(/*all=*/true);
  // An open incident whose rule is gone closes at the next event time, with its resolve.
  for (uint32_t slot : open_order_) {
    if (incidents_[slot].rule < 0) ScheduleIncident(slot);
  }
  if (rules_->page.timed) {
    // A firing_for added or shortened by these rules may be met already, or come due before
    // the timer the state says. (Under the rules it was written with, neither happens.)
    for (uint32_t slot : open_order_) {
      const Incident& inc = incidents_[slot];  // (Inc() only where it changes)
      if (inc.rule < 0 || inc.state == IncidentState::kClosed ||
          inc.route == rules::Action::kPage || inc.active_members == 0) {
        continue;
      }
      if (MetPageCondition(rules_->page, inc.members, watermark_) != -1) {
        RecomputeRoute(Inc(slot), watermark_);
        ScheduleIncident(slot);
      } else if (EventTime due = NextPageChange(rules_->page, inc.members, watermark_);
                 due < inc.scheduled) {
        Schedule(TimerKind::kIncident, slot, due);
      }
    }
  }
  if (remap.log_identity_changed && first_record_ != kMinTime) {
    // Every log line now reaches a new signal with no baseline: learn again before any may
    // surge, or every steady error would page at once.
    first_record_ = watermark_;
  }
  if (remap.fingerprints_changed) {
    // Alerts now arrive under other fingerprints: those firing under the old ones resolve
    // unless heard again (under the old one) within the grace.
    refresh_before_ = watermark_ + Millis{1};
    for (uint32_t slot = 0; slot < fps_.size(); ++slot) {
      const FpState& st = fps_[slot];
      if (st.firing && st.kind == SignalKind::kAlert) {
        Schedule(TimerKind::kFingerprint, slot, refresh_before_ + kRefreshGrace);
      }
    }
  }
  return {};
}

void Engine::SaveState(std::string* out) const {
  out->clear();
  Writer w(out);
  w.U64(kMagic);
  w.Var(kVersion);
  SaveIdentity(w);

  // Fingerprints, in slot order; the index is rebuilt from (fp, verify) in the same order.
  w.Var(fps_.size());
  for (const FpState& st : fps_) state_codec::PutFpFields(st, w);
  fp_index_.ForEachSlot([&](uint64_t verify, uint32_t next) {
    w.U64(verify);
    w.Var(next == FingerprintIndex::kNoSlot ? 0 : uint64_t{next} + 1);
  });
  w.Var(flap_history_.size());
  for (const auto& [slot, h] : flap_history_) {
    w.Var(slot);
    state_codec::PutFlapHistory(h, w);
  }
  w.Var(log_rates_.size());
  for (const LogRate& lr : log_rates_) state_codec::PutLogRate(lr, w);
  w.Var(free_log_rates_.size());
  for (uint32_t i : free_log_rates_) w.Var(i);

  w.Var(incidents_.size());
  for (const Incident& inc : incidents_) state_codec::PutIncident(inc, w);
  SaveOpenIndexes(w);
  w.Var(held_.size());
  for (const auto& [slot, r] : held_) {
    w.Var(slot);
    EncodeRecord(r, w);
  }
  SaveVersionsAndTraces(w);
  SaveSilences(w);
  auto timers = timers_;
  w.Var(timers.size());
  while (!timers.empty()) {
    const Timer& t = timers.top();
    w.Time(t.at);
    w.U8(static_cast<uint8_t>(t.kind));
    w.Var(t.slot);
    w.Var(t.generation);
    timers.pop();
  }
}

Status Engine::LoadState(std::string_view bytes) {
  auto corrupt = [](std::string what) {
    return MakeError(ErrorCode::kParse, "engine state: " + std::move(what));
  };
  Reader rd(bytes);
  if (rd.U64() != kMagic) return corrupt("not a noisegate state");
  const uint64_t version = rd.Var();
  if (version < 1 || version > kVersion) {
    return corrupt("format version " + std::to_string(version) + ", this build reads 1 to " +
                   std::to_string(kVersion));
  }
  RuleRemap remap;
  if (Status st = LoadIdentity(rd, version, &remap); !st) return st;

  uint64_t nfps = rd.Count(20);
  for (uint64_t i = 0; i < nfps && rd.ok(); ++i) {
    state_codec::GetFpFields(rd, &fps_.emplace_back());
  }
  std::vector<std::pair<uint64_t, uint32_t>> index(nfps);
  for (uint64_t i = 0; i < nfps && rd.ok(); ++i) {
    index[i].first = rd.U64();
    uint64_t next = rd.Var();
    if (next > nfps) rd.Fail();
    index[i].second = next == 0 ? FingerprintIndex::kNoSlot : static_cast<uint32_t>(next - 1);
  }
  if (!rd.ok()) return corrupt("cut short in fingerprints");
  fp_index_.Restore(fps_, index, [&](size_t i) { return fps_[i].free(); });

  uint64_t n = rd.Count(12);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    auto slot = static_cast<uint32_t>(rd.Var());
    state_codec::GetFlapHistory(rd, &flap_history_[slot]);
  }
  n = rd.Count(13);
  log_rates_.resize(n);
  for (LogRate& lr : log_rates_) state_codec::GetLogRate(rd, &lr, version >= 4);
  if (version < 4) {
    for (const FpState& st : fps_) {
      if (!st.free() && st.log_rate < log_rates_.size()) {
        log_rates_[st.log_rate].last_above = st.last_seen;
      }
    }
  }
  if (version >= 2) {
    n = rd.Count(1);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      uint64_t k = rd.Var();
      if (k >= log_rates_.size()) rd.Fail();
      free_log_rates_.push_back(static_cast<uint32_t>(k));
    }
  }

  n = rd.Count(30);
  incidents_.resize(n);
  for (Incident& inc : incidents_) {
    state_codec::GetIncident(rd, &inc);
    if (inc.rule >= static_cast<int>(remap.correlate.size())) rd.Fail();
    if (!rd.ok()) break;
  }
  LoadOpenIndexes(rd, incidents_.size(), nfps);
  n = rd.Count(10);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    auto slot = static_cast<uint32_t>(rd.Var());
    if (!DecodeRecord(rd, &held_[slot])) break;
  }
  LoadVersionsAndTraces(rd, version);
  if (version >= 9) LoadSilences(rd);
  n = rd.Count(4);
  for (uint64_t i = 0; i < n && rd.ok(); ++i) {
    Timer t;
    t.at = rd.Time();
    t.kind = static_cast<TimerKind>(rd.U8() & 1);
    t.slot = static_cast<uint32_t>(rd.Var());
    t.generation = static_cast<uint32_t>(rd.Var());
    if (t.slot >= (t.kind == TimerKind::kIncident ? incidents_.size() : nfps)) rd.Fail();
    timers_.push(t);
  }
  if (!rd.ok()) return corrupt("cut short or corrupt");
  if (!rd.done()) return corrupt("trailing bytes");
  return FinishLoad(remap, version);
}

}  // namespace noisegate::dedup

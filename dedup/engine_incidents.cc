// Engine: correlation and membership. Which open incident a signal joins (overlap of impacted
// services in its group, then the ties: topology, named culprits, co-location) or the incident
// it opens; members firing, resolving and counting toward page.when.
#include <algorithm>

#include "dedup/engine.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dedup/check.h"
#include "dedup/engine_state.h"
#include "dedup/page_policy.h"
#include "dedup/record_labels.h"

namespace noisegate::dedup {

namespace {

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

// When the incident's newest member joined it.
EventTime NewestOnset(const Incident& inc) {
  EventTime newest = inc.opened;
  for (const Member& m : inc.members) newest = std::max(newest, m.first_seen);
  return newest;
}

}  // namespace

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
  // With join_within, only while its newest member began at most that long ago (onset).
  auto in_group = [&](const Incident& inc) {
    return (inc.rule == rule_index && inc.group_hash == group_hash) ||
           std::find(inc.joined_groups.begin(), inc.joined_groups.end(), group_hash) !=
               inc.joined_groups.end();
  };
  auto recent = [&](const Incident& inc) {
    return rule.join_within.count() == 0 || NewestOnset(inc) + rule.join_within >= t;
  };
  auto takes = [&](const Incident& inc) {
    return TakesSignals(inc) && in_group(inc) && recent(inc);
  };
  // Evidence that ties the signal to an open incident other than `exclude` (and, with an
  // `exclude`, one that has not notified: the merges below take no other) when impacts do
  // not: topology, then named culprits (the first incident, in the order they opened, with a
  // member that `ties` accepts among those firing, inhibited ones included: inhibition mutes
  // a notification, not evidence; an incident waiting out close_after is over), then
  // co-location. Of this rule, only an incident of its group; of another rule, only through
  // the members inhibition attached to it (a node's incident holds the alerts of the pods
  // that ran there, which the callers' errors blame).
  // Sets the evidence, and for co-location the place.
  const int component = labels.component();
  const int culprit = labels.culprit;
  const rules::Topology& topo = rules.topology;
  // What of member `m` (its component, or what its message names) `subject` is or depends on
  // (topology, any depth), or -1. With the signal's culprit: the signal blames something the
  // member's incident holds.
  auto relates = [&topo](int subject, const Member& m) {
    if (subject < 0) return -1;
    for (int x : {m.culprit, m.component}) {
      if (x >= 0 && (x == subject || topo.DependsOn(subject, x))) return x;
    }
    return -1;
  };
  auto blamed_in = [&](const Member& m) { return relates(culprit, m); };
  // `blaming`: the tie is the signal's own errors naming a member.
  auto evidence_tie = [&](uint32_t exclude, std::string* tie, std::string* place, bool* blaming,
                          bool named_only = false) -> uint32_t {
    const Member* tied = nullptr;
    auto first_tied = [&](auto&& ties) {
      for (uint32_t c : open_order_) {
        const Incident& inc = incidents_[c];
        if (c == exclude || (exclude != kNone && inc.notified)) continue;
        const bool own = in_group(inc);
        const bool ok =
            own ? takes(inc) : inc.rule != rule_index && TakesSignals(inc) && recent(inc);
        if (!ok) continue;
        for (const Member& m : inc.members) {
          if (m.firing && (own || m.inhibited) && ties(m)) {
            tied = &m;
            return c;
          }
        }
      }
      return kNone;
    };
    // Topology: a member on a component the signal's own calls (the failure under one
    // user-facing service shows in another that calls it).
    if (!named_only && by_impact && rule.caller_hops > 0 && component >= 0) {
      const std::vector<int>& near = callees_[static_cast<size_t>(rule_index)][component];
      uint32_t c = first_tied([&near](const Member& m) {
        return m.component >= 0 && std::binary_search(near.begin(), near.end(), m.component);
      });
      if (c != kNone) {
        *tie = "topology: " + rules.topology.node(component).name + " calls " +
               rules.topology.node(tied->component).name +
               " (caller_hops: " + std::to_string(rule.caller_hops) + ")";
        return c;
      }
    }
    // Named culprits: a member on the component the signal's message names, or whose own
    // message names it (two services whose errors blame one database); or a member whose
    // message names the signal's own component (callers blamed it before its errors came);
    // or, weaker, a member on (or naming) what the signal's culprit depends on (a caller of a
    // service that the database outage breaks blames that service).
    if (by_impact && rule.join_named && (culprit >= 0 || component >= 0)) {
      // (The weaker tie is not for a merge: a far caller naming a top service depends on every
      // problem below it, which would fold them into one.)
      uint32_t c = first_tied([&](const Member& m) {
        return (culprit >= 0 && (m.component == culprit || m.culprit == culprit)) ||
               (!named_only && component >= 0 && m.culprit == component) ||
               (!named_only && exclude == kNone && blamed_in(m) >= 0);
      });
      if (c != kNone) {
        const std::string who = component >= 0 ? rules.topology.node(component).name
                                               : std::string(r.labels.Get("service"));
        const std::string whose = who.empty() ? std::string("its") : who + "'s";
        if (culprit >= 0 && (tied->component == culprit || tied->culprit == culprit)) {
          *blaming = true;
          *tie = "named: " + whose + " errors name " + rules.topology.node(culprit).name +
                 " (join_named)";
        } else if (component >= 0 && tied->culprit == component) {
          // The signal is what was blamed: not a victim.
          const std::string by = tied->component >= 0 ? rules.topology.node(tied->component).name
                                                      : std::string(tied->service());
          *tie = "named: " + (by.empty() ? std::string("earlier") : by + "'s") + " errors name " +
                 who + " (join_named)";
        } else {
          *blaming = true;
          *tie = "named: " + whose + " errors name " + rules.topology.node(culprit).name +
                 ", which depends on " + rules.topology.node(blamed_in(*tied)).name +
                 " (join_named)";
        }
        return c;
      }
    }
    // Co-location: a signal that began where a signal of an open incident (of any rule) began
    // shortly before. Many services failing together in one place point at the place (a node
    // or zone cut off), and the place's own alert, when it comes, joins them there.
    if (!named_only && !rule.colocated_labels.empty()) {
      return FindColocated(labels, rule, t, exclude, place, tie);
    }
    return kNone;
  };
  std::string tie;    // the evidence, when a tie chose the incident
  std::string place;  // the place, when co-location did
  bool blaming = false;
  // What a log line names is stronger evidence than overlapping impact: an incident with a
  // member on (or naming) its culprit comes first.
  uint32_t chosen = kNone;
  if (culprit >= 0) chosen = evidence_tie(kNone, &tie, &place, &blaming, /*named_only=*/true);
  // Overlapping impact is weak evidence: a signal whose errors name a component that nothing
  // of the incident touches, nor depends on, is another problem that hurts the same users (a
  // node cut off, its services timing out on healthy dependencies, during an outage). So is
  // an alert on such a component (a second backend going down during an outage); an alert of
  // a service that depends on what the incident holds (a symptom) still joins, and so does an
  // alert on what the members depend on while the incident, still pending, holds symptoms
  // alone (a 5xx alert of the frontend came before the database's own).
  // Change evidence: errors that name nothing, of a service whose version first showed up
  // shortly before (after another one), are the deploy's; they join by overlap only an
  // incident that holds that service or names it (its callers blamed it first), and where
  // they began is no evidence of a place.
  const bool deployed = r.kind == SignalKind::kLog && culprit < 0 && component >= 0 &&
                        rule.join_named && by_impact && FreshDeploy(r, t).has_value();
  // With join_named: the signal's subject (its culprit, or its own component for an alert or
  // a deploy's errors) and whether it concerns `inc`.
  const int subject =
      culprit >= 0 ? culprit : (r.kind == SignalKind::kAlert || deployed ? component : -1);
  const bool bounded = subject >= 0 && rule.join_named && by_impact;
  auto concerns = [&](const Incident& inc) {
    const auto& ms = inc.members;
    if (deployed) {
      return std::any_of(ms.begin(), ms.end(), [&](const Member& m) {
        return m.component == subject || m.culprit == subject;
      });
    }
    if (std::any_of(ms.begin(), ms.end(),
                    [&](const Member& m) { return relates(subject, m) >= 0; }))
      return true;
    if (r.kind != SignalKind::kAlert || inc.notified) return false;
    // Symptoms alone: no member names a culprit or is on a component users do not touch.
    const bool symptoms = std::none_of(ms.begin(), ms.end(), [&](const Member& m) {
      return m.culprit >= 0 || (m.component >= 0 && !topo.node(m.component).user_facing);
    });
    return symptoms && std::any_of(ms.begin(), ms.end(), [&](const Member& m) {
             return m.component >= 0 && topo.DependsOn(m.component, subject);
           });
  };
  for (uint32_t c : candidates) {
    if (chosen != kNone) break;
    const Incident& inc = incidents_[c];
    if (!takes(inc)) continue;
    const bool by_overlap = by_impact && !(impacts.empty() && inc.impacted.empty());
    if (by_overlap && !Overlaps(impacts, inc.impacted)) continue;
    const bool related = bounded && concerns(inc);
    if (by_overlap && bounded && !related) continue;
    chosen = c;
    blaming = related && culprit >= 0;  // its errors name what the incident holds
  }
  if (chosen == kNone) chosen = evidence_tie(kNone, &tie, &place, &blaming);
  // The evidence may tie the signal to a second open incident too: two incidents that opened
  // apart (callers' errors before the callee's own, two places of one outage) are one
  // problem. While neither has notified, the later opened folds into the first, so the
  // problem pages once.
  if (chosen != kNone && !incidents_[chosen].notified) {
    std::string other_tie, other_place;
    bool other_blaming = false;
    uint32_t other = evidence_tie(chosen, &other_tie, &other_place, &other_blaming);
    if (other != kNone && !incidents_[other].notified) {
      const bool keep_other = std::find(open_order_.begin(), open_order_.end(), other) <
                              std::find(open_order_.begin(), open_order_.end(), chosen);
      const std::string chosen_tie =
          !tie.empty() ? tie : (by_impact ? "impacted services overlap" : "the same group");
      if (keep_other) {
        MergeIncidents(other, chosen, "merged " + incidents_[chosen].id + ": " + chosen_tie);
        chosen = other;
        tie = std::move(other_tie);
        if (!other_place.empty()) place = std::move(other_place);
        blaming = other_blaming;
      } else {
        MergeIncidents(chosen, other, "merged " + incidents_[other].id + ": " + other_tie);
        if (place.empty()) place = std::move(other_place);
      }
    }
  }
  if (chosen != kNone) {
    Incident& inc = Inc(chosen);
    for (Place& p : inc.places) p.tied = p.tied || (!place.empty() && p.key == place);
    if (inc.rule != rule_index && inc.group_hash != group_hash &&
        std::find(inc.joined_groups.begin(), inc.joined_groups.end(), group_hash) ==
            inc.joined_groups.end()) {
      // Later signals of this rule and group join it as their own (by overlap, or a tie).
      inc.joined_groups.push_back(group_hash);
      groups_[group_hash].push_back(chosen);
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
    for (const rules::RoutingKey& key : rules_->routing.keys) {
      if (key.match.Matches(labels)) {
        inc.routing_key = key.routing_key;
        break;
      }
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
    inc.members[idx].blames = blaming || deployed;
    if (!tie.empty()) AddEvidence(inc, std::move(tie));
    if (!rule.colocated_labels.empty())
      NotePlaces(inc, static_cast<uint32_t>(idx), labels, rule, t);
    AddChangeEvidence(inc, r, t);
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
    target.equal_hash = InhibitEqualHash(inhibit_seed_[i], inhibit[i].equal, labels);
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
    m.detail->runbook = r.runbook;
    m.detail->image = r.image;
    for (const std::string& name : rules_->routing.labels) {
      std::string_view v = labels.Get(name);
      if (!v.empty()) m.detail->routing.emplace_back(name, std::string(v));
    }
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

}  // namespace noisegate::dedup

// Engine: merging incidents. When the evidence that ties a signal to one open incident ties it
// to a second one too, and neither has notified, the later opened folds into the first
// (Engine::Correlate decides when; this moves what the folded one holds).
#include <algorithm>

#include "dedup/check.h"
#include "dedup/engine.h"
#include "dedup/engine_state.h"

namespace noisegate::dedup {

void Engine::MergeIncidents(uint32_t into, uint32_t from, std::string why) {
  NG_CHECK(into != from);
  Incident& a = Inc(into);
  Incident& b = Inc(from);
  NG_CHECK(a.state != IncidentState::kClosed && b.state != IncidentState::kClosed && !b.notified);
  const uint32_t offset = static_cast<uint32_t>(a.members.size());
  // Its fingerprints' states point at their new places.
  for (size_t i = 0; i < b.members.size(); ++i) {
    fp_index_.ForEach(b.members[i].fingerprint.value, [&](uint32_t slot) {
      const FpState& seen = fps_[slot];
      if (seen.incident != from || seen.incident_generation != b.generation ||
          seen.member != static_cast<int>(i)) {
        return;
      }
      FpState& st = Fp(slot);
      st.incident = into;
      st.incident_generation = a.generation;
      st.member = static_cast<int>(offset + i);
    });
  }
  for (Member& m : b.members) a.members.push_back(std::move(m));
  for (InhibitTarget target : b.targets) {
    target.member += offset;
    a.targets.push_back(target);
  }
  for (Place& p : b.places) {
    auto same = std::find_if(a.places.begin(), a.places.end(),
                             [&p](const Place& q) { return q.key == p.key; });
    if (same != a.places.end()) {
      // As NotePlaces would have it: the earlier, unless only the other is evidence of the
      // place (its member is no victim and no deploy's errors: Member::blames, FindColocated).
      const bool tied = same->tied || p.tied;
      const bool ours = !a.members[same->member].blames;
      const bool theirs = !a.members[offset + p.member].blames;
      if (ours != theirs ? theirs : p.first < same->first) {
        *same = Place{p.key, p.first, offset + p.member, tied};
      }
      same->tied = tied;
    } else if (a.places.size() < kMaxPlaces) {
      a.places.push_back(Place{std::move(p.key), p.first, offset + p.member, p.tied});
    }
  }
  for (const std::string& trace : b.traces) {
    auto it = traces_.find(trace);
    if (it != traces_.end() && it->second.first == from) {
      if (a.traces.size() < kMaxTraces) {
        it->second = {into, a.generation};
        a.traces.push_back(trace);
      } else {
        traces_.erase(it);
      }
    }
  }
  AddEvidence(a, std::move(why));
  for (std::string& e : b.evidence) AddEvidence(a, std::move(e));
  for (int s : b.impacted) {
    auto pos = std::lower_bound(a.impacted.begin(), a.impacted.end(), s);
    if (pos == a.impacted.end() || *pos != s) a.impacted.insert(pos, s);
  }
  if (a.notified && a.impacted.size() != a.notified_impacted) a.escalation_pending = true;
  a.alert_records += b.alert_records;
  a.log_records += b.log_records;
  a.firing_members += b.firing_members;
  a.active_members += b.active_members;
  a.first_seen = std::min(a.first_seen, b.first_seen);
  a.last_seen = std::max(a.last_seen, b.last_seen);
  a.last_activity = std::max(a.last_activity, b.last_activity);
  if (b.severity > a.severity) {
    a.severity = b.severity;
    if (a.notified && a.severity > a.notified_severity) a.escalation_pending = true;
  }
  // Its groups are the survivor's now: their later signals join it.
  for (uint64_t hash : LeaveGroups(from)) {
    const bool known =
        hash == a.group_hash ||
        std::find(a.joined_groups.begin(), a.joined_groups.end(), hash) != a.joined_groups.end();
    if (!known) {
      a.joined_groups.push_back(hash);
      groups_[hash].push_back(into);
    }
  }
  if (static_cast<int>(a.members.size()) >= rules_->correlate[a.rule].max_members) {
    a.sealed = true;
  }
  RecomputeRoute(a, watermark_);
  ScheduleIncident(into);
  // `from` is gone: it sent nothing, so it closes without a word.
  ++stats_.incidents_closed;
  FreeIncident(from);
}

}  // namespace noisegate::dedup

// Engine: evidence memories and ties that are not topology. Change evidence (when each
// service version was first seen), trace evidence (trace ids of open incidents), co-location
// (where an incident's signals began), and the evidence lines of an incident.
#include <algorithm>
#include <optional>

#include "dedup/check.h"
#include "dedup/engine.h"
#include "dedup/engine_state.h"
#include "dedup/record_labels.h"

namespace noisegate::dedup {

namespace {

// How recent a new version must be to count as the change behind a signal.
constexpr Millis kDeployWindow{30 * 60 * 1000};

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

std::optional<EventTime> Engine::FreshDeploy(const Record& r, EventTime t) {
  std::string_view service = r.labels.Get("service");
  std::string_view version = r.labels.Get("version");
  if (service.empty() || version.empty()) return std::nullopt;
  scratch_.assign(service);
  scratch_.push_back('\0');
  scratch_.append(version);
  std::optional<EventTime> first = VersionFirstSeen(scratch_, t);
  if (!first || *first <= versions_first_record_ + kDeployWindow / 30 || t < *first ||
      t - *first > kDeployWindow) {
    return std::nullopt;
  }
  // A change replaces something: another version of the service, seen before this one and
  // not forgotten. (Versions are learnt from the lines the engine keeps, so a quiet service's
  // first error in a week shows a version that is new only to the engine.) Runs only for a
  // version first seen in the window, so rarely.
  const std::string_view prefix(scratch_.data(), service.size() + 1);
  const Millis retention = rules_->state.version_retention;
  for (const auto& [key, seen] : versions_) {
    if (key.size() > prefix.size() && std::string_view(key).substr(0, prefix.size()) == prefix &&
        key != scratch_ && seen.first < *first && t - seen.last < retention) {
      return first;
    }
  }
  return std::nullopt;
}

void Engine::AddChangeEvidence(Incident& inc, const Record& r, EventTime t) {
  if (std::optional<EventTime> first = FreshDeploy(r, t)) {
    AddEvidence(
        inc, "deploy: " + std::string(r.labels.Get("service")) + " " +
                 std::string(r.labels.Get("version")) + " first seen " + FormatRfc3339(*first) +
                 ", " + std::to_string((t - *first).count() / 1000) + "s before its errors surged");
  }
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

uint32_t Engine::FindColocated(const RecordLabels& labels, const rules::CorrelateRule& rule,
                               EventTime t, uint32_t exclude, std::string* place,
                               std::string* tie) const {
  for (const std::string& label : rule.colocated_labels) {
    std::string_view value = labels.Get(label);
    if (value.empty()) continue;
    const std::string key = PlaceKey(label, value);
    for (uint32_t slot : open_order_) {
      const Incident& inc = incidents_[slot];
      if (slot == exclude || (exclude != kNone && inc.notified) || !TakesSignals(inc)) continue;
      for (const Place& p : inc.places) {
        if (p.key != key || t < p.first || t - p.first > rule.colocated_within) continue;
        // Only a place that is part of the incident's story. Where a member began that joined
        // because its own errors name a member is not, until a signal joins by the place: a
        // node cut off while another problem is open, whose services time out on what that
        // problem holds, is a problem of its own. Nor is where a deploy's errors began.
        if (!p.tied && inc.members[p.member].blames) continue;
        *place = key;
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
    std::string_view value = labels.Get(label);
    if (value.empty()) continue;
    std::string key = PlaceKey(label, value);
    auto known = std::find_if(inc.places.begin(), inc.places.end(),
                              [&key](const Place& p) { return p.key == key; });
    if (known == inc.places.end()) {
      if (inc.places.size() < kMaxPlaces) inc.places.push_back(Place{std::move(key), t, member});
    } else if (!known->tied && inc.members[known->member].blames && !inc.members[member].blames) {
      // The place enters the incident's story with this member (see FindColocated).
      known->first = t;
      known->member = member;
    }
  }
}

void Engine::AddEvidence(Incident& inc, std::string text) {
  if (inc.evidence.size() >= 10) return;
  for (const std::string& e : inc.evidence) {
    if (e == text) return;
  }
  inc.evidence.push_back(std::move(text));
}

}  // namespace noisegate::dedup

// Encoders of the engine's state elements (incidents, members, fingerprint states, records),
// shared by the whole-state checkpoint (dedup/snapshot.cc) and the per-entry changelog
// (dedup/state_entries.cc). Internal to the engine.
#pragma once

#include "dedup/codec.h"
#include "dedup/engine_state.h"
#include "dedup/incident.h"

namespace noisegate::dedup {

// Old index -> new index (-1: gone) per kind of rule element, and whether fingerprints are
// computed from other labels than when the state was written.
struct Engine::RuleRemap {
  std::vector<int> input, node, inhibit, correlate;
  bool fingerprints_changed = false;
  // Log signals are keyed differently (logs.fingerprint, logs.template or the template
  // scheme changed): every log signal is new, and warm-up starts again.
  bool log_identity_changed = false;
  // page.when is another: members' clause bits mean nothing now (they are cleared; a member
  // keeps whether it paged alone).
  bool page_when_changed = false;

  // Whether loading under these rules changes anything in the state (a rule added at the end
  // changes nothing already there).
  bool changed() const {
    for (const std::vector<int>* map : {&input, &node, &inhibit, &correlate}) {
      for (size_t i = 0; i < map->size(); ++i) {
        if ((*map)[i] != static_cast<int>(i)) return true;
      }
    }
    return fingerprints_changed || log_identity_changed || page_when_changed;
  }
};

}  // namespace noisegate::dedup

namespace noisegate::dedup::state_codec {

void PutIncident(const Incident& inc, Writer& w);
// Overwrites nothing: `inc` must be freshly constructed. A corrupt input fails `rd`.
void GetIncident(Reader& rd, Incident* inc);

// The fields of one fingerprint state (not its side tables).
void PutFpFields(const Engine::FpState& st, Writer& w);
void GetFpFields(Reader& rd, Engine::FpState* st);

void PutFlapHistory(const Engine::FlapHistory& h, Writer& w);
void GetFlapHistory(Reader& rd, Engine::FlapHistory* h);
void PutLogRate(const Engine::LogRate& lr, Writer& w);
// `with_surge`: the rate carries its bias weight and the time it was last at the surge
// threshold (state version 4, fingerprint entry version 2). Without, it is read as a converged
// baseline (weight 1) and its caller sets last_above to the signal's last line, as the end of
// a surge was computed before.
void GetLogRate(Reader& rd, Engine::LogRate* lr, bool with_surge);

}  // namespace noisegate::dedup::state_codec

// Engine: the pure dedup/correlation core. Drivers (replay, live) feed it records in event-time
// order with Process() and move time on with AdvanceWatermark(); it answers every record with
// exactly one decision and emits incident notifications to a Sink, in event-time order. No
// I/O, no clock, no randomness: the same rules and records give the same output, byte for byte.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/fingerprint.h"
#include "dedup/fingerprint_index.h"
#include "dedup/incident.h"
#include "dedup/record.h"
#include "dedup/result.h"
#include "rules/compiled_rules.h"

namespace noisegate::dedup {

class Writer;
class Reader;

enum class Decision : uint8_t {
  kNew,             // opened an incident
  kGrouped,         // joined an open incident
  kDeduplicated,    // repeat of an active fingerprint
  kResolved,        // an alert resolved
  kInhibited,       // muted by an inhibit rule's source alert
  kSilenced,        // muted by a silence
  kFlapping,        // held back: its fingerprint is flapping
  kBelowThreshold,  // a log line whose signal is not surging
  kDropped,         // a drop rule (or an input's min_level)
  kDeadLetter,      // could not be decoded (decided by the driver, never by the engine)
};
inline constexpr int kDecisionCount = 10;
std::string_view DecisionName(Decision d);

struct DecisionEvent {
  const Record* record = nullptr;
  Decision decision = Decision::kNew;
  bool has_fingerprint = false;
  Fingerprint fingerprint;
  std::string_view incident;  // dedup_key, or empty
  std::string_view rule;      // the rule or matcher that decided, or empty
  std::string_view name;      // alertname, or the log template (valid during OnDecision)
  bool late = false;          // older than the watermark minus the allowed lateness
  // `rule` is a silence from a silences input ("silence <id>"): one of unboundedly many.
  bool runtime_silence = false;
};

enum class NotifyAction : uint8_t { kTrigger, kResolve };
struct RootCause;  // dedup/root_cause.h

struct Notification {
  NotifyAction action = NotifyAction::kTrigger;
  rules::Action route = rules::Action::kPage;  // page or ticket
  EventTime at;
  std::string_view reason;  // "open", "escalation", "repeat", "resolve"
  const Incident* incident = nullptr;
  // Where the failure most likely starts, ranked when the engine notifies (dedup/root_cause.h;
  // valid during OnNotification).
  const RootCause* root = nullptr;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void OnDecision(const DecisionEvent& e) = 0;
  virtual void OnNotification(const Notification& n) = 0;
};

struct EngineStats {
  uint64_t records = 0;
  uint64_t fingerprints_expired = 0;  // inert fingerprints dropped (state.retention)
  uint64_t late = 0;
  uint64_t incidents_opened = 0;
  uint64_t incidents_closed = 0;
  size_t open_incidents = 0;
};

// Entries of per-key state by kind, for the state gauges and the soak benchmark.
struct StateSizes {
  size_t fingerprints = 0;     // alert and log signals held (active or recently active)
  size_t log_signals = 0;      // log rate counters in use
  size_t flap_histories = 0;   // fingerprints with recent state changes
  size_t incidents = 0;        // open incidents
  size_t groups = 0;           // group keys with open incidents
  size_t inhibit_sources = 0;  // (rule, equal labels) keys with firing sources
  size_t held = 0;             // records of flapping alerts held back
  size_t versions = 0;         // (service, version) pairs remembered
  size_t traces = 0;           // trace ids tied to open incidents
  size_t timers = 0;           // queued timers (stale ones included)
  size_t silences = 0;         // runtime silences held (not summed: each engine has them all)

  StateSizes& operator+=(const StateSizes& o) {
    fingerprints += o.fingerprints;
    log_signals += o.log_signals;
    flap_histories += o.flap_histories;
    incidents += o.incidents;
    groups += o.groups;
    inhibit_sources += o.inhibit_sources;
    held += o.held;
    versions += o.versions;
    traces += o.traces;
    timers += o.timers;
    silences = std::max(silences, o.silences);  // every engine holds all of them
    return *this;
  }
};

class RecordLabels;  // dedup/record_labels.h

class Engine {
 public:
  // `rules` must outlive nothing: the engine keeps its own reference. `sink` must outlive the
  // engine.
  Engine(std::shared_ptr<const rules::CompiledRules> rules, Sink* sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Takes the next record. Advances the watermark to the record's time first, so timers due
  // before it fire before it is decided. Emits exactly one DecisionEvent for an alert or log
  // record; a silence record (SignalKind::kSilence) emits none: it sets or replaces the
  // runtime silence of its id, which mutes, from then on, what a silence in the rules would.
  void Process(const Record& record);
  // The fingerprint this engine gives alert record `r` (the identity labels of the rules'
  // dedup.fingerprint, or of its input's override), as explain lines and pages show it.
  // `key` is scratch space; after the call it holds the record's identity (KeyBuilder::Verify).
  Fingerprint AlertFingerprint(const Record& r, KeyBuilder* key) const;
  // Every silence (the rules' and the runtime ones this engine has read) that mutes a signal
  // of `labels` first firing at `t`, in the order MatchSilence tries them.
  std::vector<const rules::Silence*> SilencesMatching(const RecordLabels& labels,
                                                      EventTime t) const;
  // Moves event time on (it never goes back) and fires every timer due at or before `t`.
  void AdvanceWatermark(EventTime t);
  // Fires the timers due at the watermark that came due after it got there (set by records
  // at that time): at the end of input, what is due at the last record's time.
  void FireDue();
  // End of input (replay): sends what group_wait still holds back, as if its time had come.
  // Open incidents stay open; they are reported, not resolved.
  void Finish();

  // Checkpoints (dedup/snapshot.cc). SaveState writes everything the engine knows (open
  // incidents, fingerprints, windows, timers, log baselines, held records) but not the rules,
  // with the names its indexes stand for. LoadState, on a freshly constructed engine, restores
  // it so that processing continues exactly as if it had never stopped; the engine's rules may
  // differ from those the state was written under (a reload, or a restart with new rules):
  // state is matched by name (input topic, correlate rule name, topology node name, inhibit
  // rule content), so reordering keeps everything. An open incident whose correlate rule is
  // gone is closed, with a resolve if it notified, at the next event time. After a change of
  // fingerprint labels, alerts still firing under the old fingerprints resolve unless heard
  // again within kRefreshGrace (their records now arrive under new fingerprints). LoadState
  // fails on corrupt bytes or an unknown format version; after a failure the engine is
  // unspecified and must be discarded.
  void SaveState(std::string* out) const;
  Status LoadState(std::string_view bytes);

  // Per-entry checkpoints (dedup/state_entries.cc), for a compacted changelog with one key per
  // entry: every fingerprint slot and every incident slot is an entry of its own, and the rest
  // (names, watermark, open-incident indexes, inhibition sources, versions, traces: what is
  // proportional to open incidents and firing alerts, not to all fingerprints) is one
  // "globals" value. Timers are not written: each entry says when its timer is due.
  //
  // After TrackChanges, the engine remembers which entries change. SaveChanges hands each
  // changed entry to `put` (bytes) or, for a fingerprint slot that expired, to `erase`, in
  // slot order, forgets the changes, and writes the globals. Writing what a commit changed
  // costs what changed, not what the engine holds. `all` marks every entry changed (a first
  // checkpoint, or one after a whole-state load). An engine that tracks before LoadState marks
  // what loading under other rules changes (a reload).
  enum class EntryKind : uint8_t { kFingerprint, kIncident };
  using PutEntry = std::function<void(EntryKind, uint32_t slot, std::string_view bytes)>;
  using EraseEntry = std::function<void(EntryKind, uint32_t slot)>;
  void TrackChanges(bool all);
  void SaveChanges(const PutEntry& put, const EraseEntry& erase, std::string* globals);
  // Entries changed since the last SaveChanges.
  size_t pending_changes() const { return changed_fps_.size() + changed_incidents_.size(); }
  // The newest value of each entry, as SaveChanges wrote them. LoadEntries, on a freshly
  // constructed engine, restores the state (with the same matching by name as LoadState) and
  // tracks changes from there; it fails when entries are missing or corrupt, and the engine
  // must then be discarded.
  struct Entries {
    std::string_view globals;
    std::vector<std::pair<uint32_t, std::string_view>> fingerprints, incidents;
  };
  Status LoadEntries(const Entries& entries);

  // How long alerts firing under fingerprints that a rules change replaced may go unheard
  // before they count as resolved: Alertmanager's default repeat_interval (4h), within which
  // it sends a still-firing alert again, plus a margin for its group_interval alignment.
  static constexpr Millis kRefreshGrace{5 * 3'600'000};

  EventTime watermark() const { return watermark_; }
  // When the earliest pending timer is due (kMaxTime when none): a driver that advances
  // the watermark knows whether anything will happen.
  EventTime NextTimer() const { return timers_.empty() ? kMaxTime : timers_.top().at; }
  EngineStats stats() const;
  StateSizes state_sizes() const;
  const rules::CompiledRules& rules() const { return *rules_; }
  // Open incidents in opening order (for summaries and tests).
  std::vector<const Incident*> OpenIncidents() const;

  struct FpState;
  struct FlapHistory;
  struct LogRate;

 private:
  enum class TimerKind : uint8_t { kIncident, kFingerprint };
  struct Timer {
    EventTime at;
    TimerKind kind;
    uint32_t slot;
    uint32_t generation;
    bool operator>(const Timer& o) const {
      if (at != o.at) return at > o.at;
      if (kind != o.kind) return kind > o.kind;
      return slot > o.slot;
    }
  };

  static uint64_t InhibitIdentity(const rules::InhibitRule& rule);
  // Slots changed since the last SaveChanges (when tracking).
  class ChangeSet {
   public:
    void Mark(uint32_t slot) {
      if (slot >= bits_.size() * 64) bits_.resize(slot / 64 + 1 + bits_.size() / 2);
      uint64_t& word = bits_[slot / 64];
      const uint64_t bit = uint64_t{1} << (slot % 64);
      if ((word & bit) == 0) {
        word |= bit;
        list_.push_back(slot);
      }
    }
    // The marked slots in ascending order; clears the marks.
    std::vector<uint32_t> Take();
    size_t size() const { return list_.size(); }

   private:
    std::vector<uint64_t> bits_;
    std::vector<uint32_t> list_;
  };
  // Every mutable access to a fingerprint or incident slot goes through these, so that a
  // per-entry checkpoint knows what changed (defined in engine_state.h).
  FpState& Fp(uint32_t slot);
  Incident& Inc(uint32_t slot);
  struct RuleRemap;
  void SaveIdentity(Writer& w) const;
  Status LoadIdentity(Reader& rd, uint64_t version, RuleRemap* remap);
  void SaveOpenIndexes(Writer& w) const;
  void LoadOpenIndexes(Reader& rd, size_t incidents, size_t fps);
  void SaveVersionsAndTraces(Writer& w) const;
  void LoadVersionsAndTraces(Reader& rd, uint64_t version);
  // Checks what was loaded and maps it onto these rules.
  Status FinishLoad(const RuleRemap& remap, uint64_t version);
  void FireTimersUpTo(EventTime t);
  void ProcessAlert(const Record& r, RecordLabels& labels, DecisionEvent& ev);
  void ProcessLog(const Record& r, RecordLabels& labels, DecisionEvent& ev);
  uint32_t LookupOrInsert(Fingerprint fp, uint64_t verify, SignalKind kind);
  bool RecordChange(uint32_t slot, EventTime t);
  // Joins the best open incident or opens one; returns the incident slot.
  uint32_t Correlate(const Record& r, RecordLabels& labels, uint32_t fp_slot, EventTime t,
                     Decision* decision, std::string_view* rule, uint32_t extra_count);
  // A flapping alert that became stable while firing joins an incident as if it just fired.
  void ReleaseHeld(uint32_t slot, EventTime t);
  Incident* IncidentOf(const FpState& st);           // marks it changed
  uint32_t IncidentSlotOf(const FpState& st) const;  // its open incident's slot, or kNone
  bool Dropped(const RecordLabels& labels, DecisionEvent& ev) const;
  // A signal that is not in an incident yet: inhibited, silenced, or correlated.
  void MuteOrCorrelate(const Record& r, RecordLabels& labels, uint32_t slot, uint32_t extra_count,
                       EventTime t, DecisionEvent& ev);
  // A record of a fingerprint already in `inc`: counted, and re-fired if it had resolved.
  void FoldIntoIncident(Incident& inc, FpState& st, const Record& r, RecordLabels& labels,
                        bool activation, EventTime t, DecisionEvent& ev);
  // For a member attached as inhibited: true (and the decision set) while it still is.
  bool StillInhibited(const RecordLabels& labels, FpState& st, DecisionEvent& ev);
  const rules::Silence* MatchSilence(const RecordLabels& labels, EventTime t) const;
  bool SilenceMutes(const rules::Silence& s, const RecordLabels& labels, EventTime t) const;
  // A silence record: it replaces the silence of its id (see runtime_silences_).
  void ApplySilence(const Record& r);
  void SaveSilences(Writer& w) const;
  void LoadSilences(Reader& rd);
  // Returns the fingerprint slot of the source alert inhibiting `labels`, or -1.
  int64_t FindInhibitor(const RecordLabels& labels, const FpState& self, std::string_view* rule);
  void UpdateInhibitSources(uint32_t fp_slot, const RecordLabels* labels, bool firing);
  void AttachInhibited(const Record& r, RecordLabels& labels, uint32_t fp_slot,
                       uint32_t source_slot, DecisionEvent& ev);
  void MemberResolved(FpState& st, EventTime t);
  // `t`: when it (re-)fires, from which firing_for counts.
  static void SetMemberFiring(Incident& inc, Member& m, bool firing, EventTime t);
  // Appends the member for fingerprint `fp` (and the inhibit rules it is a target of).
  void AddMember(Incident& inc, const Record& r, const RecordLabels& labels, Fingerprint fp,
                 EventTime t) const;
  // `since`: when it began firing (page.when's firing_for counts from it): `t`, or earlier
  // for an alert that never stopped (released by its inhibitor, or held while it flapped).
  void MemberFired(FpState& st, const Record& r, EventTime t, EventTime since);
  void Schedule(TimerKind kind, uint32_t slot, EventTime at);
  // When a pending escalation of `inc` may go out (see engine_timers.cc).
  EventTime EscalationDue(const Incident& inc, const rules::CorrelateRule& rule) const;
  void ScheduleIncident(uint32_t slot);
  void FireIncidentTimer(uint32_t slot, EventTime t);
  // Marks the incident's members that a live source now inhibits (see FireIncidentTimer).
  void InhibitAtNotify(Incident& inc);
  void FireFingerprintTimer(uint32_t slot, EventTime t);
  void Notify(Incident& inc, NotifyAction action, std::string_view reason, EventTime t);
  void CloseIncident(uint32_t slot, EventTime t);
  // When an active log signal ends: quiet_for after its rate was last at the surge threshold.
  EventTime SurgeEnds(const FpState& st) const;
  // When an inert fingerprint may be dropped: state.retention after its last record, and not
  // before its flap window is over and its log rate has decayed to nothing.
  EventTime ExpiryOf(const FpState& st) const;
  // Arms the expiry timer of an inert fingerprint, unless a timer is already pending.
  void ScheduleExpiry(uint32_t slot);
  // Drops an inert fingerprint's state; its slot is reused by the next new fingerprint.
  void Evict(uint32_t slot);
  void NoteVersion(const Record& r, EventTime t);
  // The time a (service, version) pair was first seen, or nullopt when it is not remembered
  // (never seen, or not seen for state.version_retention).
  std::optional<EventTime> VersionFirstSeen(const std::string& key, EventTime t) const;
  void RememberTrace(const Record& r, uint32_t slot);
  // The open incident a log line's trace id already belongs to, or kNone.
  uint32_t IncidentOfTrace(const Record& r);
  // Whether an incident may take new signals: open or pending, not sealed, its rule still there.
  static bool TakesSignals(const Incident& inc) {
    return !inc.sealed && inc.rule >= 0 && inc.state != IncidentState::kClosed;
  }
  // The first open incident (of any rule) other than `exclude` in which a signal began at one
  // of the signal's places (its values of rule.colocated_labels) at most
  // rule.colocated_within before `t`, or kNone; with an `exclude`, only one that has not
  // notified (a merge takes no other). Sets that place's key and the evidence.
  uint32_t FindColocated(const RecordLabels& labels, const rules::CorrelateRule& rule, EventTime t,
                         uint32_t exclude, std::string* place, std::string* tie) const;
  // Folds incident `from` into `into` (both open, of any rules): its members, inhibition
  // targets, places, traces, evidence, impacted services and groups; `from` is gone without a
  // notification (the caller ensures it sent none). `why` becomes evidence.
  void MergeIncidents(uint32_t into, uint32_t from, std::string why);
  // Takes an incident out of the groups it is in (its own, and those that joined it); returns
  // their hashes.
  std::vector<uint64_t> LeaveGroups(uint32_t slot);
  // Closes an incident's slot for reuse: out of the open order, its traces forgotten, its
  // members dropped. (Its groups are the caller's to leave: LeaveGroups.)
  void FreeIncident(uint32_t slot);
  // Notes the places where member `member` of `inc` began: new ones, and known ones whose
  // member is no evidence of the place (Member::blames: a victim, or a deploy's errors) when
  // this one is.
  static void NotePlaces(Incident& inc, uint32_t member, const RecordLabels& labels,
                         const rules::CorrelateRule& rule, EventTime t);
  void AddEvidence(Incident& inc, std::string text);
  // When the version `r` carries of its service first showed up, if that was shortly before
  // `t`, not in the engine's first moments, and after another version of the service: the
  // change behind its errors (a deploy).
  std::optional<EventTime> FreshDeploy(const Record& r, EventTime t);
  // Change evidence: the record's version of its service is a FreshDeploy.
  void AddChangeEvidence(Incident& inc, const Record& r, EventTime t);
  // The route page.when gives `inc` at `at`. A route that was page stays page (an incident
  // that paged keeps paging until it closes) unless `keep_page` is false: its members were
  // inhibited since. Becoming page after a trigger sets escalation_pending.
  void RecomputeRoute(Incident& inc, EventTime at, bool keep_page = true);
  bool RuleMuted(const rules::CorrelateRule& rule, EventTime t) const;

  std::shared_ptr<const rules::CompiledRules> rules_;
  Sink* sink_;
  std::vector<std::string> alert_fp_labels_;               // sorted, unique
  std::vector<std::vector<std::string>> input_fp_labels_;  // per input (empty = default)
  std::vector<char> input_fp_override_;
  std::vector<std::string> log_fp_labels_;
  // Hash seeds of the rules' identities: a correlate rule's name, an inhibit rule's content.
  // Group and inhibition keys are seeded with them, not with positions, so that reordering
  // the rules keeps every key.
  std::vector<uint64_t> correlate_seed_;
  // Per correlate rule with caller_hops, per topology node: what it calls within those hops.
  std::vector<std::vector<std::vector<int>>> callees_;
  std::vector<uint64_t> inhibit_seed_;
  // Alerts firing and last seen before this time were fingerprinted under other labels.
  EventTime refresh_before_ = kMinTime;
  EventTime watermark_ = kMinTime;
  EventTime first_record_ = kMinTime;
  EngineStats stats_;

  std::deque<FpState> fps_;  // a deque: no doubling slack, stable references
  absl::flat_hash_map<uint32_t, FlapHistory> flap_history_;
  FingerprintIndex fp_index_;       // fingerprint (+ canonical key) -> slot in fps_
  std::vector<LogRate> log_rates_;  // indexed by FpState::log_rate
  std::vector<uint32_t> free_log_rates_;
  std::vector<Incident> incidents_;
  std::vector<uint32_t> free_incidents_;
  std::vector<uint32_t> open_order_;  // slots of open incidents, in opening order
  // (correlate rule, hash of scalar group values) -> open incident slots
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> groups_;
  // Inhibition sources: (rule, hash of equal labels) -> live source alerts.
  struct InhibitSource {
    uint32_t slot;  // fingerprint slot of the firing source alert
    bool both;      // it matches the target matchers too
  };
  // Live sources per (rule, equal-label hash), in activation order.
  absl::flat_hash_map<uint64_t, std::vector<InhibitSource>> inhibit_sources_;
  absl::flat_hash_map<uint32_t, std::vector<uint64_t>> source_of_;  // slot -> its entries
  // The last record of each flapping alert, correlated when it becomes stable.
  absl::flat_hash_map<uint32_t, Record> held_;
  // Change evidence: when each (service, version) was first and last seen (event time).
  struct VersionSeen {
    EventTime first, last;
  };
  absl::flat_hash_map<std::string, VersionSeen> versions_;
  EventTime versions_first_record_ = kMinTime;
  EventTime next_version_sweep_ = kMinTime;
  // Trace evidence: trace id -> (incident slot, generation) of an open incident it belongs to.
  absl::flat_hash_map<std::string, std::pair<uint32_t, uint32_t>> traces_;
  // Runtime silences (input format `silences`, written by the silences API): the newest
  // version of each id, compiled, until it ends. Ordered by id, so that matching and saving
  // are the same on every run. Rules' silences are matched first.
  struct RuntimeSilence {
    std::shared_ptr<const SilenceSpec> spec;
    rules::Silence silence;
  };
  std::map<std::string, RuntimeSilence, std::less<>> runtime_silences_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  bool tracking_ = false;
  ChangeSet changed_fps_, changed_incidents_;
  KeyBuilder key_;
  std::string template_buf_;
  std::string template_key_buf_;  // the template as it keys a signal (TemplateKey)
  std::string scratch_;
};

}  // namespace noisegate::dedup

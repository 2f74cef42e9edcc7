// The replay report (`noisegate replay --report FILE.html`): one self-contained HTML file,
// readable without network access, that answers "what happened and why" for a replay:
//   - a timeline of raw signal volume per minute against the pages and tickets sent;
//   - one card per incident: what was sent and when, why it paged (the members that satisfy
//     a page.when entry, and the entries) or why it did not, its members (name, summary,
//     severity, records), and the rules that decided its records;
//   - a search by label, fingerprint, incident or text ("what happened to this alert"), over
//     the incidents and a table of fingerprints with their decisions;
//   - with --diff, what changed under the other rules, in a section and on each card.
// The builder watches the engine's decisions and notifications as a replay makes them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "dedup/engine.h"
#include "rules/compiled_rules.h"

namespace noisegate::processor {

struct ReplaySummary;

class ReportBuilder {
 public:
  explicit ReportBuilder(const rules::CompiledRules& rules) : rules_(rules) {}
  void OnDecision(const dedup::DecisionEvent& e);
  void OnNotification(const dedup::Notification& n);
  void OnDeadLetter(int64_t ts);
  // Writes the report; false with `error` set when the file cannot be written.
  bool Write(const std::string& path, const ReplaySummary& summary, std::string* error) const;

  // The most fingerprints and quiet incidents listed (the busiest first); the rest are
  // counted, so a large replay still gives a report a browser opens.
  static constexpr size_t kMaxFingerprints = 5000;
  static constexpr size_t kMaxQuietIncidents = 200;
  static constexpr size_t kMaxSentIncidents = 2000;  // pages first, then the busiest tickets
  static constexpr size_t kMaxSentRows = 20;         // notifications listed per incident

 private:
  struct Bucket {  // one minute of event time
    uint64_t records = 0, in_incidents = 0, muted = 0, dead = 0;
    uint32_t pages = 0, tickets = 0;
  };
  struct Fp {
    std::string name;    // alertname, or the log line
    std::string labels;  // name="value" ..., as matchers read them
    std::string summary;
    std::string incident;  // the last incident it joined
    uint64_t records = 0;
    uint32_t decisions[dedup::kDecisionCount] = {};
    int64_t first_ms = 0, last_ms = 0;
  };
  struct MemberView {
    std::string name, summary, severity;
    uint64_t fingerprint = 0;
    uint32_t records = 0;
    // pages: would meet a page.when entry alone; counts: counts toward the entry the
    // incident met (as of its last notification).
    bool pages = false, counts = false, inhibited = false, firing = false;
    int64_t first_ms = 0;
  };
  struct Sent {
    int64_t at_ms;
    bool page, trigger;
    std::string reason;
  };
  struct Inc {
    std::string id, summary, route = "none", rule;
    int met = -1;  // the page.when entry it met at its last notification (page_policy.h)
    // Entries on several members it did not meet, with how far it got: (entry, shortfall).
    std::vector<std::pair<size_t, std::string>> shortfalls;
    int64_t first_ms = 0;
    uint64_t records = 0;
    std::vector<Sent> sent;
    std::vector<MemberView> members;           // as of its last notification
    std::map<std::string, uint64_t> evidence;  // "decision by rule" -> records
    std::vector<uint64_t> fingerprints;        // joined (when never notified)
  };

  const rules::CompiledRules& rules_;
  std::map<int64_t, Bucket> minutes_;
  std::unordered_map<uint64_t, Fp> fps_;
  std::unordered_map<std::string, size_t> incident_index_;
  std::vector<Inc> incidents_;
};

}  // namespace noisegate::processor

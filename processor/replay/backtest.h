// `noisegate backtest`: how the rules do against what really happened. An SRE lists past
// incidents from the postmortems (time range, which records belong to it, page or ticket) in
// a YAML file; the captured traffic is replayed, and each labelled incident gets whether and
// when it paged, how many pages it caused, and how well its records were grouped, with the
// records that went astray. Format (documented in rules/README.md, "Backtesting rules"):
//
//   incidents:
//     - name: payments database outage
//       start: 2026-11-23T01:30:00Z
//       end: 2026-11-23T01:55:00Z
//       route: page                       # page | ticket: what should have happened
//       match:                            # its records: in [start, end] and any list matches
//         - ['cluster="pg-payments"']
//         - ['service="checkout-api"', 'alertname=~"HighErrorRate|SLOBurnRateHigh"']
//
// Matchers see a record's own labels and `signal` ("alert" or "log"). A record that two
// incidents claim belongs to the first listed.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "dedup/engine.h"
#include "rules/diagnostic.h"
#include "rules/matcher.h"

namespace noisegate::processor {

struct LabelledIncident {
  std::string name;
  int64_t start_ms = 0, end_ms = 0;
  bool page = true;  // route: page (else ticket)
  std::vector<rules::MatcherSet> match;
  int line = 0;
};

// Reads the incidents file; every problem is a diagnostic with file:line:column.
bool LoadLabelledIncidents(const std::string& path, std::vector<LabelledIncident>* out,
                           std::vector<rules::Diagnostic>* problems);

// Per labelled incident.
struct IncidentScore {
  std::string name;
  bool want_page = true;
  uint64_t records = 0, alert_records = 0;
  bool paged = false, ticketed = false;                // an incident mostly of its records was
  int64_t first_page_ms = 0;                           // the first page of those
  int64_t first_record_ms = 0, first_critical_ms = 0;  // 0: none
  int pages = 0;           // paged incidents whose records are mostly its
  std::string main;        // the incident holding most of its records ("": none)
  uint64_t in_main = 0;    // its records there
  uint64_t main_size = 0;  // all records of that incident
  double b3_precision = 0, b3_recall = 0;
  // Its records outside its main incident (signal -> where they went, a dedup_key or the
  // decision), and records of other origin inside it: the busiest few.
  std::vector<std::pair<std::string, uint64_t>> astray, intruders;
};

struct BacktestResult {
  std::vector<IncidentScore> incidents;
  int want_page = 0, paged = 0;  // labelled incidents to page, and how many did
  int duplicate_pages = 0;       // paged incidents beyond the first, per labelled incident
  int false_pages = 0;           // paged incidents that are mostly nobody's, or a ticket's
  std::vector<std::string> false_page_keys;
  double median_page_after_critical_ms = 0;  // over those paged that have a critical alert
  int timed = 0;                             // how many that median is over
  double b3_f1_all = 0, b3_f1_alerts = 0;
  double pair_f1_all = 0, pair_f1_alerts = 0;
};

// Watches a replay (ReplayOptions::observer) and scores it against the labelled incidents.
class Backtest : public dedup::Sink {
 public:
  explicit Backtest(std::vector<LabelledIncident> incidents);
  void OnDecision(const dedup::DecisionEvent& e) override;
  void OnNotification(const dedup::Notification& n) override;
  BacktestResult Score() const;

 private:
  struct Counts {  // records, all and alerts only
    uint64_t all = 0, alerts = 0;
  };
  struct Sent {
    bool paged = false, ticketed = false;
    int64_t first_page_ms = 0;
  };
  int Label(const Record& r) const;
  int IncidentIndex(std::string_view dedup_key);

  std::vector<LabelledIncident> labelled_;
  std::vector<Counts> label_size_, label_alone_;  // per label: all, not in any incident
  std::vector<int64_t> first_record_, first_critical_;
  std::vector<std::string> keys_;  // incident index -> dedup_key
  std::unordered_map<std::string, int> key_index_;
  std::vector<Counts> incident_size_;
  std::map<std::pair<int, int>, Counts> cells_;  // (incident, label) -> records
  std::vector<Sent> sent_;
  // (label, signal, where) -> records; where: a dedup_key or a decision name.
  std::map<std::tuple<int, std::string, std::string>, uint64_t> where_;
  // (incident, signal) -> records of no label or of another label.
  std::map<std::pair<int, std::string>, uint64_t> other_in_;
};

void PrintBacktest(const BacktestResult& r, std::ostream& out);

}  // namespace noisegate::processor

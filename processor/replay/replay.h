// Replay: the offline driver of the engine. Reads captured dumps, decodes each message with
// its input's decoder, puts the records in event-time order the way live does, feeds the
// engine, and writes pages, tickets, dead letters and the explain log as files
// (interfaces.md).
//
// The order does not depend on how the capture was written: each input partition (a
// "channel") is read in its own file order, wherever its lines are (one file in time order,
// a kcat backlog written partition after partition, one file per partition, or a channel
// split over several files, taken in order of their first offset); channels are ingested by
// Kafka timestamp as live ingests them (IngestsBefore) and their records merged by event time
// in live's InputMerger.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dedup/engine.h"
#include "processor/decode/message.h"
#include "processor/replay/diff.h"
#include "rules/compiled_rules.h"

namespace noisegate::processor {

struct DumpSpec {
  std::string path;
  std::optional<std::string> topic;  // bare message values of this topic
};

struct ReplayOptions {
  std::vector<DumpSpec> dumps;
  std::string pages_path, tickets_path, dlq_path, explain_path;  // empty = not written
  std::string report_path;        // the HTML report (report.h); empty = none
  bool envelope = false;          // wrap page/ticket lines in kcat -J envelopes
  bool explain_readable = false;  // explain lines with "name" and "summary" too
  bool progress = false;          // progress bar on stderr
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  std::string pages_topic = "noisegate.pages";
  std::string tickets_topic = "noisegate.tickets";
  // Keep each trigger's member fingerprints in the summary (for --diff). Off, the summary's
  // memory grows only by a few dozen bytes per notification over a long replay.
  bool keep_members = false;
  // Event time runs on to here after the last record, firing what is due by then (--until):
  // an absolute time, or `until_after` past the last record's time. Either way, what is due
  // at the last record's time is sent.
  std::optional<int64_t> until_ms;
  std::optional<int64_t> until_after_ms;
  // --diff: the replay of the same input under other rules (made with keep_members), and
  // the names of both rule files. The comparison goes into the summary and the report.
  const ReplaySummary* compare_with = nullptr;
  std::string name, compare_name;
  // Sees every decision and notification too (backtest).
  dedup::Sink* observer = nullptr;
};

// A notification kept in memory (for the summary and --diff).
struct EmittedEvent {
  dedup::NotifyAction action;
  rules::Action route;
  int64_t at_ms;
  std::string incident;
  std::string reason;
  std::string summary;
  std::vector<uint64_t> fingerprints;  // its members when it was sent (keep_members only)
};

struct ReplaySummary {
  uint64_t messages = 0;
  uint64_t records = 0;
  uint64_t skipped_lines = 0;
  uint64_t dead_letters = 0;
  uint64_t late = 0;
  uint64_t decisions[dedup::kDecisionCount] = {};
  uint64_t incidents_opened = 0;
  uint64_t page_triggers = 0, page_resolves = 0, pages_opened = 0;
  uint64_t ticket_triggers = 0, ticket_resolves = 0, tickets_opened = 0;
  std::map<std::string, uint64_t, std::less<>> rule_hits;
  std::map<std::string, uint64_t> dead_letter_reasons;
  size_t open_incidents_at_end = 0;
  dedup::StateSizes state_at_end;  // engine state held at the end
  uint64_t fingerprints_expired = 0;
  std::vector<EmittedEvent> events;  // pages and tickets, in output order
  std::optional<ReplayDiff> diff;    // with ReplayOptions::compare_with
};

// Runs a replay. Problems with the dumps themselves (a file that cannot be opened) are
// returned as an error; everything wrong inside them is counted and reported on `log`.
Result<ReplaySummary> RunReplay(std::shared_ptr<const rules::CompiledRules> rules,
                                const ReplayOptions& options, std::ostream& log);

// Prints the human summary (records, decisions, incidents, pages, reduction, rule hits).
void PrintSummary(const ReplaySummary& s, std::ostream& out);

}  // namespace noisegate::processor

#include "processor/replay/replay.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <map>
#include <memory>

#include "processor/output/render.h"
#include "processor/pipeline/pipeline.h"
#include "processor/replay/dump_reader.h"
#include "processor/replay/report.h"

namespace noisegate::processor {
namespace {

// A buffered output file; a no-op when no path was given.
class OutFile {
 public:
  bool Open(const std::string& path, std::string* error) {
    if (path.empty()) return true;
    f_ = std::fopen(path.c_str(), "wb");
    if (f_ == nullptr) {
      *error = path + ": cannot open for writing: " + std::strerror(errno);
      return false;
    }
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
    return true;
  }
  ~OutFile() {
    if (f_ != nullptr) std::fclose(f_);
  }
  bool enabled() const { return f_ != nullptr; }
  void Line(const std::string& s) {
    if (f_ == nullptr) return;
    std::fwrite(s.data(), 1, s.size(), f_);
    std::fputc('\n', f_);
  }

 private:
  FILE* f_ = nullptr;
};

// One input partition of the capture, read in its own order across the dumps that hold it,
// with its next decoded message ready.
struct Channel {
  std::string topic;
  int32_t partition = 0;
  int order = -1;  // its input's index in the rules (-1: no input)
  struct Segment {
    DumpChannel where;
    std::string path;
    std::optional<std::string> bare_topic;
    std::shared_ptr<const DumpBytes> bytes;
  };
  std::vector<Segment> segments;  // where it lies, in order of first offset
  size_t next_segment = 0;
  std::unique_ptr<DumpReader> reader;
  std::unique_ptr<Ingest> ingest;  // holds the ready message, decoded
  DumpMessage msg;
  int64_t ingest_ts = 0;             // the ready message's Kafka timestamp (else its event time)
  int64_t first_record_ms = 0;       // the earliest event time of its records (INT64_MAX: none)
  int64_t last_ts = INT64_MIN;       // the latest event time ingested
  int64_t channel_time = INT64_MIN;  // the latest record time ingested (Ingest::Message)
  bool ready = false;
  bool done = false;
};

class ReplaySink : public dedup::Sink {
 public:
  ReplaySink(const rules::CompiledRules& rules, const ReplayOptions& opt, ReplaySummary* s)
      : rules_(rules), opt_(opt), s_(s) {}

  OutFile pages, tickets, dlq, explain;
  ReportBuilder* report = nullptr;

  void OnDecision(const dedup::DecisionEvent& e) override {
    if (report != nullptr) report->OnDecision(e);
    if (opt_.observer != nullptr) opt_.observer->OnDecision(e);
    s_->decisions[static_cast<int>(e.decision)]++;
    if (!e.rule.empty()) {
      auto it = s_->rule_hits.find(e.rule);
      if (it == s_->rule_hits.end()) {
        s_->rule_hits.emplace(std::string(e.rule), 1);
      } else {
        it->second++;
      }
    }
    if (e.late) s_->late++;
    if (explain.enabled()) {
      line_.clear();
      RenderExplain(e, &line_, opt_.explain_readable);
      explain.Line(line_);
    }
  }

  void OnNotification(const dedup::Notification& n) override {
    if (report != nullptr) report->OnNotification(n);
    if (opt_.observer != nullptr) opt_.observer->OnNotification(n);
    line_.clear();
    RenderNotification(n, rules_, &line_);
    bool page = n.route == rules::Action::kPage;
    bool trigger = n.action == dedup::NotifyAction::kTrigger;
    if (page) {
      (trigger ? s_->page_triggers : s_->page_resolves)++;
      if (trigger && n.reason == "open") s_->pages_opened++;
      if (trigger && n.reason == "escalation" && !n.incident->paged) s_->pages_opened++;
    } else {
      (trigger ? s_->ticket_triggers : s_->ticket_resolves)++;
      if (trigger && n.reason == "open") s_->tickets_opened++;
    }
    EmittedEvent ev{n.action, n.route, n.at.ms, n.incident->id, std::string(n.reason), {}, {}};
    if (trigger) {
      ev.summary = IncidentSummary(n, rules_);
      if (opt_.keep_members) {
        for (const dedup::Member& m : n.incident->members) {
          ev.fingerprints.push_back(m.fingerprint.value);
        }
      }
    }
    s_->events.push_back(std::move(ev));
    OutFile& out = page ? pages : tickets;
    if (!out.enabled()) return;
    if (opt_.envelope) {
      int64_t& offset = page ? page_offset_ : ticket_offset_;
      std::string wrapped;
      RenderEnvelope(page ? opt_.pages_topic : opt_.tickets_topic, 0, offset++, n.at.ms,
                     n.incident->id, line_, &wrapped);
      out.Line(wrapped);
    } else {
      out.Line(line_);
    }
  }

  void DeadLetterOut(const DeadLetter& d, const RawMessage& m, int64_t ts) {
    s_->dead_letters++;
    s_->decisions[static_cast<int>(dedup::Decision::kDeadLetter)]++;
    if (report != nullptr) report->OnDeadLetter(ts);
    s_->dead_letter_reasons[d.reason]++;
    if (dlq.enabled()) {
      line_.clear();
      RenderDeadLetter(m.topic, m.partition, m.offset, d.index, d.reason, d.detail, m.payload,
                       &line_);
      dlq.Line(line_);
    }
    if (explain.enabled()) {
      line_.clear();
      RenderDeadLetterExplain(m.topic, m.partition, m.offset, d.index, ts, &line_);
      explain.Line(line_);
    }
  }

 private:
  const rules::CompiledRules& rules_;
  const ReplayOptions& opt_;
  ReplaySummary* s_;
  std::string line_;
  int64_t page_offset_ = 0, ticket_offset_ = 0;
};

// Ingest hands a message's dead letters to the outputs at once (as live's ingest stage
// writes them) and its records to the merger, to wait for event-time order.
class ReplayIngestSink : public IngestSink {
 public:
  ReplayIngestSink(ReplaySink& out, Correlate& correlate) : out_(out), correlate_(correlate) {}
  int input = -1;  // of the message handed over

  void OnRecord(Record& r) override { correlate_.Push(r, input); }
  void OnDeadLetter(const DeadLetter& d, const RawMessage& m, int64_t ts) override {
    out_.DeadLetterOut(d, m, ts);
  }

 private:
  ReplaySink& out_;
  Correlate& correlate_;
};

}  // namespace

Result<ReplaySummary> RunReplay(std::shared_ptr<const rules::CompiledRules> rules_ptr,
                                const ReplayOptions& opt, std::ostream& log) {
  const rules::CompiledRules& rules = *rules_ptr;
  ReplaySummary summary;
  ReplaySink sink(rules, opt, &summary);
  std::string error;
  if (!sink.pages.Open(opt.pages_path, &error) || !sink.tickets.Open(opt.tickets_path, &error) ||
      !sink.dlq.Open(opt.dlq_path, &error) || !sink.explain.Open(opt.explain_path, &error)) {
    return MakeError(ErrorCode::kIo, error);
  }
  std::unique_ptr<ReportBuilder> report;
  if (!opt.report_path.empty()) {
    report = std::make_unique<ReportBuilder>(rules);
    sink.report = report.get();
  }

  // Where each channel lies: one scan of every dump (unreadable lines are reported here).
  std::map<std::pair<std::string, int32_t>, Channel> by_address;
  uint64_t total_messages = 0;
  auto skipped_line = [&](const std::string& where) {
    summary.skipped_lines++;
    log << "noisegate: skipped unreadable line " << where << "\n";
  };
  for (const DumpSpec& d : opt.dumps) {
    std::vector<DumpChannel> found;
    std::shared_ptr<const DumpBytes> bytes;
    if (!ScanDump(d.path, d.topic, &found, &error, skipped_line, &bytes)) {
      return MakeError(ErrorCode::kIo, error);
    }
    for (DumpChannel& f : found) {
      Channel& c = by_address[{f.topic, f.partition}];
      c.topic = f.topic;
      c.partition = f.partition;
      total_messages += f.messages;
      c.segments.push_back(Channel::Segment{std::move(f), d.path, d.topic, bytes});
    }
  }
  std::vector<Channel> channels;
  channels.reserve(by_address.size());
  Correlate correlate(rules_ptr, &sink);
  InputMerger& merger = correlate.merger;
  ReplayIngestSink to_correlate(sink, correlate);
  for (auto& [address, c] : by_address) {
    // A channel split over several dumps is read in offset order (equal first offsets keep
    // the order the dumps were given in).
    std::stable_sort(c.segments.begin(), c.segments.end(),
                     [](const Channel::Segment& a, const Channel::Segment& b) {
                       return a.where.first_offset < b.where.first_offset;
                     });
    c.order = rules.FindInput(c.topic);
    c.ingest = std::make_unique<Ingest>(rules, opt.max_message_bytes, &error);
    if (!c.ingest->ok()) return MakeError(ErrorCode::kInvalidArgument, error);
    if (c.order >= 0) merger.AddChannel({c.topic, c.partition});
    channels.push_back(std::move(c));
  }
  by_address.clear();

  const dedup::Engine& engine = *correlate.engine;
  std::string skipped;
  int64_t latest_ingested = 0;  // the latest message time ingested, of any channel
  // Reads the channel's next message and decodes it, and marks the channel's progress.
  auto fill = [&](Channel& c) -> Status {
    c.ready = false;
    while (!c.done) {
      if (c.reader == nullptr) {
        if (c.next_segment == c.segments.size()) {
          c.done = true;
          break;
        }
        const Channel::Segment& seg = c.segments[c.next_segment++];
        c.reader = std::make_unique<DumpReader>(seg.path, seg.bare_topic, seg.bytes);
        if (!c.reader->Open(seg.where, &error)) return MakeError(ErrorCode::kIo, error);
      }
      if (!c.reader->Next(&c.msg, &skipped)) {
        c.reader.reset();
        continue;
      }
      if (!skipped.empty()) {
        // A line of this channel's address whose envelope is broken past it (ScanDump counts
        // it by its address and leaves the report to the reader).
        skipped_line(skipped);
        continue;
      }
      summary.messages++;
      const DumpMessage& m = c.msg;
      RawMessage raw{m.topic,   m.partition,    m.offset,        m.ts,
                     m.payload, m.payload_null, m.envelope_error};
      // (Used only for a message without a Kafka timestamp whose records have no time.)
      const int64_t fallback = c.last_ts != INT64_MIN ? c.last_ts : latest_ingested;
      const int64_t event_ts = c.ingest->Decode(raw, fallback);
      c.ingest_ts = m.ts.value_or(event_ts);
      c.first_record_ms = INT64_MAX;
      const RecordBatch& batch = c.ingest->records();
      for (size_t i = 0; i < batch.size(); ++i) {
        c.first_record_ms = std::min(c.first_record_ms, batch[i].time.ms);
      }
      c.ready = true;
      break;
    }
    // The channel's progress mark, as live writes it after ingesting (the time of the
    // latest message it ingested), moved up to just before the earliest record of its next
    // message when that is later: a channel is read in order, so nothing of it before then
    // is still to come (a record late within its own channel is late in live too). (The
    // records' times, not the message's: today's decoders give a record its message's Kafka
    // timestamp when it has one, but the merge must not depend on that.) Read to its end,
    // it is idle.
    if (c.order >= 0) {
      int64_t mark = c.last_ts;
      if (c.ready && c.first_record_ms != INT64_MAX) {
        mark = std::max(mark, c.first_record_ms - 1);
      }
      merger.Mark({c.topic, c.partition}, mark, c.done);
    }
    return Status();
  };
  for (Channel& c : channels) {
    if (Status st = fill(c); !st) return st.error();
  }

  const bool progress = opt.progress && isatty(STDERR_FILENO) && total_messages > 0;
  uint64_t next_progress = 0;
  while (true) {
    // The next message to ingest, as live picks it (channels are in address order, so
    // topics that are no input break their ties by name).
    Channel* next = nullptr;
    for (Channel& c : channels) {
      if (c.ready &&
          (next == nullptr || IngestsBefore(c.ingest_ts, c.order, c.partition, next->ingest_ts,
                                            next->order, next->partition))) {
        next = &c;
      }
    }
    if (next == nullptr) break;
    to_correlate.input = next->order;
    next->ingest->HandOver(to_correlate, &next->channel_time);
    next->last_ts = std::max(next->last_ts, next->ingest->ts());
    latest_ingested = std::max(latest_ingested, next->ingest->ts());
    if (Status st = fill(*next); !st) return st.error();
    summary.records += correlate.Release();
    if (progress && summary.messages >= next_progress) {
      int pct = std::min(100, static_cast<int>(100.0 * static_cast<double>(summary.messages) /
                                               static_cast<double>(total_messages)));
      std::fprintf(stderr, "\r[%-40s] %3d%%  %llu records",
                   std::string(pct * 40 / 100, '#').c_str(), pct,
                   static_cast<unsigned long long>(summary.records));
      next_progress = summary.messages + 20000;
    }
  }
  if (progress) std::fprintf(stderr, "\r%70s\r", "");
  summary.records += correlate.Release();  // (every channel is idle now)
  // What is due at the last record's time, then what is due up to --until.
  correlate.End(RunOn{opt.until_ms, opt.until_after_ms}, /*finish=*/true);
  summary.incidents_opened = engine.stats().incidents_opened;
  summary.open_incidents_at_end = engine.stats().open_incidents;
  summary.state_at_end = engine.state_sizes();
  summary.fingerprints_expired = engine.stats().fingerprints_expired;
  // Dead letters are counted as records too: each is one input record with one decision.
  summary.records += summary.dead_letters;
  if (opt.compare_with != nullptr) {
    summary.diff = CompareReplays(opt.name, summary, opt.compare_name, *opt.compare_with);
  }
  if (report != nullptr && !report->Write(opt.report_path, summary, &error)) {
    return MakeError(ErrorCode::kIo, error);
  }
  return summary;
}

void PrintSummary(const ReplaySummary& s, std::ostream& out) {
  out << "records in:        " << s.records << " (" << s.messages << " messages";
  if (s.skipped_lines) out << ", " << s.skipped_lines << " unreadable lines skipped";
  out << ")\n";
  out << "decisions:\n";
  for (int i = 0; i < dedup::kDecisionCount; ++i) {
    out << "  " << std::left << std::setw(17)
        << dedup::DecisionName(static_cast<dedup::Decision>(i)) << std::right << std::setw(10)
        << s.decisions[i] << "\n";
  }
  if (s.late) out << "late records:      " << s.late << "\n";
  out << "incidents opened:  " << s.incidents_opened << " (" << s.open_incidents_at_end
      << " still open at the end)\n";
  out << "state at the end:  " << s.state_at_end.fingerprints << " fingerprints ("
      << s.fingerprints_expired << " inert ones expired on the way), " << s.state_at_end.log_signals
      << " log signals, " << s.state_at_end.versions << " versions\n";
  out << "pages:             " << s.pages_opened << " incidents paged (" << s.page_triggers
      << " triggers, " << s.page_resolves << " resolves)\n";
  out << "tickets:           " << s.tickets_opened << " incidents ticketed (" << s.ticket_triggers
      << " triggers, " << s.ticket_resolves << " resolves)\n";
  uint64_t notified = s.pages_opened + s.tickets_opened;
  if (notified > 0) {
    out << "reduction:         " << std::fixed << std::setprecision(1)
        << static_cast<double>(s.records) / static_cast<double>(notified)
        << "x (records per incident sent)";
    if (s.pages_opened > 0) {
      out << ", " << static_cast<double>(s.records) / static_cast<double>(s.pages_opened)
          << "x per page";
    }
    out << "\n";
  }
  if (!s.dead_letter_reasons.empty()) {
    out << "dead letters by reason:\n";
    for (const auto& [reason, n] : s.dead_letter_reasons) {
      out << "  " << std::left << std::setw(17) << reason << std::right << std::setw(10) << n
          << "\n";
    }
  }
  size_t listed = 0;
  for (const EmittedEvent& e : s.events) {
    if (e.action != dedup::NotifyAction::kTrigger || e.reason == "repeat") continue;
    if (listed == 0) out << "what was sent (triggers; resolves and repeats not listed):\n";
    if (++listed > 50) {
      out << "  ...\n";
      break;
    }
    out << "  " << FormatRfc3339(EventTime{e.at_ms}) << "  "
        << (e.route == rules::Action::kPage ? "PAGE  " : "ticket") << "  " << e.incident << "  "
        << std::left << std::setw(10) << e.reason << std::right << " " << e.summary << "\n";
  }
  out << "rule hits:\n";
  for (const auto& [rule, n] : s.rule_hits) {
    out << "  " << std::left << std::setw(40) << rule << std::right << std::setw(10) << n << "\n";
  }
}

}  // namespace noisegate::processor

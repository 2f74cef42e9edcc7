#include "processor/replay/replay.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <memory>

#include "processor/decode/decoder.h"
#include "processor/decode/message.h"
#include "processor/output/render.h"
#include "processor/replay/dump_reader.h"

namespace noisegate::processor {
namespace {

// A buffered output file; a no-op when no path was given.
class OutFile {
 public:
  bool Open(const std::string& path, std::string* error) {
    if (path.empty()) return true;
    f_ = std::fopen(path.c_str(), "wb");
    if (f_ == nullptr) {
      *error = path + ": cannot open for writing";
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

// One dump being read, with its next decoded message ready.
struct Source {
  std::unique_ptr<DumpReader> reader;
  std::vector<std::unique_ptr<Decoder>> decoders;  // per rules input
  DumpMessage msg;
  RecordBatch batch;
  std::vector<DeadLetter> dead;
  int64_t sort_ts = 0;
  bool ready = false;
  bool done = false;
};

class ReplaySink : public dedup::Sink {
 public:
  ReplaySink(const rules::CompiledRules& rules, const ReplayOptions& opt, ReplaySummary* s)
      : rules_(rules), opt_(opt), s_(s) {}

  OutFile pages, tickets, dlq, explain;

  void OnDecision(const dedup::DecisionEvent& e) override {
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
      RenderExplain(e, &line_);
      explain.Line(line_);
    }
  }

  void OnNotification(const dedup::Notification& n) override {
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
      ev.summary = IncidentSummary(*n.incident, rules_);
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

  void DeadLetterOut(const DumpMessage& m, int32_t index, std::string_view reason,
                     std::string_view detail, int64_t ts) {
    s_->dead_letters++;
    s_->decisions[static_cast<int>(dedup::Decision::kDeadLetter)]++;
    s_->dead_letter_reasons[std::string(reason)]++;
    if (dlq.enabled()) {
      line_.clear();
      RenderDeadLetter(m.topic, m.partition, m.offset, index, reason, detail, m.payload, &line_);
      dlq.Line(line_);
    }
    if (explain.enabled()) {
      line_.clear();
      RenderDeadLetterExplain(m.topic, m.partition, m.offset, index, ts, &line_);
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

// Decodes the source's current message into its batch / dead letters.
void DecodeCurrent(Source& src, const rules::CompiledRules& rules, const ReplayOptions& opt,
                   int64_t fallback_ts) {
  const DumpMessage& m = src.msg;
  RawMessage raw{m.topic, m.partition, m.offset, m.ts, m.payload, m.payload_null, m.envelope_error};
  src.sort_ts = DecodeMessage(rules, src.decoders, raw, opt.max_message_bytes, fallback_ts,
                              src.batch, src.dead);
}

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

  std::vector<Source> sources(opt.dumps.size());
  uint64_t total_bytes = 0;
  for (size_t i = 0; i < opt.dumps.size(); ++i) {
    Source& s = sources[i];
    s.reader = std::make_unique<DumpReader>(opt.dumps[i].path, opt.dumps[i].topic);
    if (!s.reader->Open(&error)) return MakeError(ErrorCode::kIo, error);
    total_bytes += s.reader->size();
    s.decoders = MakeDecoders(rules, &error);
    if (s.decoders.empty() && !rules.inputs.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, error);
    }
  }

  dedup::Engine engine(rules_ptr, &sink);
  int64_t last_ts = 0;
  std::string skipped;
  auto fill = [&](Source& s) {
    s.ready = false;
    while (!s.done) {
      if (!s.reader->Next(&s.msg, &skipped)) {
        s.done = true;
        return;
      }
      if (!skipped.empty()) {
        summary.skipped_lines++;
        log << "noisegate: skipped unreadable line " << skipped << "\n";
        continue;
      }
      summary.messages++;
      DecodeCurrent(s, rules, opt, last_ts);
      s.ready = true;
      return;
    }
  };
  for (Source& s : sources) fill(s);

  const bool progress = opt.progress && isatty(STDERR_FILENO) && total_bytes > 0;
  uint64_t next_progress = 0;
  while (true) {
    // The next message in event time; ties go to the earlier file, then file order.
    Source* next = nullptr;
    for (Source& s : sources) {
      if (s.ready && (next == nullptr || s.sort_ts < next->sort_ts)) next = &s;
    }
    if (next == nullptr) break;
    last_ts = std::max(last_ts, next->sort_ts);
    // Records and dead letters of a message in index order, so explain follows input order.
    size_t r = 0, d = 0;
    while (r < next->batch.size() || d < next->dead.size()) {
      bool take_dead = d < next->dead.size() &&
                       (r >= next->batch.size() || next->dead[d].index < next->batch[r].addr.index);
      if (take_dead) {
        const DeadLetter& dl = next->dead[d++];
        sink.DeadLetterOut(next->msg, dl.index, dl.reason, dl.detail, next->sort_ts);
      } else {
        engine.Process(next->batch[r++]);
        summary.records++;
      }
    }
    fill(*next);
    if (progress && summary.messages >= next_progress) {
      uint64_t done = 0;
      for (const Source& s : sources) done += s.reader->bytes_read();
      int pct = static_cast<int>(100.0 * static_cast<double>(done) / total_bytes);
      std::fprintf(stderr, "\r[%-40s] %3d%%  %llu records",
                   std::string(pct * 40 / 100, '#').c_str(), pct,
                   static_cast<unsigned long long>(summary.records));
      next_progress = summary.messages + 20000;
    }
  }
  if (progress) std::fprintf(stderr, "\r%70s\r", "");
  engine.Finish();
  summary.incidents_opened = engine.stats().incidents_opened;
  summary.open_incidents_at_end = engine.stats().open_incidents;
  summary.state_at_end = engine.state_sizes();
  summary.fingerprints_expired = engine.stats().fingerprints_expired;
  // Dead letters are counted as records too: each is one input record with one decision.
  summary.records += summary.dead_letters;
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

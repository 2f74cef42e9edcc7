// `noisegate decode`: what messages decode to under a rules file, shown as a person reads them
// (as `amtool alert query` lists alerts): each record's kind, state, times, severity, its own
// labels and the computed ones matchers also see, summary and link; and each dead letter with
// its reason. It is how an SRE finds the labels to write matchers for a vendor's payload.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "rules/compiled_rules.h"

namespace noisegate::processor {

struct DecodeSource {
  std::string path;                  // "-" is standard input
  std::optional<std::string> topic;  // set: the whole file is one message body of this topic;
                                     // unset: a dump of kcat -J envelopes, one per line
};

struct DecodeShowOptions {
  bool json = false;  // one JSON object per record or dead letter, instead of text
  size_t max_message_bytes = 0;
  // The Kafka timestamp (ms) a message body read with a topic gets, as the broker stamps
  // what the HTTP intake or a bridge writes (decoders take it as a record's time when the
  // payload has none, and some formats in place of the payload's). Dumps carry their own.
  int64_t body_ts = 0;
};

// Decodes every message of `sources` through DecodeMessage (as replay and live do) and writes
// what came out to `out`. Returns false (with a message on `err`) when a file cannot be read;
// dead letters are output, not failures.
bool ShowDecoded(const rules::CompiledRules& rules, const std::vector<DecodeSource>& sources,
                 const DecodeShowOptions& opt, std::ostream& out, std::ostream& err);

}  // namespace noisegate::processor

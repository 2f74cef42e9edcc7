// Rendering of engine outputs into the edge formats of ../shared/design/interfaces.md:
// paging/ticket events (PagerDuty Events v2 shaped), explain lines, dead letters and kcat -J
// envelopes. Replay and live both write through these, so their bytes are identical.
#pragma once

#include <string>
#include <string_view>

#include "dedup/engine.h"
#include "processor/output/json_writer.h"
#include "rules/compiled_rules.h"

namespace noisegate::processor {

// The one-line summary of an incident: where users feel it, the lead signal, how many more.
std::string IncidentSummary(const dedup::Notification& n, const rules::CompiledRules& rules);
// Appends the event JSON (no newline) for a trigger or resolve.
void RenderNotification(const dedup::Notification& n, const rules::CompiledRules& rules,
                        std::string* out);
// Appends one explain line (no newline). `ts` is the record's event time.
// `readable`: the line also names the signal ("name": alertname or log template) and says
// what it said ("summary"), so a person reads it without joining it back to the input.
void RenderExplain(const dedup::DecisionEvent& e, std::string* out, bool readable = false);
// Writes the "topic", "partition", "offset" and "index" members every per-record line starts
// with, into the object `w` has open.
void WriteAddress(JsonWriter& w, std::string_view topic, int32_t partition, int64_t offset,
                  int32_t index);
// Appends the explain line of a message or record that went to the dead-letter output.
void RenderDeadLetterExplain(std::string_view topic, int32_t partition, int64_t offset,
                             int32_t index, int64_t ts, std::string* out);
// Appends one dead-letter object (no newline); the payload is cut at 64 KiB.
void RenderDeadLetter(std::string_view topic, int32_t partition, int64_t offset, int32_t index,
                      std::string_view reason, std::string_view detail, std::string_view payload,
                      std::string* out);
// Appends a kcat -J envelope around `value` (which must already be JSON text).
void RenderEnvelope(std::string_view topic, int32_t partition, int64_t offset, int64_t ts,
                    std::string_view key, std::string_view value, std::string* out);

inline constexpr size_t kMaxDeadLetterPayload = 64 * 1024;

}  // namespace noisegate::processor

// Decoder for format `datadog`: the JSON a Datadog monitor posts through the Webhooks
// integration. The payload is user-templated from $VARIABLES, so field names follow the common
// templates (alert_id, alert_transition, alert_type, title, body, tags, date, ...) and numbers
// may arrive as strings. One notification is one record.
#pragma once

#include <memory>

#include "processor/decode/decoder.h"

namespace noisegate::processor {

// Returns a new decoder owning its parser; one per thread. Never fails.
std::unique_ptr<Decoder> MakeDatadogDecoder(const DecoderConfig& config);

}  // namespace noisegate::processor

// Decoder for format `newrelic`: the JSON a New Relic workflow posts to a webhook destination
// (the default payload template: issueId/id, issuePageUrl/issueUrl, title, priority, state,
// impactedEntities, alertPolicyNames, alertConditionNames, createdAt/updatedAt, ...). One issue
// notification is one record.
#pragma once

#include <memory>

#include "processor/decode/decoder.h"

namespace noisegate::processor {

// Returns a new decoder owning its parser; one per thread. Never fails.
std::unique_ptr<Decoder> MakeNewRelicDecoder(const DecoderConfig& config);

}  // namespace noisegate::processor

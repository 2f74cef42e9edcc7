// Decoders for Alertmanager-shaped alerts: `alertmanager` (the webhook payload, or alerts as
// POST /api/v2/alerts takes them: one object or an array) and `grafana` (Grafana unified
// alerting's webhook: the same shape plus Grafana's fields). One implementation serves both.
#pragma once

#include <memory>

#include "processor/decode/decoder.h"

namespace noisegate::processor {

// Each returns a new decoder owning its parser; one per thread. Never fails.
std::unique_ptr<Decoder> MakeAlertmanagerDecoder(const DecoderConfig& config);
std::unique_ptr<Decoder> MakeGrafanaDecoder(const DecoderConfig& config);

}  // namespace noisegate::processor

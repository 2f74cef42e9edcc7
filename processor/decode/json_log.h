// Decoder for format `json_log`: one structured log line per message (or a JSON array of log
// objects). Fields are found by JSON pointers from DecoderConfig::fields, or by common defaults
// (ECS, logfmt-style, pino/zap) when a pointer is empty.
#pragma once

#include <memory>

#include "processor/decode/decoder.h"

namespace noisegate::processor {

// Returns a new decoder owning its parser; one per thread. The field pointers are compiled
// once here. Never fails: a pointer without its leading '/' is read as if it had one.
std::unique_ptr<Decoder> MakeJsonLogDecoder(const DecoderConfig& config);

}  // namespace noisegate::processor

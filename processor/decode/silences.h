// Decoder for format `silences`: one runtime silence per message, in Alertmanager's silence
// model (`id`, `matchers` [{name, value, isRegex, isEqual}], `startsAt`, `endsAt`, `createdBy`,
// `comment`, `updatedAt`), as the silences API writes it to its compacted topic (keyed by id;
// expiring is the same id with `endsAt` set to the time it was expired). Its record
// (SignalKind::kSilence) takes effect at its event time: the Kafka timestamp, else
// `updatedAt`, else `startsAt`.
#pragma once

#include <memory>

#include "processor/decode/decoder.h"

namespace noisegate::processor {

// Returns a new decoder owning its parser; one per thread. Never fails.
std::unique_ptr<Decoder> MakeSilencesDecoder(const DecoderConfig& config);
// The same for the body of `POST /api/v2/silences` (Alertmanager's postable silence): `id` is
// optional (absent: a new silence) and the record's time is left to the caller.
std::unique_ptr<Decoder> MakePostableSilenceDecoder();

}  // namespace noisegate::processor

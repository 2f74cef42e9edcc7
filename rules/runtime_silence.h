// Runtime silences: Alertmanager's silence model (dedup/record.h, SilenceSpec), as the silences
// API takes it and the `silences` input format carries it, made into a rules silence. One check
// for all of them, so that what the API accepts is what the engine applies.
#pragma once

#include "dedup/record.h"
#include "dedup/result.h"
#include "rules/compiled_rules.h"

namespace noisegate::rules {

// The silence, named "silence <id>"; an error (Alertmanager's rules) when it has no matchers, a
// matcher without a name or with an invalid regex, only matchers that an absent label matches
// (it would mute nearly everything), or an end before its start.
Result<Silence> CompileSilence(const SilenceSpec& spec);

}  // namespace noisegate::rules

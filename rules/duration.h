// Durations in rules files, in Prometheus' syntax: "30s", "5m", "1h30m", "2d", "500ms".
#pragma once

#include <string>
#include <string_view>

#include "dedup/result.h"
#include "dedup/types.h"

namespace noisegate::rules {

Result<Millis> ParseDuration(std::string_view text);
// "90m" -> "1h30m": durations in messages read the way they are written ("0" for zero).
std::string FormatDuration(Millis d);

}  // namespace noisegate::rules

// The query string of an API request: its parameters' values, and Alertmanager's `filter`
// matchers (`?filter=alertname%3D"Disk"&filter=...`), as the silences and alerts lists take
// them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rules/matcher.h"

namespace noisegate::processor {

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
std::string UrlDecode(std::string_view s);
// The values of every `name=` parameter of a query string.
std::vector<std::string> QueryValues(std::string_view query, std::string_view name);
// The `filter` matchers of `query` into `out`; the reason (for a 400) when one is no matcher.
std::string ParseFilter(std::string_view query, std::vector<rules::Matcher>* out);

}  // namespace noisegate::processor

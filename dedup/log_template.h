// Log templates: an error message with its variable parts masked, so that
// "timeout after 3012ms for user 12345" and "timeout after 2999ms for user 777" become the
// one signal "timeout after <num> for user <num>". One linear pass over at most
// kMaxTemplateInput bytes (bounded work per record); the output buffer is reused.
#pragma once

#include <string>
#include <string_view>

namespace noisegate::dedup {

inline constexpr size_t kMaxTemplateInput = 1024;

// Which masking MineTemplate does. Bump it whenever a message's template can change: log
// signals then get new identities, and an engine restored from older state learns them again
// for logs.surge.warmup before they may surge (dedup/snapshot.cc).
inline constexpr uint32_t kTemplateScheme = 1;

// Writes the template of `message` into `out` (cleared first). Masks: numbers and numbers
// with units (<num>), UUIDs (<uuid>), hex ids (<hex>), IPv4/IPv6 addresses with ports (<ip>),
// URLs (<url>), paths (<path>), e-mail addresses (<email>), quoted values (<str>), and
// tokens that mix letters with digits (<id>). Whitespace runs collapse to one space.
void MineTemplate(std::string_view message, std::string* out);

}  // namespace noisegate::dedup

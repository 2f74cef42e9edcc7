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
// Scheme 2: hex ids of letters alone are masked; numbers, hex ids and mixed ids key alike.
inline constexpr uint32_t kTemplateScheme = 2;

// Writes the template of `message` into `out` (cleared first). Masks: numbers and numbers
// with units (<num>), UUIDs (<uuid>), hex ids (<hex>), IPv4/IPv6 addresses with ports (<ip>),
// URLs (<url>), paths (<path>), e-mail addresses (<email>), quoted values (<str>), and
// tokens that mix letters with digits (<id>). Whitespace runs collapse to one space.
void MineTemplate(std::string_view message, std::string* out);

// What identifies a template's signal: the template with <num>, <hex> and <id> as one
// placeholder, since one slot of a message holds all three ("order 45888872", "order
// b33df7e3", "order user12") and one problem must stay one signal. The template itself keeps
// them apart for people and for `template` matchers.
void TemplateKey(std::string_view tmpl, std::string* key);

}  // namespace noisegate::dedup

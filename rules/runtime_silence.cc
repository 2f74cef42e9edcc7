#include "rules/runtime_silence.h"

#include <string>
#include <utility>
#include <vector>

namespace noisegate::rules {

Result<Silence> CompileSilence(const SilenceSpec& spec) {
  auto invalid = [](std::string what) { return MakeError(ErrorCode::kInvalidArgument, what); };
  if (spec.matchers.empty()) return invalid("a silence needs at least one matcher");
  if (spec.ends < spec.starts) return invalid("endsAt is before startsAt");
  Silence s;
  s.name = "silence " + spec.id;
  s.runtime = true;
  s.starts = spec.starts;
  s.ends = spec.ends;
  s.comment = spec.comment;
  std::vector<Matcher> matchers;
  bool selective = false;
  for (size_t i = 0; i < spec.matchers.size(); ++i) {
    const SilenceSpec::Matcher& m = spec.matchers[i];
    const std::string where = "matchers[" + std::to_string(i) + "]: ";
    if (m.name.empty()) return invalid(where + "the label name is empty");
    const MatchOp op = m.regex ? (m.equal ? MatchOp::kRegex : MatchOp::kNotRegex)
                               : (m.equal ? MatchOp::kEqual : MatchOp::kNotEqual);
    Result<Matcher> made = Matcher::Make(m.name, op, m.value);
    if (!made) return invalid(where + made.error().detail);
    selective |= !made->MatchesValue("");
    matchers.push_back(std::move(made).value());
  }
  if (!selective) {
    return invalid(
        "every matcher matches an absent label, so the silence would mute nearly "
        "every alert: at least one must not match the empty string");
  }
  s.matchers = MatcherSet(std::move(matchers));
  return s;
}

}  // namespace noisegate::rules

// Label matchers in Alertmanager's syntax: name="v", name!="v", name=~"re", name!~"re".
// Regexes are RE2 (Go's syntax, linear time) and fully anchored, as in Alertmanager. A missing
// label matches as the empty string. Matchers are compiled once when rules load.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/result.h"

namespace re2 {
class RE2;
}

namespace noisegate::rules {

// What a matcher reads labels from: a record's own labels plus the engine's enrichment.
class LabelSource {
 public:
  virtual ~LabelSource() = default;
  virtual std::string_view Get(std::string_view name) const = 0;
};

enum class MatchOp { kEqual, kNotEqual, kRegex, kNotRegex };

class Matcher {
 public:
  // Parses one matcher; the error detail says what was expected and at which character.
  static Result<Matcher> Parse(std::string_view text);
  static Result<Matcher> Make(std::string name, MatchOp op, std::string value);

  bool MatchesValue(std::string_view value) const;
  bool Matches(const LabelSource& labels) const { return MatchesValue(labels.Get(name_)); }

  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }
  // The matcher in canonical text form, e.g. severity=~"warning|critical".
  std::string ToString() const;

 private:
  std::string name_;
  MatchOp op_ = MatchOp::kEqual;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;
};

// A conjunction: every matcher must match. An empty set matches everything.
class MatcherSet {
 public:
  MatcherSet() = default;
  explicit MatcherSet(std::vector<Matcher> m) : matchers_(std::move(m)) {}
  bool Matches(const LabelSource& labels) const {
    for (const Matcher& m : matchers_) {
      if (!m.Matches(labels)) return false;
    }
    return true;
  }
  bool empty() const { return matchers_.empty(); }
  const std::vector<Matcher>& matchers() const { return matchers_; }
  std::string ToString() const;

 private:
  std::vector<Matcher> matchers_;
};

}  // namespace noisegate::rules

#include "rules/matcher.h"

#include <re2/re2.h>

namespace noisegate::rules {
namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (!first && ((c >= '0' && c <= '9') || c == '.' || c == '-'));
}

void SkipSpace(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t')) ++*i;
}

Error At(size_t pos, std::string what) {
  return MakeError(ErrorCode::kParse, "at character " + std::to_string(pos + 1) + ": " + what);
}

std::string Quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

Result<Matcher> Matcher::Make(std::string name, MatchOp op, std::string value) {
  Matcher m;
  m.name_ = std::move(name);
  m.op_ = op;
  m.value_ = std::move(value);
  if (op == MatchOp::kRegex || op == MatchOp::kNotRegex) {
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<RE2>("^(?:" + m.value_ + ")$", opts);
    if (!re->ok()) {
      return MakeError(ErrorCode::kParse,
                       "invalid regular expression " + Quote(m.value_) + ": " + re->error());
    }
    m.re_ = std::move(re);
  }
  return m;
}

Result<Matcher> Matcher::Parse(std::string_view s) {
  size_t i = 0;
  SkipSpace(s, &i);
  size_t name_start = i;
  if (i >= s.size() || !IsNameChar(s[i], true)) {
    return At(i, "expected a label name like severity=\"critical\"");
  }
  while (i < s.size() && IsNameChar(s[i], false)) ++i;
  std::string name(s.substr(name_start, i - name_start));
  SkipSpace(s, &i);
  MatchOp op;
  if (s.substr(i, 2) == "=~") {
    op = MatchOp::kRegex;
    i += 2;
  } else if (s.substr(i, 2) == "!~") {
    op = MatchOp::kNotRegex;
    i += 2;
  } else if (s.substr(i, 2) == "!=") {
    op = MatchOp::kNotEqual;
    i += 2;
  } else if (s.substr(i, 1) == "=") {
    op = MatchOp::kEqual;
    i += 1;
  } else {
    return At(i, "expected one of =, !=, =~, !~ after label name '" + name + "'");
  }
  SkipSpace(s, &i);
  std::string value;
  if (i < s.size() && s[i] == '"') {
    ++i;
    bool closed = false;
    while (i < s.size()) {
      char c = s[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\' && i < s.size()) {
        char e = s[i++];
        value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
        continue;
      }
      value.push_back(c);
    }
    if (!closed) return At(s.size(), "unterminated quoted value");
  } else {
    // An unquoted value that starts like an operator or a quote is a typo (severity=="x"),
    // not a value that could ever match.
    if (i < s.size() && s[i] == '\'') {
      // severity='critical' would be the value 'critical', quotes and all: never a match.
      return At(i, "single quotes do not quote a value here: write " + name + "=\"...\"");
    }
    if (i < s.size() && (s[i] == '=' || s[i] == '~' || s[i] == '!' || s[i] == '"')) {
      return At(i, "unexpected '" + std::string(1, s[i]) + "': quote the value, like " + name +
                       "=\"value\"");
    }
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    value = std::string(s.substr(start, i - start));
  }
  SkipSpace(s, &i);
  if (i != s.size()) return At(i, "unexpected text after the value");
  return Make(std::move(name), op, std::move(value));
}

bool Matcher::MatchesValue(std::string_view v) const {
  switch (op_) {
    case MatchOp::kEqual:
      return v == value_;
    case MatchOp::kNotEqual:
      return v != value_;
    case MatchOp::kRegex:
      return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    case MatchOp::kNotRegex:
      return !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
  }
  return false;
}

std::string Matcher::ToString() const {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  return name_ + kOps[static_cast<int>(op_)] + Quote(value_);
}

std::string MatcherSet::ToString() const {
  std::string out = "{";
  for (size_t i = 0; i < matchers_.size(); ++i) {
    if (i) out += ", ";
    out += matchers_[i].ToString();
  }
  return out + "}";
}

}  // namespace noisegate::rules

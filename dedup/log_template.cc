#include "dedup/log_template.h"

#include <algorithm>

namespace noisegate::dedup {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
// Punctuation that frames a token without being part of it.
bool IsFrame(char c) {
  return c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' ||
         c == ';' || c == '<' || c == '>';
}

// Most tokens differ from the prefix in their first byte: that check comes before memcmp.
bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && (p.empty() || s[0] == p[0]) && s.substr(0, p.size()) == p;
}

bool IsUuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? t[i] != '-' : !IsHex(t[i])) return false;
  }
  return true;
}

bool IsIpv4(std::string_view t) {
  int dots = 0, digits = 0;
  size_t i = 0;
  for (; i < t.size() && t[i] != ':' && t[i] != '/'; ++i) {
    if (t[i] == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (IsDigit(t[i])) {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  if (dots != 3 || digits == 0) return false;
  for (++i; i < t.size(); ++i) {
    if (!IsDigit(t[i]) && t[i] != '/') return false;  // :port or /prefix
  }
  return true;
}

bool IsIpv6(std::string_view t) {
  int colons = 0;
  for (char c : t) {
    if (c == ':') {
      ++colons;
    } else if (!IsHex(c) && c != '.' && c != '[' && c != ']' && c != '%') {
      return false;
    }
  }
  return colons >= 2 && t.size() >= 3;
}

// Units that may follow a number ("3012ms", "87%", "2.5GiB"); anything else after digits
// makes the token an id, not a number.
bool IsUnit(std::string_view u) {
  static constexpr std::string_view kUnits[] = {"",    "ms",  "us",  "ns",  "s",   "m", "h",  "d",
                                                "b",   "kb",  "mb",  "gb",  "tb",  "k", "x",  "%",
                                                "kib", "mib", "gib", "rps", "qps", "w", "ops"};
  if (u.size() > 3) return false;
  char lower[4] = {};
  for (size_t i = 0; i < u.size(); ++i) {
    char c = u[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  std::string_view l(lower, u.size());
  for (std::string_view unit : kUnits) {
    if (l == unit) return true;
  }
  return false;
}

// Digits with separators (3.5, 1,024, 12:30:01, 2026-11-24) and an optional unit suffix
// (ms, s, KiB, %, x ...): a number to mask.
bool IsNumberish(std::string_view t) {
  size_t i = 0;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
  size_t digits = 0;
  for (; i < t.size(); ++i) {
    if (IsDigit(t[i])) {
      ++digits;
    } else if (t[i] != '.' && t[i] != ',' && t[i] != ':' && t[i] != '-' && t[i] != 'T' &&
               t[i] != 'Z') {
      break;
    }
  }
  if (digits == 0) return false;
  return IsUnit(t.substr(i));
}

// Hex digits (and dashes), six or more with a digit among them, or eight or more of letters
// alone: an id whose digits happen to be all letters ("bceaedbb") is still an id (no
// English word of eight letters is spelt from a to f alone).
bool IsHexId(std::string_view t) {
  if (StartsWith(t, "0x") || StartsWith(t, "0X")) return t.size() > 2;
  if (t.size() < 6) return false;
  bool digit = false, dash = false;
  for (char c : t) {
    if (!IsHex(c) && c != '-') return false;
    digit |= IsDigit(c);
    dash |= c == '-';
  }
  // (Letters alone only undashed: "--------" and "add-a-bed" are no ids.)
  return digit || (!dash && t.size() >= 8);
}

bool MixesLettersAndDigits(std::string_view t) {
  bool digit = false, alpha = false;
  for (char c : t) {
    digit |= IsDigit(c);
    alpha |= IsAlpha(c);
  }
  return digit && alpha && t.size() >= 4;
}

// Masks one whitespace-free token (frame punctuation already stripped).
void MaskCore(std::string_view t, std::string* out) {
  if (t.empty()) return;
  // Plain words, most tokens of a message, have nothing to mask: every rule below needs a
  // digit or punctuation.
  if (std::all_of(t.begin(), t.end(), [](char c) { return IsAlpha(c); })) {
    out->append(t.size() >= 8 && IsHexId(t) ? std::string_view("<hex>") : t);
    return;
  }
  if (StartsWith(t, "http://") || StartsWith(t, "https://") || StartsWith(t, "jdbc:") ||
      StartsWith(t, "postgres://") || StartsWith(t, "redis://") || StartsWith(t, "mysql://")) {
    out->append("<url>");
    return;
  }
  if (IsUuid(t)) {
    out->append("<uuid>");
    return;
  }
  if (IsIpv4(t) || IsIpv6(t)) {
    out->append("<ip>");
    return;
  }
  if (t[0] == '/' && t.size() > 1) {
    out->append("<path>");
    return;
  }
  size_t at = t.find('@');
  if (at != std::string_view::npos && at > 0 && t.find('.', at) != std::string_view::npos) {
    out->append("<email>");
    return;
  }
  // key=value and key:value: keep the key, mask the value.
  size_t eq = t.find('=');
  if (eq != std::string_view::npos && eq > 0 && eq + 1 < t.size()) {
    out->append(t.substr(0, eq + 1));
    MaskCore(t.substr(eq + 1), out);
    return;
  }
  // Trailing sentence punctuation stays outside the mask ("after 30s." -> "after <num>.").
  size_t end = t.size();
  while (end > 0 &&
         (t[end - 1] == '.' || t[end - 1] == ':' || t[end - 1] == '!' || t[end - 1] == '?')) {
    --end;
  }
  std::string_view core = t.substr(0, end);
  std::string_view tail = t.substr(end);
  if (core.empty()) {
    out->append(t);
    return;
  }
  if (IsNumberish(core)) {
    out->append("<num>");
  } else if (IsHexId(core)) {
    out->append("<hex>");
  } else if (MixesLettersAndDigits(core)) {
    out->append("<id>");
  } else {
    out->append(core);
  }
  out->append(tail);
}

}  // namespace

void MineTemplate(std::string_view msg, std::string* out) {
  out->clear();
  if (msg.size() > kMaxTemplateInput) msg = msg.substr(0, kMaxTemplateInput);
  size_t i = 0;
  const size_t n = msg.size();
  while (i < n) {
    if (IsSpace(msg[i])) {
      while (i < n && IsSpace(msg[i])) ++i;
      if (!out->empty() && i < n) out->push_back(' ');
      continue;
    }
    char c = msg[i];
    if (c == '[') {  // a bracketed IPv6 address with a port: [2001:db8::1]:443
      size_t end = i;
      while (end < n && !IsSpace(msg[end])) ++end;
      if (IsIpv6(msg.substr(i, end - i))) {
        out->append("<ip>");
        i = end;
        continue;
      }
    }
    if (IsFrame(c)) {
      out->push_back(c);
      ++i;
      continue;
    }
    // A quoted value at the start of a token runs to its closing quote.
    if (c == '"' || c == '\'' || c == '`') {
      size_t close = msg.find(c, i + 1);
      if (close != std::string_view::npos) {
        out->append("<str>");
        i = close + 1;
        continue;
      }
    }
    size_t start = i;
    while (i < n && !IsSpace(msg[i]) && !IsFrame(msg[i])) ++i;
    MaskCore(msg.substr(start, i - start), out);
  }
}

void TemplateKey(std::string_view tmpl, std::string* key) {
  key->clear();
  size_t i = 0;
  for (size_t at = tmpl.find('<'); at != std::string_view::npos; at = tmpl.find('<', i)) {
    key->append(tmpl.substr(i, at - i));
    std::string_view rest = tmpl.substr(at);
    size_t len = StartsWith(rest, "<num>") || StartsWith(rest, "<hex>") ? 5
                 : StartsWith(rest, "<id>")                             ? 4
                                                                        : 0;
    if (len > 0) {
      key->append("<*>");
      i = at + len;
    } else {
      key->push_back('<');
      i = at + 1;
    }
  }
  key->append(tmpl.substr(i));
}

}  // namespace noisegate::dedup

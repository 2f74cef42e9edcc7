#include "processor/intake/query_string.h"

#include <utility>

namespace noisegate::processor {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> QueryValues(std::string_view query, std::string_view name) {
  std::vector<std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = part.find('=');
    if (UrlDecode(part.substr(0, eq)) != name || eq == std::string_view::npos) continue;
    out.push_back(UrlDecode(part.substr(eq + 1)));
  }
  return out;
}

std::string ParseFilter(std::string_view query, std::vector<rules::Matcher>* out) {
  for (const std::string& text : QueryValues(query, "filter")) {
    Result<rules::Matcher> m = rules::Matcher::Parse(text);
    if (!m) return "bad filter " + text + ": " + m.error().detail;
    out->push_back(std::move(m).value());
  }
  return "";
}

}  // namespace noisegate::processor

// Diagnostic: one problem found while loading a rules file, pointing at the YAML node that
// caused it (file, 1-based line and column, YAML path such as correlate[0].group_wait) with a
// message a person can act on. The loader collects all of them instead of stopping at one.
#pragma once

#include <string>

namespace noisegate::rules {

struct Diagnostic {
  std::string file;
  int line = 0;      // 1-based; 0 when the problem has no position (e.g. the file cannot be read)
  int column = 0;    // 1-based
  std::string path;  // empty for problems of the whole document (e.g. YAML syntax)
  std::string message;

  // "file:line:column: path: message" (the path part is left out when the path is empty).
  std::string ToString() const {
    std::string out = file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    if (!path.empty()) out += path + ": ";
    return out + message;
  }
};

}  // namespace noisegate::rules

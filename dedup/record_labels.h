// RecordLabels: what matchers see of a record: its own labels plus the computed ones
// (signal, template, component, impacted_service, impacted_user_facing; rules/README.md) and
// those the place inventory gives it (a node's zone; rules/place_inventory.h).
// The topology attribution is computed once, on first use, so the dedup fast path never
// pays for it. It refers to the record and the
// topology, which must outlive it. The engine builds one per record; `noisegate decode`
// shows them.
#pragma once

#include <string_view>
#include <vector>

#include "dedup/incident.h"
#include "dedup/record.h"
#include "rules/matcher.h"
#include "rules/topology.h"

namespace noisegate::dedup {

class RecordLabels : public rules::LabelSource {
 public:
  RecordLabels(const Record& r, const rules::Topology& topo) : r_(r), topo_(topo) {}
  std::string_view Get(std::string_view name) const override {
    if (!attributing_) {
      if (name.size() > 9 && name[0] == 'i' && name.substr(0, 9) == "impacted_") {
        const std::vector<int>& imp = impacts();
        if (name == "impacted_service") {
          return imp.empty() ? std::string_view{} : topo_.node(imp[0]).name;
        }
        if (name == "impacted_user_facing") return imp.empty() ? "false" : "true";
      } else if (name == "component") {
        return component() >= 0 ? topo_.node(component()).name : std::string_view{};
      }
    }
    if (name == "signal") {
      return r_.kind == SignalKind::kAlert ? "alert" : "log_surge";
    } else if (name == "template") {
      return log_template;
    }
    std::string_view own = r_.labels.Get(name);
    if (!own.empty() || topo_.places().empty()) return own;
    return topo_.places().Lookup(OwnLabels{r_.labels}, name);  // (a node's zone, ...)
  }
  // The topology node the record belongs to, or -1.
  int component() const {
    if (!attributed_) {
      attributed_ = true;
      attributing_ = true;  // component matchers see its own labels (and the inventory's)
      component_ = topo_.Attribute(*this);
      attributing_ = false;
    }
    return component_;
  }
  // The nearest user-facing services it impacts (sorted by name).
  const std::vector<int>& impacts() const {
    static const std::vector<int> kEmpty;
    int c = component();
    return c >= 0 ? topo_.node(c).impacts : kEmpty;
  }

  // The labels the place inventory gives it that it does not carry (a node's zone), by name.
  rules::PlaceInventory::Labels Placed() const { return topo_.places().All(OwnLabels{r_.labels}); }

  int culprit = -1;
  std::string_view log_template;

 private:
  // The record's own labels, as the place inventory reads them.
  struct OwnLabels : rules::LabelSource {
    explicit OwnLabels(const LabelSet& l) : labels(l) {}
    std::string_view Get(std::string_view name) const override { return labels.Get(name); }
    const LabelSet& labels;
  };

  const Record& r_;
  const rules::Topology& topo_;
  mutable int component_ = -1;
  mutable bool attributed_ = false;
  mutable bool attributing_ = false;
};

// A record's severity as incidents rank it: an alert's `severity` label (ParseSeverity); a log
// line's level (fatal and critical are critical, warnings warning, anything else error).
inline Severity SeverityOf(const Record& r) {
  if (r.kind == SignalKind::kLog) {
    std::string_view level = r.labels.Get("level");
    if (level == "fatal" || level == "critical" || level == "crit") return Severity::kCritical;
    if (level == "warn" || level == "warning") return Severity::kWarning;
    return Severity::kError;
  }
  return ParseSeverity(r.labels.Get("severity"));
}

}  // namespace noisegate::dedup

#include "processor/output/render.h"

#include <algorithm>
#include <vector>

#include "dedup/page_policy.h"
#include "dedup/root_cause.h"
#include "processor/output/json_writer.h"

namespace noisegate::processor {
namespace {

using dedup::Incident;
using dedup::Member;

std::string_view Status(const Member& m) {
  if (m.inhibited) return "inhibited";
  return m.firing ? "firing" : "resolved";
}

// The incident's impacted services by name: an output must not depend on the order the
// topology declares them in (a reordered rules file reloads with the incidents' state kept).
std::vector<std::string_view> ImpactedNames(const Incident& inc, const rules::Topology& topo) {
  std::vector<std::string_view> names;
  for (int s : inc.impacted) names.push_back(topo.node(s).name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string Where(const Incident& inc, const rules::Topology& topo) {
  std::string where;
  for (std::string_view name : ImpactedNames(inc, topo)) {
    if (!where.empty()) where += ", ";
    where += name;
  }
  if (where.empty()) {
    for (const auto& [dim, value] : inc.group) {
      if (!where.empty()) where += ", ";
      where += dim + "=" + value;
    }
  }
  return where;
}

// "where: the lead's summary (+N more signals)", at most 1 KiB.
std::string Summary(const Incident& inc, const std::string& where, const Member* lead) {
  std::string summary = where.empty() ? "" : where + ": ";
  summary += lead != nullptr ? std::string(lead->summary()) : inc.rule_name;
  if (inc.members.size() > 1) {
    summary += " (+" + std::to_string(inc.members.size() - 1) + " more signals)";
  }
  if (summary.size() > 1024) summary.resize(1024);
  return summary;
}

}  // namespace

std::string IncidentSummary(const dedup::Notification& n, const rules::CompiledRules& rules) {
  const rules::Topology& topo = rules.topology;
  const Member* lead = n.root != nullptr ? n.root->lead : dedup::RankRoots(*n.incident, topo).lead;
  return Summary(*n.incident, Where(*n.incident, topo), lead);
}

namespace {

// custom_details.routing: per routing label, its values among the detailed members, each once,
// in member order (a bridge routes on them: team, namespace, service).
void WriteRouting(const dedup::Incident& inc, const std::vector<std::string>& labels,
                  JsonWriter& w) {
  w.Key("routing");
  w.BeginObject();
  for (const std::string& label : labels) {
    w.Key(label);
    w.BeginArray();
    std::vector<std::string_view> seen;
    for (const Member& m : inc.members) {
      if (m.detail == nullptr) continue;
      for (const auto& [name, value] : m.detail->routing) {
        if (name != label || std::find(seen.begin(), seen.end(), value) != seen.end()) continue;
        seen.push_back(value);
        w.String(value);
      }
    }
    w.EndArray();
  }
  w.EndObject();
}

// PagerDuty's links: the members' runbooks first (what the responder opens first; each once),
// then where each member comes from (generatorURL, issue page, ...); and `images` (Grafana's
// graphs, each once), only when a member has one. Detailed members only, a few of each.
void WriteLinksAndImages(const dedup::Incident& inc, JsonWriter& w) {
  constexpr size_t kMaxRunbooks = 3, kMaxSourceLinks = 5, kMaxImages = 3;
  std::vector<std::string_view> runbooks;
  for (const Member& m : inc.members) {
    if (m.detail == nullptr || m.detail->runbook.empty()) continue;
    if (std::find(runbooks.begin(), runbooks.end(), m.detail->runbook) != runbooks.end()) continue;
    runbooks.push_back(m.detail->runbook);
  }
  w.Key("links");
  w.BeginArray();
  for (size_t i = 0; i < runbooks.size() && i < kMaxRunbooks; ++i) {
    const std::string_view runbook = runbooks[i];
    w.BeginObject();
    w.Key("href");
    w.String(runbook);
    w.Key("text");
    std::string text = "Runbook";
    for (const Member& m : inc.members) {
      if (m.detail != nullptr && m.detail->runbook == runbook && !m.name().empty()) {
        text += ": " + std::string(m.name());
        break;
      }
    }
    w.String(text);
    w.EndObject();
  }
  size_t links = 0;
  for (const Member& m : inc.members) {
    if (m.link().empty() || links == kMaxSourceLinks) continue;
    ++links;
    w.BeginObject();
    w.Key("href");
    w.String(m.link());
    w.Key("text");
    w.String(m.name().empty() ? m.summary() : m.name());
    w.EndObject();
  }
  w.EndArray();
  std::vector<std::string_view> images;
  for (const Member& m : inc.members) {
    if (m.detail == nullptr || m.detail->image.empty() || images.size() == kMaxImages ||
        std::find(images.begin(), images.end(), m.detail->image) != images.end()) {
      continue;
    }
    images.push_back(m.detail->image);
    if (images.size() == 1) {
      w.Key("images");
      w.BeginArray();
    }
    w.BeginObject();
    w.Key("src");
    w.String(m.detail->image);
    if (!m.link().empty()) {
      w.Key("href");
      w.String(m.link());
    }
    w.Key("alt");
    w.String(m.name().empty() ? m.summary() : m.name());
    w.EndObject();
  }
  if (!images.empty()) w.EndArray();
}

}  // namespace

void RenderNotification(const dedup::Notification& n, const rules::CompiledRules& rules,
                        std::string* out) {
  const Incident& inc = *n.incident;
  const rules::Topology& topo = rules.topology;
  // (A notification from the engine carries its ranking; one made by hand is ranked here.)
  const dedup::RootCause root = n.root != nullptr ? *n.root : dedup::RankRoots(inc, topo);
  const std::vector<int>& roots = root.components;
  const std::vector<const dedup::Place*>& places = root.places;
  const Member* lead = root.lead;

  std::string where = Where(inc, topo);
  std::string summary = Summary(inc, where, lead);
  const std::vector<std::string_view> impacted = ImpactedNames(inc, topo);
  std::string source = !places.empty()     ? std::string(places[0]->value())
                       : !roots.empty()    ? topo.node(roots[0]).name
                       : !impacted.empty() ? std::string(impacted[0])
                       : !inc.group.empty() && !inc.group[0].second.empty() ? inc.group[0].second
                       : lead && !lead->service().empty() ? std::string(lead->service())
                                                          : std::string("noisegate");

  JsonWriter w(out);
  w.BeginObject();
  w.Key("event_action");
  w.String(n.action == dedup::NotifyAction::kTrigger ? "trigger" : "resolve");
  w.Key("dedup_key");
  w.String(inc.id);
  if (!inc.routing_key.empty()) {
    // PagerDuty's integration key (routing.keys), pinned when the incident opened.
    w.Key("routing_key");
    w.String(inc.routing_key);
  }
  w.Key("payload");
  w.BeginObject();
  w.Key("summary");
  w.String(summary);
  w.Key("source");
  w.String(source);
  w.Key("severity");
  w.String(dedup::SeverityName(inc.severity));
  w.Key("timestamp");
  w.String(FormatRfc3339(n.at));
  w.Key("component");
  w.String(!places.empty()  ? places[0]->value()
           : !roots.empty() ? std::string_view(topo.node(roots[0]).name)
           : lead           ? lead->service()
                            : std::string_view(source));
  w.Key("group");
  w.String(!impacted.empty() ? impacted[0] : std::string_view(where));
  w.Key("class");
  w.String(lead != nullptr && !lead->name().empty() ? lead->name()
                                                    : std::string_view(inc.rule_name));
  w.Key("custom_details");
  w.BeginObject();
  w.Key("incident");
  w.String(inc.id);
  w.Key("rule");
  w.String(inc.rule_name);
  w.Key("impacted_services");
  w.BeginArray();
  for (std::string_view s : impacted) w.String(s);
  w.EndArray();
  w.Key("root_candidates");
  w.BeginArray();
  for (const dedup::Place* p : places) w.String(p->key);
  for (int r : roots) w.String(topo.node(r).name);
  w.EndArray();
  w.Key("first_seen");
  w.String(FormatRfc3339(inc.first_seen));
  w.Key("last_seen");
  w.String(FormatRfc3339(inc.last_seen));
  w.Key("counts");
  w.BeginObject();
  w.Key("alerts");
  w.Int(static_cast<int64_t>(inc.alert_records));
  w.Key("logs");
  w.Int(static_cast<int64_t>(inc.log_records));
  w.Key("fingerprints");
  w.Int(static_cast<int64_t>(inc.members.size()));
  w.EndObject();
  w.Key("members");
  w.BeginArray();
  size_t shown = 0;
  for (const Member& m : inc.members) {
    if (shown++ == 20) break;
    w.BeginObject();
    w.Key("fingerprint");
    w.String(ToHex(m.fingerprint));
    w.Key("summary");
    w.String(m.summary());
    w.Key("status");
    w.String(Status(m));
    w.Key("count");
    w.Int(m.count);
    w.EndObject();
  }
  w.EndArray();
  // Extensions (optional fields): why this message was sent and what tied the members.
  w.Key("route");
  w.String(n.route == rules::Action::kPage ? "page" : "ticket");
  w.Key("reason");
  w.String(n.reason);
  if (n.route == rules::Action::kPage) {
    // The page.when entry the incident meets, as written (null: its members paged under
    // rules since changed, a member counted by its firing_for resolved, or members were
    // inhibited since).
    w.Key("page_when");
    const int met = dedup::MetPageCondition(rules.page, inc.members, n.at);
    if (met >= 0) {
      w.String(rules.page.when[static_cast<size_t>(met)].ToString());
    } else {
      w.Null();
    }
  }
  w.Key("grouped_by");
  w.BeginObject();
  for (const auto& [dim, value] : inc.group) {
    w.Key(dim);
    w.String(value);
  }
  // (An incident whose rule a reload removed is rendered once more, for its resolve.)
  bool by_impact = inc.rule < 0 ? !inc.impacted.empty() : false;
  if (inc.rule >= 0) {
    const auto& by = rules.correlate[inc.rule].group_by;
    by_impact = std::find(by.begin(), by.end(), "impacted_service") != by.end();
  }
  if (by_impact) {
    w.Key("impacted_service");
    w.BeginArray();
    for (std::string_view s : impacted) w.String(s);
    w.EndArray();
  }
  w.EndObject();
  if (!rules.routing.labels.empty()) WriteRouting(inc, rules.routing.labels, w);
  w.Key("evidence");
  w.BeginArray();
  for (int r : roots) {
    // What the topology says the root reaches, of what the incident impacts (the rest came
    // in through other evidence, which says so).
    std::vector<std::string_view> reached;
    for (int s : inc.impacted) {
      const std::vector<int>& impacts = topo.node(r).impacts;
      if (s == r || std::find(impacts.begin(), impacts.end(), s) == impacts.end()) continue;
      reached.push_back(topo.node(s).name);
    }
    std::sort(reached.begin(), reached.end());
    std::string reaches;
    for (std::string_view s : reached) (reaches += reaches.empty() ? "" : ", ") += s;
    if (!reaches.empty()) w.String("topology: " + topo.node(r).name + " impacts " + reaches);
  }
  for (const std::string& e : inc.evidence) w.String(e);
  std::vector<int> culprits;
  for (const Member& m : inc.members) {
    if (m.culprit >= 0 &&
        std::find(culprits.begin(), culprits.end(), m.culprit) == culprits.end()) {
      culprits.push_back(m.culprit);
      w.String("named in " +
               (m.service().empty() ? std::string("logs") : std::string(m.service()) + " logs") +
               ": " + topo.node(m.culprit).name);
    }
  }
  w.EndArray();
  w.EndObject();  // custom_details
  w.EndObject();  // payload
  WriteLinksAndImages(inc, w);
  w.EndObject();
}

void WriteAddress(JsonWriter& w, std::string_view topic, int32_t partition, int64_t offset,
                  int32_t index) {
  w.Key("topic");
  w.String(topic);
  w.Key("partition");
  w.Int(partition);
  w.Key("offset");
  w.Int(offset);
  w.Key("index");
  w.Int(index);
}

void RenderExplain(const dedup::DecisionEvent& e, std::string* out, bool readable) {
  const Record& r = *e.record;
  JsonWriter w(out);
  w.BeginObject();
  WriteAddress(w, r.addr.topic, r.addr.partition, r.addr.offset, r.addr.index);
  w.Key("ts");
  w.Int(r.time.ms);
  w.Key("fingerprint");
  if (e.has_fingerprint) {
    w.String(ToHex(e.fingerprint));
  } else {
    w.Null();
  }
  w.Key("incident");
  w.StringOrNull(e.incident);
  w.Key("decision");
  w.String(dedup::DecisionName(e.decision));
  w.Key("rule");
  w.StringOrNull(e.rule);
  if (e.late) {
    w.Key("late");
    w.Bool(true);
  }
  if (!r.source_fingerprint.empty()) {
    // The sender's own id of the alert (Alertmanager's fingerprint): to find it in its UI.
    w.Key("source_fingerprint");
    w.String(r.source_fingerprint);
  }
  if (readable) {
    w.Key("name");
    w.String(e.name);
    w.Key("summary");
    w.String(r.summary);
  }
  w.EndObject();
}

void RenderDeadLetterExplain(std::string_view topic, int32_t partition, int64_t offset,
                             int32_t index, int64_t ts, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  WriteAddress(w, topic, partition, offset, index);
  w.Key("ts");
  w.Int(ts);
  w.Key("fingerprint");
  w.Null();
  w.Key("incident");
  w.Null();
  w.Key("decision");
  w.String("dead_letter");
  w.Key("rule");
  w.Null();
  w.EndObject();
}

void RenderDeadLetter(std::string_view topic, int32_t partition, int64_t offset, int32_t index,
                      std::string_view reason, std::string_view detail, std::string_view payload,
                      std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  WriteAddress(w, topic, partition, offset, index);
  w.Key("reason");
  w.String(reason);
  w.Key("detail");
  w.String(detail);
  w.Key("payload");
  w.String(payload.substr(0, kMaxDeadLetterPayload));
  w.EndObject();
}

void RenderEnvelope(std::string_view topic, int32_t partition, int64_t offset, int64_t ts,
                    std::string_view key, std::string_view value, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("topic");
  w.String(topic);
  w.Key("partition");
  w.Int(partition);
  w.Key("offset");
  w.Int(offset);
  w.Key("tstype");
  w.String("create");
  w.Key("ts");
  w.Int(ts);
  w.Key("broker");
  w.Int(-1);
  w.Key("key");
  w.StringOrNull(key);
  w.Key("payload");
  w.String(value);
  w.EndObject();
}

}  // namespace noisegate::processor

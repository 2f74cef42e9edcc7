// Incident: one problem as users feel it — the signals grouped under one correlate rule and
// one dedup_key for their whole life. The engine owns incidents; sinks read them during a
// Notification callback only (the reference is not kept).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dedup/record.h"
#include "dedup/types.h"
#include "rules/compiled_rules.h"

namespace noisegate::dedup {

// Normalised severity, ordered; rendered as PagerDuty's critical|error|warning|info.
enum class Severity : uint8_t { kInfo, kWarning, kError, kCritical };
std::string_view SeverityName(Severity s);
Severity ParseSeverity(std::string_view label_value);

// What a member says about itself: kept only for the members an output shows (the first
// kDetailedMembers, and any that raised the incident's severity), so a large incident costs
// tens of bytes per extra member, not hundreds.
struct MemberDetail {
  std::string summary;
  std::string name;  // alertname, or the log template
  std::string service;
  std::string link;
  std::string runbook;  // PagerDuty links and images of the page (Record::runbook, image)
  std::string image;
  // Its values of the routing labels (routing.labels when it joined), by name.
  std::vector<std::pair<std::string, std::string>> routing;
};
inline constexpr size_t kDetailedMembers = 20;

// An inhibit rule whose target matchers a member matches, so that the inhibition can be
// checked again when the incident notifies (a source may start firing after the target).
// An incident keeps these in one vector in member order, not per member: in a large incident
// most members are some rule's target, and 16 bytes each is what keeps the state near 170 bytes
// per active fingerprint (a vector per member cost 64).
struct InhibitTarget {
  uint64_t equal_hash = 0;
  uint32_t member = 0;         // index in Incident::members
  uint32_t rule : 31 = 0;      // index in CompiledRules::inhibit
  uint32_t two_sided : 1 = 0;  // the member matches the rule's source matchers too
};
static_assert(sizeof(InhibitTarget) == 16);
inline constexpr size_t kMaxTraces = 32;

// Where a signal of the incident began: a place label and its value ("node=\"node-1\""), when
// the first of its members began there, and which member that was. Noted for the correlate
// rules with join_colocated, at most kMaxPlaces per incident.
struct Place {
  std::string key;
  EventTime first;
  uint32_t member = 0;
  bool tied = false;  // a signal joined the incident because it began here too: a root
  // The label alone ("node").
  std::string_view label() const {
    size_t eq = key.find("=\"");
    return eq == std::string::npos ? std::string_view() : std::string_view(key).substr(0, eq);
  }
  // The value alone ("node-1").
  std::string_view value() const {
    size_t eq = key.find("=\"");
    return eq == std::string::npos ? std::string_view(key)
                                   : std::string_view(key).substr(eq + 2, key.size() - eq - 3);
  }
};
inline constexpr size_t kMaxPlaces = 16;

struct Member {
  Fingerprint fingerprint;
  SignalKind kind = SignalKind::kAlert;
  bool firing = true;
  bool inhibited = false;  // attached because it was inhibited by this incident's source
  bool pages = false;      // meets a page.when entry alone
  // It joined because its own errors name a member (join_named): a victim of the incident's
  // problem; or its errors are its service's fresh deploy's. Either way, where it began is
  // no evidence of the place (FindColocated).
  bool blames = false;
  Severity severity = Severity::kInfo;
  int component = -1;    // topology node, or -1
  int culprit = -1;      // topology node named in its message, or -1
  uint32_t count = 0;    // records folded into this member
  uint32_t clauses = 0;  // the page.when clauses it matches (page_policy.h)
  EventTime first_seen, last_seen;
  EventTime firing_since;  // when it last began firing: page.when's firing_for counts from it
  std::unique_ptr<MemberDetail> detail;  // null for members past the detailed ones

  std::string_view summary() const { return detail ? std::string_view(detail->summary) : ""; }
  std::string_view name() const { return detail ? std::string_view(detail->name) : ""; }
  std::string_view service() const { return detail ? std::string_view(detail->service) : ""; }
  std::string_view link() const { return detail ? std::string_view(detail->link) : ""; }
};

enum class IncidentState : uint8_t { kPending, kOpen, kClosed };

struct Incident {
  std::string id;  // the dedup_key: "ng-" + 16 hex digits, stable for the incident's life
  int rule = -1;   // index into CompiledRules::correlate
  std::string rule_name;
  uint32_t generation = 0;  // slot reuse guard
  IncidentState state = IncidentState::kPending;
  bool sealed = false;  // reached max_duration or max_members: takes no new signals
  // Grouping: the values of the scalar group_by dimensions, and the impacted services.
  std::vector<std::pair<std::string, std::string>> group;
  uint64_t group_hash = 0;
  std::vector<int> impacted;  // topology nodes, sorted by index
  std::vector<Member> members;
  std::vector<InhibitTarget> targets;  // of its members, ordered by member
  uint64_t alert_records = 0, log_records = 0;
  // Evidence beyond grouping that the engine found (deploys, shared traces), in the order
  // found; rendered into custom_details.evidence.
  std::vector<std::string> evidence;
  std::vector<std::string> traces;  // trace ids of its log members (at most kMaxTraces)
  std::vector<Place> places;        // in the order first seen
  // Groups (their hashes, of other correlate rules) whose signals joined through co-location:
  // their later signals join it as their own.
  std::vector<uint64_t> joined_groups;
  EventTime opened, first_seen, last_seen, last_activity;
  Severity severity = Severity::kInfo;
  int firing_members = 0;  // members firing, inhibited ones included (they keep it open)
  int active_members = 0;  // members firing that are not inhibited (they make it notify)
  // Notification state.
  rules::Action route = rules::Action::kTicket;  // what the policy says now
  bool notified = false;                         // a trigger went out
  bool paged = false;                            // a trigger went to the paging output
  bool ticketed = false;                         // a trigger went to the ticket output
  rules::Action notified_route = rules::Action::kDrop;
  Severity notified_severity = Severity::kInfo;
  size_t notified_impacted = 0;
  EventTime last_notified = kMinTime;
  bool escalation_pending = false;
  EventTime scheduled = kMaxTime;  // the earliest timer queued for it
  // The PagerDuty routing key of its pages and tickets (routing.keys), pinned when it opened;
  // empty: none.
  std::string routing_key;

  int FindMember(Fingerprint fp) const {
    for (size_t i = 0; i < members.size(); ++i) {
      if (members[i].fingerprint == fp) return static_cast<int>(i);
    }
    return -1;
  }
};

}  // namespace noisegate::dedup

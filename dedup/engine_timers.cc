// Engine: event time and the incident lifecycle. Timers (group_wait, escalations, repeats,
// close_after, flapping, surge ends, resolve_timeout, expiry), notifications, closing
// incidents, evicting inert fingerprints, and the end of input.
#include <algorithm>

#include "dedup/check.h"
#include "dedup/engine.h"
#include "dedup/engine_state.h"
#include "dedup/page_policy.h"
#include "dedup/record_labels.h"
#include "dedup/root_cause.h"

namespace noisegate::dedup {

EventTime Engine::EscalationDue(const Incident& inc, const rules::CorrelateRule& rule) const {
  // group_interval rate-limits updates of what a receiver was told. An incident that now pages
  // was only ticketed: the pager has not heard of it, and its first page goes out at once.
  if (!inc.paged && inc.route == rules::Action::kPage) return watermark_;
  return inc.last_notified + rule.group_interval;
}

void Engine::ScheduleIncident(uint32_t slot) {
  Incident& inc = Inc(slot);
  if (inc.state == IncidentState::kClosed) return;
  if (inc.rule < 0) {  // its rule is gone: closes now
    if (watermark_ < inc.scheduled) {
      inc.scheduled = watermark_;
      timers_.push(Timer{watermark_, TimerKind::kIncident, slot, inc.generation});
    }
    return;
  }
  const rules::CorrelateRule& rule = rules_->correlate[inc.rule];
  EventTime next = kMaxTime;
  if (inc.state == IncidentState::kPending) {
    next = inc.opened + rule.group_wait;
  } else {
    if (!inc.notified && inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      next = watermark_;  // owed its first trigger
    }
    if (inc.escalation_pending) next = std::min(next, EscalationDue(inc, rule));
    if (inc.notified && inc.active_members > 0 && rules_->page.repeat_interval.count() > 0) {
      next = std::min(next, inc.last_notified + rules_->page.repeat_interval);
    }
  }
  // A member that keeps firing comes to meet a firing_for with no record arriving.
  if (rules_->page.timed && inc.route != rules::Action::kPage && inc.active_members > 0) {
    next = std::min(next, NextPageChange(rules_->page, inc.members, watermark_));
  }
  if (inc.firing_members == 0) next = std::min(next, inc.last_activity + rule.close_after);
  if (!inc.sealed) next = std::min(next, inc.opened + rule.max_duration);
  if (next < watermark_) next = watermark_;
  // Re-arm: a later deadline replaces an earlier one (the stale heap entry is skipped).
  if (next != inc.scheduled) {
    inc.scheduled = next;
    timers_.push(Timer{next, TimerKind::kIncident, slot, inc.generation});
  }
}

void Engine::FireDue() { FireTimersUpTo(watermark_); }

void Engine::FireTimersUpTo(EventTime t) {
  while (!timers_.empty() && timers_.top().at <= t) {
    Timer tm = timers_.top();
    timers_.pop();
    // Timers fire at their own time, so outputs carry the event time they were due.
    watermark_ = std::max(watermark_, tm.at);
    if (tm.kind == TimerKind::kIncident) {
      Incident& inc = Inc(tm.slot);
      if (inc.generation != tm.generation || inc.scheduled != tm.at ||
          inc.state == IncidentState::kClosed) {
        continue;
      }
      inc.scheduled = kMaxTime;
      FireIncidentTimer(tm.slot, tm.at);
    } else {
      FpState& st = Fp(tm.slot);
      if (st.generation != tm.generation) continue;
      st.timer_at = kMaxTime;
      FireFingerprintTimer(tm.slot, tm.at);
    }
  }
}

void Engine::FireIncidentTimer(uint32_t slot, EventTime t) {
  Incident& inc = Inc(slot);
  if (inc.rule < 0) {
    CloseIncident(slot, t);  // a paged incident always gets its resolve
    return;
  }
  const rules::CorrelateRule& rule = rules_->correlate[inc.rule];
  // Alertmanager checks inhibition when it notifies: a source that started firing after its
  // targets joined this incident still mutes them.
  InhibitAtNotify(inc);
  // Members may have fired long enough for a firing_for since the route was last computed.
  if (rules_->page.timed && inc.route != rules::Action::kPage) RecomputeRoute(inc, t);
  if (inc.state == IncidentState::kPending && t >= inc.opened + rule.group_wait) {
    inc.state = IncidentState::kOpen;
    // Everything resolved before group_wait was a blip: nobody is told.
    if (inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      Notify(inc, NotifyAction::kTrigger, "open", t);
    }
  } else if (inc.state == IncidentState::kOpen) {
    if (inc.escalation_pending && t >= EscalationDue(inc, rule)) {
      inc.escalation_pending = false;
      if (inc.active_members > 0 && inc.route != rules::Action::kDrop) {
        Notify(inc, NotifyAction::kTrigger, "escalation", t);
      }
    } else if (!inc.notified && inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      // Silent at group_wait (a blip, or its route was drop), pageable now: it is owed a
      // trigger, sent as soon as it becomes due.
      Notify(inc, NotifyAction::kTrigger, "open", t);
    } else if (inc.notified && inc.active_members > 0 && rules_->page.repeat_interval.count() > 0 &&
               t >= inc.last_notified + rules_->page.repeat_interval) {
      Notify(inc, NotifyAction::kTrigger, "repeat", t);
    }
  }
  if (inc.firing_members == 0 && t >= inc.last_activity + rule.close_after) {
    CloseIncident(slot, t);
    return;
  }
  if (!inc.sealed && t >= inc.opened + rule.max_duration) inc.sealed = true;
  ScheduleIncident(slot);
}

void Engine::FireFingerprintTimer(uint32_t slot, EventTime t) {
  const rules::CompiledRules& rules = *rules_;
  if (Fp(slot).flapping && t >= Fp(slot).last_change + rules.dedup.flapping.stable_for) {
    Fp(slot).flapping = false;
    Fp(slot).nchanges = 0;
    flap_history_.erase(slot);
    ReleaseHeld(slot, t);
  }
  FpState& st = Fp(slot);
  const Millis timeout = rules.dedup.resolve_timeout;
  if (st.firing && st.kind == SignalKind::kLog && t >= SurgeEnds(st)) {
    st.firing = false;
    // What the window still counts is the surge's tail: the baseline must not learn it when
    // the next line folds it in.
    log_rates_[st.log_rate].counts = {};
    UpdateInhibitSources(slot, nullptr, false);
    if (IncidentOf(st) != nullptr) MemberResolved(st, t);
  } else if (st.firing && st.kind == SignalKind::kAlert &&
             ((timeout.count() > 0 && t >= st.last_seen + timeout) ||
              (st.last_seen < refresh_before_ && t >= refresh_before_ + kRefreshGrace))) {
    st.firing = false;
    UpdateInhibitSources(slot, nullptr, false);
    if (IncidentOf(st) != nullptr) MemberResolved(st, t);
  }
  // Re-arm for whatever is still due: a flapping release, a quiet log, a stale alert, the
  // expiry of an inert fingerprint.
  EventTime next = kMaxTime;
  if (!st.firing && !st.flapping) {
    EventTime expiry = ExpiryOf(st);
    if (t >= expiry) {
      if (IncidentOf(st) == nullptr) {
        Evict(slot);
        return;
      }
      // Still a member of an open incident: a re-fire must fold into it. Look again later.
      expiry = t + std::max<Millis>(rules.state.retention, Millis{60'000});
    }
    next = expiry;
  }
  if (st.flapping) next = std::min(next, st.last_change + rules.dedup.flapping.stable_for);
  if (st.firing && st.kind == SignalKind::kLog) {
    next = std::min(next, SurgeEnds(st));
  }
  if (st.firing && st.kind == SignalKind::kAlert && timeout.count() > 0) {
    next = std::min(next, st.last_seen + timeout);
  }
  if (st.firing && st.kind == SignalKind::kAlert && st.last_seen < refresh_before_) {
    next = std::min(next, refresh_before_ + kRefreshGrace);
  }
  if (next != kMaxTime) Schedule(TimerKind::kFingerprint, slot, next);
}

void Engine::ReleaseHeld(uint32_t slot, EventTime t) {
  auto it = held_.find(slot);
  if (it == held_.end()) return;
  Record held = std::move(it->second);
  held_.erase(it);
  FpState& st = Fp(slot);
  if (!st.firing || st.kind != SignalKind::kAlert) return;
  RecordLabels labels(held, rules_->topology);
  DecisionEvent ev;  // not an input record: no explain line
  ev.record = &held;
  if (Incident* inc = IncidentOf(st)) {
    // (It has fired since its last change, held back while it flapped.)
    if (!inc->members[st.member].firing) MemberFired(st, held, t, st.last_change);
    return;
  }
  MuteOrCorrelate(held, labels, slot, 0, t, ev);
}

void Engine::Notify(Incident& inc, NotifyAction action, std::string_view reason, EventTime t) {
  Notification n;
  n.action = action;
  n.at = t;
  n.reason = reason;
  n.incident = &inc;
  const RootCause root = RankRoots(inc, rules_->topology);
  n.root = &root;
  if (action == NotifyAction::kTrigger) {
    n.route = inc.route;
    // An incident that escalates from ticket to page keeps its ticket; the page is new.
    inc.notified = true;
    inc.notified_route = inc.route;
    inc.notified_severity = inc.severity;
    inc.notified_impacted = inc.impacted.size();
    inc.last_notified = t;
    sink_->OnNotification(n);
    if (inc.route == rules::Action::kPage) inc.paged = true;
    if (inc.route == rules::Action::kTicket) inc.ticketed = true;
    return;
  }
  // Resolve every output that heard a trigger, even if members were since muted.
  if (inc.paged) {
    n.route = rules::Action::kPage;
    sink_->OnNotification(n);
  }
  if (inc.ticketed) {
    n.route = rules::Action::kTicket;
    sink_->OnNotification(n);
  }
}

void Engine::CloseIncident(uint32_t slot, EventTime t) {
  Incident& inc = Inc(slot);
  if (inc.notified) Notify(inc, NotifyAction::kResolve, "resolve", t);
  ++stats_.incidents_closed;
  LeaveGroups(slot);
  FreeIncident(slot);
}

std::vector<uint64_t> Engine::LeaveGroups(uint32_t slot) {
  Incident& inc = Inc(slot);
  std::vector<uint64_t> left = std::move(inc.joined_groups);
  inc.joined_groups.clear();
  left.push_back(inc.group_hash);
  for (uint64_t hash : left) {
    auto group = groups_.find(hash);
    NG_CHECK(group != groups_.end());
    auto& v = group->second;
    auto pos = std::find(v.begin(), v.end(), slot);
    NG_CHECK(pos != v.end());
    v.erase(pos);
    if (v.empty()) groups_.erase(group);
  }
  return left;
}

void Engine::FreeIncident(uint32_t slot) {
  Incident& inc = Inc(slot);
  inc.state = IncidentState::kClosed;
  inc.joined_groups.clear();
  open_order_.erase(std::find(open_order_.begin(), open_order_.end(), slot));
  for (const std::string& trace : inc.traces) {
    auto it = traces_.find(trace);
    if (it != traces_.end() && it->second.first == slot) traces_.erase(it);
  }
  inc.traces.clear();
  inc.places.clear();
  inc.evidence.clear();
  inc.members.clear();
  inc.members.shrink_to_fit();
  inc.targets.clear();
  inc.targets.shrink_to_fit();
  free_incidents_.push_back(slot);
}

EventTime Engine::SurgeEnds(const FpState& st) const {
  return log_rates_[st.log_rate].last_above + rules_->logs.surge.quiet_for;
}

EventTime Engine::ExpiryOf(const FpState& st) const {
  const rules::CompiledRules& rules = *rules_;
  EventTime e = st.last_seen + rules.state.retention;
  // Flapping counts the changes within `within`: older ones never count again.
  if (rules.dedup.flapping.changes > 0 && st.nchanges > 0) {
    e = std::max(e, st.last_change + rules.dedup.flapping.within);
  }
  if (st.kind == SignalKind::kLog && st.log_rate != kNone) {
    const rules::SurgeRule& surge = rules.logs.surge;
    // Within warm-up a signal learns its mean rate (LogRate::weight); dropped and seen again
    // it would start that over from its next line.
    if (first_record_ != kMinTime) e = std::max(e, first_record_ + surge.warmup);
    const LogRate& rate = log_rates_[st.log_rate];
    int64_t width = std::max<int64_t>(1, surge.within.count() / 4);
    double alpha = std::min(
        1.0, static_cast<double>(width) / std::max<int64_t>(1, surge.baseline_window.count()));
    // Every counted line has left the window ...
    EventTime quiet = st.last_seen + Millis{surge.within.count() + width};
    e = std::max(e, quiet);
    // ... and the baseline, with those lines folded in, has decayed so far that starting
    // again from zero moves the surge threshold by less than 1e-6 lines.
    // (Bias-corrected as LogRate::Baseline is, by at least the weight of one more fold.)
    double b = (rate.baseline + rate.Recent() * alpha) / (rate.weight * (1 - alpha) + alpha);
    double eps = 1e-6 / (4 * std::max(surge.over_baseline, 1e-9));
    if (b > eps) {
      int64_t steps = 1;
      if (alpha < 1)
        steps = static_cast<int64_t>(std::ceil(std::log(eps / b) / std::log1p(-alpha)));
      e = std::max(e, quiet + Millis{std::min<int64_t>(steps, INT64_MAX / 4 / width) * width});
    }
  }
  return e;
}

void Engine::ScheduleExpiry(uint32_t slot) {
  FpState& st = Fp(slot);
  if (st.timer_at != kMaxTime && st.timer_at > watermark_) return;  // it re-arms when due
  Schedule(TimerKind::kFingerprint, slot, ExpiryOf(st));
}

void Engine::Evict(uint32_t slot) {
  FpState& st = Fp(slot);
  NG_CHECK(!source_of_.contains(slot));  // only firing signals are inhibition sources
  fp_index_.Erase(st.fp, slot);
  flap_history_.erase(slot);
  held_.erase(slot);
  if (st.log_rate != kNone) {
    log_rates_[st.log_rate] = LogRate{};
    free_log_rates_.push_back(st.log_rate);
  }
  const uint32_t generation = st.generation + 1;  // its queued timers are stale from now on
  st = FpState{};
  st.generation = generation;
  st.member = kFreeMember;
  ++stats_.fingerprints_expired;
}

void Engine::Finish() {
  // Send what group_wait holds back, at the time it was due.
  std::vector<uint32_t> pending;
  for (uint32_t slot : open_order_) {
    const Incident& inc = incidents_[slot];
    if (inc.state == IncidentState::kPending && inc.rule >= 0) pending.push_back(slot);
  }
  auto due_of = [&](uint32_t slot) {
    const Incident& inc = incidents_[slot];
    return inc.opened + rules_->correlate[inc.rule].group_wait;
  };
  std::stable_sort(pending.begin(), pending.end(),
                   [&](uint32_t a, uint32_t b) { return due_of(a) < due_of(b); });
  for (uint32_t slot : pending) {
    Incident& inc = Inc(slot);
    EventTime due = inc.opened + rules_->correlate[inc.rule].group_wait;
    inc.state = IncidentState::kOpen;
    InhibitAtNotify(inc);
    const EventTime at = std::max(due, watermark_);
    // (A firing_for may come due by then.)
    if (rules_->page.timed && inc.route != rules::Action::kPage) RecomputeRoute(inc, at);
    if (inc.active_members > 0 && inc.route != rules::Action::kDrop) {
      Notify(inc, NotifyAction::kTrigger, "open", at);
    }
  }
}

}  // namespace noisegate::dedup

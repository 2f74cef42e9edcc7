#include "processor/replay/report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "dedup/incident.h"
#include "dedup/page_policy.h"
#include "processor/output/render.h"
#include "processor/replay/replay.h"

namespace noisegate::processor {
namespace {

void Escape(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&#39;");
        break;
      default:
        out->push_back(c);
    }
  }
}

std::string Esc(std::string_view s) {
  std::string out;
  Escape(s, &out);
  return out;
}

std::string Time(int64_t ms) { return FormatRfc3339(EventTime{ms}); }

std::string Hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Cut(std::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  return std::string(s.substr(0, n)) + "…";
}

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:15px;margin:0 0 6px}
.stats span{display:inline-block;margin-right:18px}
.incident{border:1px solid #ccc;border-radius:6px;padding:10px 14px;margin:10px 0}
.badge{display:inline-block;border-radius:4px;padding:0 6px;margin-right:6px;color:#fff;font-size:12px}
.page{background:#c0392b}.ticket{background:#d68910}.none{background:#7f8c8d}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;vertical-align:top}
.why{background:#f7f7f7;padding:6px 10px;border-radius:4px;margin:6px 0}
.diff{background:#eef4fb;padding:6px 10px;border-radius:4px;margin:6px 0}
code{font-size:12px}.muted{color:#888}#q{width:60%;font-size:15px;padding:4px}
svg{border:1px solid #ddd;background:#fff}
)";

// Filters every element with data-search by the query (words, all must appear); the query can
// come in the URL as #q=... so a link (or a test) opens the report already searched.
constexpr const char* kScript = R"(
(function(){
  var q=document.getElementById('q');
  var items=document.querySelectorAll('[data-search]');
  function apply(){
    var words=q.value.toLowerCase().split(/\s+/).filter(function(w){return w.length>0;});
    var shown=0;
    items.forEach(function(el){
      var text=el.getAttribute('data-search');
      var ok=words.every(function(w){return text.indexOf(w)>=0;});
      el.style.display=ok?'':'none';
      if(ok&&el.classList.contains('incident'))shown++;
    });
    document.getElementById('shown').textContent=shown;
    document.body.setAttribute('data-shown',String(shown));
  }
  q.addEventListener('input',apply);
  var m=/[#&]q=([^&]*)/.exec(location.hash);
  if(m){try{q.value=decodeURIComponent(m[1]);}catch(e){q.value=m[1];}}
  apply();
  document.body.setAttribute('data-ready','1');
})();
)";

// The --diff section: what changed under the other rules, one row per incident.
void DiffSection(const ReplayDiff& d, std::string* h) {
  *h += "<h2 id=\"diff\">Compared with <code>" + Esc(d.name_b) + "</code></h2>\n";
  *h += "<p>This report shows the rules <code>" + Esc(d.name_a) +
        "</code> (A). The same input replayed through <code>" + Esc(d.name_b) +
        "</code> (B): A notified " + std::to_string(d.notified_a) + " incidents (" +
        std::to_string(d.paged_a) + " paged), B " + std::to_string(d.notified_b) + " (" +
        std::to_string(d.paged_b) + " paged); " + std::to_string(d.changed) + " changed, " +
        std::to_string(d.only_a) + " only under A, " + std::to_string(d.only_b) +
        " only under B. Incidents are matched by the members they share.</p>\n";
  if (d.entries.empty()) {
    *h += "<p><b>No differences.</b></p>\n";
    return;
  }
  *h +=
      "<table id=\"diff-table\"><tr><th>what</th><th>incident under A</th><th>under B</th>"
      "<th>summary</th><th>changes</th></tr>\n";
  for (const DiffEntry& e : d.entries) {
    std::string what, changes;
    switch (e.kind) {
      case DiffEntry::Kind::kChanged:
        what = "changed";
        for (const std::string& w : e.what) changes += (changes.empty() ? "" : "<br>") + Esc(w);
        break;
      case DiffEntry::Kind::kSplit:
        what = "split";
        changes = std::string(e.paged ? "pages" : "tickets") + " at " + Time(e.at_ms) + "; " +
                  std::to_string(e.shared) + " of its members were in A's incident";
        break;
      case DiffEntry::Kind::kOnlyA:
      case DiffEntry::Kind::kOnlyB:
        what = e.kind == DiffEntry::Kind::kOnlyA ? "only under A" : "only under B";
        changes = std::string(e.paged ? "pages" : "tickets") + " at " + Time(e.at_ms);
        break;
    }
    *h += "<tr class=\"diff-row\"><td>" + what + "</td><td>" +
          (e.a_id.empty() ? std::string("—")
                          : "<a href=\"#" + Esc(e.a_id) + "\">" + Esc(e.a_id) + "</a>") +
          "</td><td>" + (e.b_id.empty() ? std::string("—") : Esc(e.b_id)) + "</td><td>" +
          Esc(e.summary) + "</td><td>" + changes + "</td></tr>\n";
  }
  *h += "</table>\n";
}

}  // namespace

void ReportBuilder::OnDecision(const dedup::DecisionEvent& e) {
  const Record& r = *e.record;
  Bucket& b = minutes_[r.time.ms / 60000];
  b.records++;
  if (!e.incident.empty()) {
    b.in_incidents++;
  } else if (e.decision != dedup::Decision::kNew) {
    b.muted++;
  }
  if (e.has_fingerprint) {
    Fp& f = fps_[e.fingerprint.value];
    if (f.records == 0) {
      f.first_ms = r.time.ms;
      f.name = r.kind == SignalKind::kAlert ? std::string(r.labels.Get("alertname"))
                                            : Cut(r.summary, 120);
      for (const Label& l : r.labels) {
        if (!f.labels.empty()) f.labels.push_back(' ');
        f.labels.append(l.name).append("=\"").append(l.value).append("\"");
      }
      f.summary = Cut(r.summary, 300);
    }
    f.records++;
    f.last_ms = r.time.ms;
    f.decisions[static_cast<int>(e.decision)]++;
    if (!e.incident.empty()) f.incident = std::string(e.incident);
  }
  if (e.incident.empty()) return;
  auto [it, inserted] = incident_index_.try_emplace(std::string(e.incident), incidents_.size());
  if (inserted) {
    Inc& inc = incidents_.emplace_back();
    inc.id = std::string(e.incident);
    inc.first_ms = r.time.ms;
    inc.rule = std::string(e.rule);
  }
  Inc& inc = incidents_[it->second];
  inc.records++;
  std::string key = std::string(dedup::DecisionName(e.decision));
  if (!e.rule.empty()) key += " by " + std::string(e.rule);
  inc.evidence[key]++;
  if (e.has_fingerprint && inc.fingerprints.size() < 50 &&
      std::find(inc.fingerprints.begin(), inc.fingerprints.end(), e.fingerprint.value) ==
          inc.fingerprints.end()) {
    inc.fingerprints.push_back(e.fingerprint.value);
  }
}

void ReportBuilder::OnDeadLetter(int64_t ts) { minutes_[ts / 60000].dead++; }

void ReportBuilder::OnNotification(const dedup::Notification& n) {
  const bool page = n.route == rules::Action::kPage;
  const bool trigger = n.action == dedup::NotifyAction::kTrigger;
  if (trigger) (page ? minutes_[n.at.ms / 60000].pages : minutes_[n.at.ms / 60000].tickets)++;
  auto [it, inserted] = incident_index_.try_emplace(n.incident->id, incidents_.size());
  if (inserted) {
    Inc& fresh = incidents_.emplace_back();
    fresh.id = n.incident->id;
    fresh.first_ms = n.at.ms;
  }
  Inc& inc = incidents_[it->second];
  inc.sent.push_back(Sent{n.at.ms, page, trigger, std::string(n.reason)});
  if (page) {
    inc.route = "page";
  } else if (inc.route == "none") {
    inc.route = "ticket";
  }
  if (trigger) inc.summary = IncidentSummary(n, rules_);
  inc.members.clear();
  // (A paged incident whose members were inhibited since meets nothing now: keep what paged.)
  const int met = dedup::MetPageCondition(rules_.page, n.incident->members, n.at);
  if (met != -1 || inc.route != "page") inc.met = met;
  inc.shortfalls.clear();
  for (size_t i = 0; inc.met == -1 && i < rules_.page.when.size(); ++i) {
    if (rules_.page.when[i].single()) continue;
    std::string why =
        dedup::PageShortfall(rules_.page, static_cast<int>(i), n.incident->members, n.at);
    if (!why.empty()) inc.shortfalls.emplace_back(i, std::move(why));
  }
  for (const dedup::Member& m : n.incident->members) {
    if (inc.members.size() >= 100) break;
    MemberView v;
    v.name = std::string(m.name());
    v.summary = Cut(m.summary(), 300);
    v.severity = std::string(dedup::SeverityName(m.severity));
    v.fingerprint = m.fingerprint.value;
    v.records = m.count;
    v.pages = m.pages;
    v.counts = dedup::CountsToward(rules_.page, inc.met, m, n.at);
    v.inhibited = m.inhibited;
    v.firing = m.firing;
    v.first_ms = m.first_seen.ms;
    inc.members.push_back(std::move(v));
  }
}

bool ReportBuilder::Write(const std::string& path, const ReplaySummary& s,
                          std::string* error) const {
  std::string h;
  h.reserve(1 << 20);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<title>noisegate replay report</title><style>";
  h += kStyle;
  h += "</style></head><body>\n<h1>noisegate replay report</h1>\n";
  h += "<p class=\"muted\">rules: <code>" + Esc(rules_.path) + "</code></p>\n";
  const uint64_t notified = s.pages_opened + s.tickets_opened;
  h += "<div class=\"stats\"><span><b>" + std::to_string(s.records) +
       "</b> records</span><span><b>" + std::to_string(s.incidents_opened) +
       "</b> incidents</span><span><b>" + std::to_string(s.pages_opened) +
       "</b> paged</span><span><b>" + std::to_string(s.tickets_opened) +
       "</b> ticketed</span><span><b>" + std::to_string(s.dead_letters) +
       "</b> dead letters</span>";
  if (notified > 0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.1fx", static_cast<double>(s.records) / notified);
    h += std::string("<span><b>") + buf + "</b> records per incident sent</span>";
  }
  h += "</div>\n";
  if (s.diff) DiffSection(*s.diff, &h);

  // Timeline: records per minute (bars), pages and tickets sent (marks above).
  h += "<h2>Timeline</h2>\n";
  if (!minutes_.empty()) {
    const int64_t first = minutes_.begin()->first, last = minutes_.rbegin()->first;
    const int64_t span = std::max<int64_t>(1, last - first + 1);
    uint64_t peak = 1;
    for (const auto& [m, b] : minutes_) peak = std::max(peak, b.records);
    const double w = 1160.0 / static_cast<double>(span);
    h += "<svg id=\"timeline\" width=\"1180\" height=\"190\" viewBox=\"0 0 1180 190\">";
    for (const auto& [m, b] : minutes_) {
      const double x = 10 + w * static_cast<double>(m - first);
      const double bw = std::max(1.0, w);
      auto bar = [&](uint64_t n, double base, const char* color) {
        double hgt = 130.0 * static_cast<double>(n) / static_cast<double>(peak);
        char buf[200];
        std::snprintf(buf, sizeof(buf),
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", x,
                      170 - base - hgt, bw, hgt, color);
        h += buf;
        return hgt;
      };
      double base = bar(b.in_incidents, 0, "#5d6d7e");
      base += bar(b.records - b.in_incidents, base, "#d5d8dc");
      h += "<title>" + Time(m * 60000) + ": " + std::to_string(b.records) + " records</title>";
      for (uint32_t i = 0; i < b.pages + b.tickets; ++i) {
        char buf[200];
        std::snprintf(buf, sizeof(buf), "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%s\"/>",
                      x + bw / 2, 14 + 9 * static_cast<int>(i % 3),
                      i < b.pages ? "#c0392b" : "#d68910");
        h += buf;
      }
    }
    h += "<text x=\"10\" y=\"186\" font-size=\"11\">" + Time(first * 60000) +
         "</text><text x=\"1170\" y=\"186\" font-size=\"11\" text-anchor=\"end\">" +
         Time(last * 60000) + "</text></svg>\n";
    h += "<p class=\"muted\">Bars: records per minute (dark: joined an incident; light: "
         "deduplicated away, muted or below a threshold). Dots: pages (red) and tickets "
         "(amber) sent. Peak " +
         std::to_string(peak) + " records in a minute.</p>\n";
  }

  // Search.
  h += "<h2>Search</h2>\n<p><input id=\"q\" placeholder=\"alertname, label=value, fingerprint, "
       "incident, text\" autocomplete=\"off\"> <span class=\"muted\"><span id=\"shown\"></span> "
       "incidents shown</span></p>\n";

  // Incidents: notified ones in the order of their first notification, then the busiest
  // quiet ones.
  std::vector<const Inc*> notified_incs, quiet;
  for (const Inc& inc : incidents_) (inc.sent.empty() ? quiet : notified_incs).push_back(&inc);
  std::stable_sort(notified_incs.begin(), notified_incs.end(), [](const Inc* a, const Inc* b) {
    return a->sent.front().at_ms < b->sent.front().at_ms;
  });
  std::stable_sort(quiet.begin(), quiet.end(),
                   [](const Inc* a, const Inc* b) { return a->records > b->records; });
  const size_t quiet_shown = std::min(quiet.size(), kMaxQuietIncidents);
  // page.when entry i as the report names it: its text and where it is written.
  auto entry = [&](size_t i) {
    const rules::PageCondition& c = rules_.page.when[i];
    return "<code>" + Esc(c.ToString()) + "</code> <span class=\"muted\">(" + Esc(rules_.path) +
           ":" + std::to_string(c.pos.line) + ")</span>";
  };
  std::string when_list;
  for (size_t i = 0; i < rules_.page.when.size(); ++i) when_list += "<li>" + entry(i) + "</li>";
  std::map<std::string, std::vector<const DiffEntry*>> diff_of;  // A's incident -> its entries
  if (s.diff) {
    for (const DiffEntry& e : s.diff->entries) {
      if (!e.a_id.empty()) diff_of[e.a_id].push_back(&e);
    }
  }
  auto card = [&](const Inc& inc) {
    std::string search = inc.id + " " + inc.summary + " " + inc.route;
    auto diff = diff_of.find(inc.id);
    if (diff != diff_of.end()) search += " diff-changed";
    for (const MemberView& m : inc.members) {
      search += " " + m.name + " " + m.summary + " " + Hex(m.fingerprint);
      auto f = fps_.find(m.fingerprint);
      if (f != fps_.end()) search += " " + f->second.labels;
    }
    for (uint64_t fp : inc.fingerprints) {
      search += " " + Hex(fp);
      auto f = fps_.find(fp);
      if (f != fps_.end()) search += " " + f->second.name + " " + f->second.labels;
    }
    std::transform(search.begin(), search.end(), search.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    h += "<section class=\"incident\" id=\"" + Esc(inc.id) + "\" data-search=\"" + Esc(search) +
         "\">\n<h3><span class=\"badge " + inc.route + "\">" + inc.route + "</span>" +
         Esc(inc.summary.empty() ? inc.id : inc.summary) + "</h3>\n";
    h += "<div class=\"muted\"><code>" + Esc(inc.id) + "</code> · correlate rule <code>" +
         Esc(inc.rule) + "</code> · first record " + Time(inc.first_ms) + " · " +
         std::to_string(inc.records) + " records</div>\n";
    if (!inc.sent.empty()) {
      h += "<table><tr><th>sent</th><th>as</th><th>action</th><th>reason</th></tr>";
      for (size_t k = 0; k < inc.sent.size() && k < kMaxSentRows; ++k) {
        const Sent& x = inc.sent[k];
        h += "<tr><td>" + Time(x.at_ms) + "</td><td>" + (x.page ? "page" : "ticket") + "</td><td>" +
             (x.trigger ? "trigger" : "resolve") + "</td><td>" + Esc(x.reason) + "</td></tr>";
      }
      h += "</table>\n";
      if (inc.sent.size() > kMaxSentRows) {
        h += "<div class=\"muted\">and " + std::to_string(inc.sent.size() - kMaxSentRows) +
             " more notifications</div>\n";
      }
    }
    // Why it paged, or why not.
    std::string paging, inhibited_paging;
    for (const MemberView& m : inc.members) {
      if (!(m.counts || (m.pages && m.inhibited))) continue;
      std::string& list = m.inhibited ? inhibited_paging : paging;
      if (!list.empty()) list += ", ";
      list += "<b>" + Esc(m.name) + "</b> (" + Esc(m.severity) + ")";
    }
    if (diff != diff_of.end()) {
      h += "<div class=\"diff\">Under <code>" + Esc(s.diff->name_b) +
           "</code> (<a href=\"#diff\">"
           "compared</a>): ";
      bool first_change = true;
      for (const DiffEntry* e : diff->second) {
        std::vector<std::string> lines = e->what;
        if (e->kind == DiffEntry::Kind::kOnlyA) lines = {"not notified at all"};
        if (e->kind == DiffEntry::Kind::kSplit) {
          lines = {"some of its members (" + std::to_string(e->shared) + ") also " +
                   (e->paged ? "page" : "ticket") + " as " + e->b_id + " at " + Time(e->at_ms)};
        }
        for (const std::string& w : lines) {
          h += (first_change ? "" : "; ") + Esc(w);
          first_change = false;
        }
      }
      h += "</div>\n";
    }
    h += "<div class=\"why\">";
    if (inc.route == "page" && inc.met >= 0) {
      h += "Paged: it meets the <code>page.when</code> entry " +
           entry(static_cast<size_t>(inc.met)) + " with its members " + paging + ".";
    } else if (inc.route == "page" && inc.met == -2) {
      h += "Paged: its members " + paging +
           " paged under the rules running when they joined (see <a "
           "href=\"#paging-rules\">paging rules</a>).";
    } else if (inc.route == "page") {
      h += "Paged: it met a <code>page.when</code> entry that its members meet no longer (a "
           "member counted by its <code>firing_for</code> resolved, or the rules changed; see <a "
           "href=\"#paging-rules\">paging rules</a>).";
    } else if (inc.route == "ticket") {
      h += inhibited_paging.empty()
               ? std::string(
                     "Not paged: it meets no <code>page.when</code> entry "
                     "(see <a href=\"#paging-rules\">paging rules</a>).")
               : "Not paged: the members that would page (" + inhibited_paging + ") are inhibited.";
      if (!inc.shortfalls.empty()) {
        h += " Closest:<ul class=\"shortfall\">";
        for (const auto& [i, why] : inc.shortfalls)
          h += "<li>" + entry(i) + ": " + Esc(why) + "</li>";
        h += "</ul>";
      }
    } else {
      h += "Nothing sent: the incident never became due (still within group_wait at the "
           "end), or its route is <code>drop</code>, or all its members were muted.";
    }
    h += "</div>\n";
    if (!inc.members.empty()) {
      h += "<table><tr><th>member</th><th>summary</th><th>severity</th><th>records</th>"
           "<th>first seen</th><th>pages?</th><th>fingerprint</th></tr>";
      for (const MemberView& m : inc.members) {
        h += "<tr><td>" + Esc(m.name) + (m.inhibited ? " <i>(inhibited)</i>" : "") + "</td><td>" +
             Esc(m.summary) + "</td><td>" + Esc(m.severity) + "</td><td>" +
             std::to_string(m.records) + "</td><td>" + Time(m.first_ms) + "</td><td>" +
             (m.pages ? "yes" : "no") + "</td><td><code>" + Hex(m.fingerprint) +
             "</code></td></tr>";
      }
      h += "</table>\n";
    }
    h += "<div class=\"muted\">Decided: ";
    bool first = true;
    for (const auto& [what, n] : inc.evidence) {
      h += (first ? "" : "; ") + Esc(what) + " " + std::to_string(n);
      first = false;
    }
    h += "</div>\n</section>\n";
  };
  h += "<h2 id=\"paging-rules\">Paging rules</h2>\n<p>An incident pages when it meets one "
       "<code>page.when</code> entry: a matcher list when one member matches it, a condition "
       "when its members (not inhibited ones) meet every clause; otherwise it goes to "
       "<code>page.otherwise</code>.</p><ul>" +
       when_list + "</ul>\n";
  h += "<h2>Incidents sent (" + std::to_string(notified_incs.size()) + ")</h2>\n";
  if (notified_incs.size() > kMaxSentIncidents) {
    // Keep every page (up to the cap) and the busiest tickets, in time order.
    std::vector<const Inc*> keep = notified_incs;
    std::stable_sort(keep.begin(), keep.end(), [](const Inc* a, const Inc* b) {
      if ((a->route == "page") != (b->route == "page")) return a->route == "page";
      return a->records > b->records;
    });
    keep.resize(kMaxSentIncidents);
    std::set<const Inc*> kept(keep.begin(), keep.end());
    std::erase_if(notified_incs, [&](const Inc* i) { return !kept.count(i); });
    h += "<p class=\"muted\">" + std::to_string(kMaxSentIncidents) +
         " shown: the pages first, then the tickets with the most records.</p>\n";
  }
  for (const Inc* inc : notified_incs) card(*inc);
  h += "<h2>Incidents not sent (" + std::to_string(quiet.size()) + ")</h2>\n";
  if (quiet.size() > quiet_shown) {
    h += "<p class=\"muted\">The " + std::to_string(quiet_shown) + " with the most records of " +
         std::to_string(quiet.size()) + ".</p>\n";
  }
  for (size_t i = 0; i < quiet_shown; ++i) card(*quiet[i]);

  // What happened to each alert.
  std::vector<std::pair<uint64_t, const Fp*>> fps;
  fps.reserve(fps_.size());
  for (const auto& [k, f] : fps_) fps.emplace_back(k, &f);
  std::sort(fps.begin(), fps.end(), [](const auto& a, const auto& b) {
    return a.second->records != b.second->records ? a.second->records > b.second->records
                                                  : a.first < b.first;
  });
  const size_t fps_shown = std::min(fps.size(), kMaxFingerprints);
  h += "<h2>What happened to each signal (" + std::to_string(fps.size()) + ")</h2>\n";
  if (fps.size() > fps_shown) {
    h += "<p class=\"muted\">The " + std::to_string(fps_shown) + " with the most records.</p>\n";
  }
  h += "<table id=\"signals\"><tr><th>signal</th><th>labels</th><th>records</th><th>decisions</th>"
       "<th>incident</th><th>seen</th></tr>\n";
  for (size_t i = 0; i < fps_shown; ++i) {
    const auto& [key, f] = fps[i];
    std::string decisions;
    for (int d = 0; d < dedup::kDecisionCount; ++d) {
      if (f->decisions[d] == 0) continue;
      if (!decisions.empty()) decisions += ", ";
      decisions += std::string(dedup::DecisionName(static_cast<dedup::Decision>(d))) + " " +
                   std::to_string(f->decisions[d]);
    }
    std::string search = Hex(key) + " " + f->name + " " + f->labels + " " + f->incident;
    std::transform(search.begin(), search.end(), search.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    h += "<tr data-search=\"" + Esc(search) + "\"><td><b>" + Esc(f->name) + "</b><br><code>" +
         Hex(key) + "</code></td><td><code>" + Esc(Cut(f->labels, 400)) + "</code></td><td>" +
         std::to_string(f->records) + "</td><td>" + Esc(decisions) + "</td><td>" +
         (f->incident.empty()
              ? ""
              : "<a href=\"#" + Esc(f->incident) + "\">" + Esc(f->incident) + "</a>") +
         "</td><td>" + Time(f->first_ms) + " – " + Time(f->last_ms) + "</td></tr>\n";
  }
  h += "</table>\n<script>";
  h += kScript;
  h += "</script>\n</body></html>\n";

  std::ofstream out(path, std::ios::binary);
  out << h;
  if (!out) {
    *error = path + ": cannot write the report";
    return false;
  }
  return true;
}

}  // namespace noisegate::processor

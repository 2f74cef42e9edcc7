#include "processor/replay/backtest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <tuple>

#include "processor/output/render.h"
#include "rules/yaml_reader.h"

namespace noisegate::processor {
namespace {

// A record's labels plus `signal`, as the incidents file's matchers read them.
class TruthLabels : public rules::LabelSource {
 public:
  explicit TruthLabels(const Record& r) : r_(r) {}
  std::string_view Get(std::string_view name) const override {
    if (name == "signal") return r_.kind == SignalKind::kAlert ? "alert" : "log";
    return r_.labels.Get(name);
  }

 private:
  const Record& r_;
};

double F1(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0; }

std::string Offset(int64_t ms) {
  std::string s = ms < 0 ? "-" : "+";
  ms = ms < 0 ? -ms : ms;
  if (ms >= 60'000) s += std::to_string(ms / 60'000) + "m";
  s += std::to_string(ms % 60'000 / 1000) + "s";
  return s;
}

// The busiest `n` of a tally, most records first.
std::vector<std::pair<std::string, uint64_t>> Top(std::map<std::string, uint64_t> tally, size_t n) {
  std::vector<std::pair<std::string, uint64_t>> v(tally.begin(), tally.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (v.size() > n) v.resize(n);
  return v;
}

}  // namespace

bool LoadLabelledIncidents(const std::string& path, std::vector<LabelledIncident>* out,
                           std::vector<rules::Diagnostic>* problems) {
  std::error_code size_error;
  rules::YamlReader rd(path, std::filesystem::file_size(path, size_error));
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    problems->push_back(rules::Diagnostic{path, 0, 0, "", "cannot read the file"});
    return false;
  } catch (const YAML::Exception& e) {
    problems->push_back(rules::Diagnostic{path, e.mark.line + 1, e.mark.column + 1, "", e.msg});
    return false;
  }
  try {
    if (rd.CheckMap(root, "", {"incidents"}, "a map with `incidents`") &&
        rd.Require(root, "", "incidents")) {
      YAML::Node list = rules::YamlReader::Get(root, "incidents");
      if (rd.CheckList(list, "incidents", "a list of incidents")) {
        for (size_t i = 0; i < list.size(); ++i) {
          const YAML::Node n = list[i];
          const std::string p = rules::IndexPath("incidents", i);
          if (!rd.CheckMap(n, p, {"name", "start", "end", "route", "match"}, "an incident")) {
            continue;
          }
          bool ok = true;
          for (std::string_view k : {"name", "start", "end", "match"}) ok &= rd.Require(n, p, k);
          if (!ok) continue;
          LabelledIncident inc;
          inc.line = rules::YamlReader::Pos(n).line;
          auto get = [&](std::string_view k) { return rules::YamlReader::Get(n, k); };
          auto name = rd.NonEmptyString(get("name"), rules::JoinPath(p, "name"));
          auto start = rd.Timestamp(get("start"), rules::JoinPath(p, "start"));
          auto end = rd.Timestamp(get("end"), rules::JoinPath(p, "end"));
          if (name) inc.name = *name;
          if (start) inc.start_ms = start->ms;
          if (end) inc.end_ms = end->ms;
          if (start && end && end->ms < start->ms) {
            rd.Report(get("end"), rules::JoinPath(p, "end"), "the end is before the start");
          }
          if (rules::YamlReader::Has(get("route"))) {
            auto route = rd.Choice(get("route"), rules::JoinPath(p, "route"), "page or ticket",
                                   {"page", "ticket"});
            if (route) inc.page = *route == "page";
          }
          const std::string mp = rules::JoinPath(p, "match");
          YAML::Node match = get("match");
          if (rd.CheckList(match, mp, "a list of matcher lists")) {
            if (match.size() == 0) rd.Report(match, mp, "expected at least one matcher list");
            for (size_t k = 0; k < match.size(); ++k) {
              auto set = rd.Matchers(match[k], rules::IndexPath(mp, k), /*non_empty=*/true);
              if (set) inc.match.push_back(std::move(*set));
            }
          }
          out->push_back(std::move(inc));
        }
      }
    }
  } catch (const rules::WalkBudgetExceeded&) {
  }
  if (!rd.has_errors()) return true;
  *problems = rd.TakeDiagnostics();
  return false;
}

Backtest::Backtest(std::vector<LabelledIncident> incidents)
    : labelled_(std::move(incidents)),
      label_size_(labelled_.size()),
      label_alone_(labelled_.size()),
      first_record_(labelled_.size(), 0),
      first_critical_(labelled_.size(), 0) {}

int Backtest::Label(const Record& r) const {
  TruthLabels labels(r);
  for (size_t i = 0; i < labelled_.size(); ++i) {
    const LabelledIncident& l = labelled_[i];
    if (r.time.ms < l.start_ms || r.time.ms > l.end_ms) continue;
    for (const rules::MatcherSet& m : l.match) {
      if (m.Matches(labels)) return static_cast<int>(i);
    }
  }
  return -1;
}

int Backtest::IncidentIndex(std::string_view dedup_key) {
  auto [it, inserted] =
      key_index_.try_emplace(std::string(dedup_key), static_cast<int>(keys_.size()));
  if (inserted) {
    keys_.emplace_back(dedup_key);
    incident_size_.emplace_back();
    sent_.emplace_back();
  }
  return it->second;
}

void Backtest::OnDecision(const dedup::DecisionEvent& e) {
  const Record& r = *e.record;
  const bool alert = r.kind == SignalKind::kAlert;
  const int label = Label(r);
  const int inc = e.incident.empty() ? -1 : IncidentIndex(e.incident);
  std::string signal =
      e.name.empty() ? std::string(r.labels.Get("alertname")) : std::string(e.name);
  if (inc >= 0) {
    incident_size_[inc].all++;
    incident_size_[inc].alerts += alert;
    if (label < 0) other_in_[{inc, signal}]++;
  }
  if (label < 0) return;
  Counts& size = label_size_[label];
  size.all++;
  size.alerts += alert;
  if (first_record_[label] == 0) first_record_[label] = r.time.ms;
  if (alert && first_critical_[label] == 0 && r.labels.Get("severity") == "critical") {
    first_critical_[label] = r.time.ms;
  }
  std::string where = inc >= 0 ? keys_[inc] : std::string(dedup::DecisionName(e.decision));
  where_[{label, signal, where}]++;
  if (inc < 0) {
    label_alone_[label].all++;
    label_alone_[label].alerts += alert;
    return;
  }
  Counts& cell = cells_[{inc, label}];
  cell.all++;
  cell.alerts += alert;
}

void Backtest::OnNotification(const dedup::Notification& n) {
  if (n.action != dedup::NotifyAction::kTrigger) return;
  Sent& s = sent_[IncidentIndex(n.incident->id)];
  if (n.route == rules::Action::kPage) {
    if (!s.paged) s.first_page_ms = n.at.ms;
    s.paged = true;
  } else {
    s.ticketed = true;
  }
}

BacktestResult Backtest::Score() const {
  BacktestResult out;
  const size_t nl = labelled_.size();
  // Whose each incident is: the label holding most of its records, if they outnumber the
  // records of no label (-1).
  std::vector<int> owner(keys_.size(), -1);
  std::vector<uint64_t> owner_records(keys_.size(), 0), labelled_in(keys_.size(), 0);
  for (const auto& [key, c] : cells_) {
    const auto [inc, label] = key;
    labelled_in[inc] += c.all;
    if (c.all > owner_records[inc]) {
      owner_records[inc] = c.all;
      owner[inc] = label;
    }
  }
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (owner[i] >= 0 && owner_records[i] < incident_size_[i].all - labelled_in[i]) owner[i] = -1;
  }

  // Grouping: B-cubed over labelled records (an incident's size counts every record in it),
  // and pair counting over the same.
  struct Sums {
    double p = 0, r = 0, tp = 0, pred = 0, truth = 0, n = 0;
  } all, alerts;
  auto pairs = [](double n) { return n * (n - 1) / 2; };
  std::vector<double> label_p(nl, 0), label_r(nl, 0);
  for (const auto& [key, c] : cells_) {
    const auto [inc, label] = key;
    const double n = static_cast<double>(c.all), a = static_cast<double>(c.alerts);
    const double size = static_cast<double>(incident_size_[inc].all);
    const double asize = static_cast<double>(incident_size_[inc].alerts);
    const double lsize = static_cast<double>(label_size_[label].all);
    const double lasize = static_cast<double>(label_size_[label].alerts);
    all.p += n * n / size;
    all.r += n * n / lsize;
    all.tp += pairs(n);
    label_p[label] += n * n / size;
    label_r[label] += n * n / lsize;
    if (a > 0) {
      alerts.p += a * a / asize;
      alerts.r += a * a / lasize;
      alerts.tp += pairs(a);
    }
  }
  for (size_t l = 0; l < nl; ++l) {
    const double alone = static_cast<double>(label_alone_[l].all);
    const double aalone = static_cast<double>(label_alone_[l].alerts);
    const double lsize = static_cast<double>(label_size_[l].all);
    const double lasize = static_cast<double>(label_size_[l].alerts);
    // A record in no incident is a group of its own: precise, and alone.
    all.p += alone;
    label_p[l] += alone;
    if (lsize > 0) {
      all.r += alone / lsize;
      label_r[l] += alone / lsize;
    }
    if (lasize > 0) alerts.r += aalone / lasize;
    alerts.p += aalone;
    all.n += lsize;
    alerts.n += lasize;
    all.truth += pairs(lsize);
    alerts.truth += pairs(lasize);
  }
  // Predicted pairs: those with at least one labelled record (two records of nobody's in one
  // incident are no mistake about any labelled incident).
  std::vector<uint64_t> labelled_alerts_in(keys_.size(), 0);
  for (const auto& [key, c] : cells_) labelled_alerts_in[key.first] += c.alerts;
  for (size_t i = 0; i < keys_.size(); ++i) {
    const double size = static_cast<double>(incident_size_[i].all);
    const double asize = static_cast<double>(incident_size_[i].alerts);
    all.pred += pairs(size) - pairs(size - static_cast<double>(labelled_in[i]));
    alerts.pred += pairs(asize) - pairs(asize - static_cast<double>(labelled_alerts_in[i]));
  }
  auto b3 = [](const Sums& s) { return s.n > 0 ? F1(s.p / s.n, s.r / s.n) : 0; };
  auto pair_f1 = [](const Sums& s) {
    if (s.n == 0) return 0.0;
    double p = s.pred > 0 ? s.tp / s.pred : 1, r = s.truth > 0 ? s.tp / s.truth : 1;
    return F1(p, r);
  };
  out.b3_f1_all = b3(all);
  out.b3_f1_alerts = b3(alerts);
  out.pair_f1_all = pair_f1(all);
  out.pair_f1_alerts = pair_f1(alerts);

  // Pages.
  std::vector<int64_t> after_critical;
  for (size_t l = 0; l < nl; ++l) {
    const LabelledIncident& li = labelled_[l];
    IncidentScore s;
    s.name = li.name;
    s.want_page = li.page;
    s.records = label_size_[l].all;
    s.alert_records = label_size_[l].alerts;
    s.first_record_ms = first_record_[l];
    s.first_critical_ms = first_critical_[l];
    s.b3_precision = s.records > 0 ? label_p[l] / static_cast<double>(s.records) : 0;
    s.b3_recall = s.records > 0 ? label_r[l] / static_cast<double>(s.records) : 0;
    for (const auto& [key, c] : cells_) {
      const auto [inc, label] = key;
      if (label != static_cast<int>(l)) continue;
      // Sent for it: by incidents that are mostly its own (one of its records in another
      // problem's page is no page for it).
      const Sent& sent = sent_[inc];
      if (owner[inc] == label) {
        if (sent.paged && (!s.paged || sent.first_page_ms < s.first_page_ms)) {
          s.first_page_ms = sent.first_page_ms;
        }
        s.paged |= sent.paged;
        s.ticketed |= sent.ticketed;
      }
      if (c.all > s.in_main) {
        s.in_main = c.all;
        s.main = keys_[inc];
        s.main_size = incident_size_[inc].all;
      }
    }
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (owner[i] == static_cast<int>(l) && sent_[i].paged) s.pages++;
    }
    // What went astray, and what joined its main incident from elsewhere.
    std::map<std::string, uint64_t> astray, intruders;
    for (const auto& [key, n] : where_) {
      const auto& [label, signal, where] = key;
      if (label == static_cast<int>(l) && where != s.main) astray[signal + " -> " + where] += n;
    }
    if (!s.main.empty()) {
      const int main = key_index_.at(s.main);
      for (const auto& [key, n] : other_in_) {
        if (key.first == main) intruders[key.second + " (no incident)"] += n;
      }
      for (const auto& [key, n] : where_) {
        const auto& [label, signal, where] = key;
        if (label != static_cast<int>(l) && where == s.main) {
          intruders[signal + " (of " + labelled_[label].name + ")"] += n;
        }
      }
    }
    s.astray = Top(std::move(astray), 5);
    s.intruders = Top(std::move(intruders), 5);
    if (li.page) {
      out.want_page++;
      if (s.paged) {
        out.paged++;
        if (s.first_critical_ms != 0)
          after_critical.push_back(s.first_page_ms - s.first_critical_ms);
      }
    }
    if (li.page && s.pages > 1) out.duplicate_pages += s.pages - 1;  // (a ticket's: false)
    out.incidents.push_back(std::move(s));
  }
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (!sent_[i].paged) continue;
    if (owner[i] < 0 || !labelled_[owner[i]].page) {
      out.false_pages++;
      out.false_page_keys.push_back(keys_[i]);
    }
  }
  std::sort(after_critical.begin(), after_critical.end());
  out.timed = static_cast<int>(after_critical.size());
  if (!after_critical.empty()) {
    size_t m = after_critical.size();
    out.median_page_after_critical_ms =
        m % 2 ? static_cast<double>(after_critical[m / 2])
              : (static_cast<double>(after_critical[m / 2 - 1]) + after_critical[m / 2]) / 2;
  }
  return out;
}

void PrintBacktest(const BacktestResult& r, std::ostream& out) {
  out << "backtest: " << r.incidents.size() << " labelled incidents (" << r.want_page
      << " to page)\n";
  for (const IncidentScore& s : r.incidents) {
    out << "\n" << s.name << "  [" << (s.want_page ? "page" : "ticket") << "]\n";
    if (s.records == 0) {
      out << "  no record of the capture matches it\n";
      continue;
    }
    out << "  records:  " << s.records << " (" << s.alert_records << " alerts), first "
        << FormatRfc3339(EventTime{s.first_record_ms}) << "\n";
    out << "  sent:     ";
    if (s.paged) {
      out << "paged " << FormatRfc3339(EventTime{s.first_page_ms}) << " ("
          << Offset(s.first_page_ms - s.first_record_ms) << " after its first record";
      if (s.first_critical_ms != 0) {
        out << ", " << Offset(s.first_page_ms - s.first_critical_ms)
            << " after its first critical alert";
      }
      out << "), " << s.pages << (s.pages == 1 ? " page" : " pages") << " of its own";
    } else if (s.ticketed) {
      out << "ticketed, not paged";
    } else {
      out << "nothing";
    }
    if (s.want_page && !s.paged) out << "  <- MISSED";
    if (!s.want_page && s.paged) out << "  <- PAGED, wanted a ticket";
    if (s.want_page && s.pages > 1) out << "  <- " << s.pages - 1 << " DUPLICATE";
    out << "\n";
    out << std::fixed << std::setprecision(2);
    out << "  grouping: B-cubed precision " << s.b3_precision << ", recall " << s.b3_recall;
    if (!s.main.empty()) {
      out << "; " << s.in_main << " of its records in " << s.main << " (of " << s.main_size
          << " there)";
    }
    out << "\n";
    for (const auto& [what, n] : s.astray) out << "    astray:   " << n << " " << what << "\n";
    for (const auto& [what, n] : s.intruders) out << "    joined:   " << n << " " << what << "\n";
  }
  out << std::fixed << std::setprecision(2);
  out << "\nsummary: paged " << r.paged << " of " << r.want_page << ", duplicate pages "
      << r.duplicate_pages << ", false pages " << r.false_pages;
  if (r.timed > 0) {
    out << ", median page " << Offset(static_cast<int64_t>(r.median_page_after_critical_ms))
        << " after the first critical alert (over " << r.timed << ")";
  }
  out << "\n         grouping F1: B-cubed " << r.b3_f1_all << " (alerts " << r.b3_f1_alerts
      << "), pairs " << r.pair_f1_all << " (alerts " << r.pair_f1_alerts << ")\n";
  for (const std::string& k : r.false_page_keys) {
    out << "         false page: " << k << " (mostly records of no page-worthy incident)\n";
  }
}

}  // namespace noisegate::processor

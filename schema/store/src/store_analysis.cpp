// Store: record analysis, rollups and their queries, and the DNS cache.
//
// Rollups are sums over analysed records of counted reports (those that are
// not conflicting copies). Every change to a record's analysis moves its
// contribution in the same transaction: SaveReport adds (+1), and
// ReplaceAnalysis removes the old (-1) and adds the new (+1), so the sums
// always equal what a scan of the records would give.

#include <Poco/Data/Statement.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "dmarcwatch/model/time.h"
#include "json_text.h"
#include "period_answers.h"
#include "store_impl.h"

namespace dmarcwatch::store {
namespace {

// The longest list of source groups kept as a period answer (QuerySources):
// what the dashboard's senders view asks for.
constexpr std::uint32_t kKeptSources = 50000;

// Rollups hold counts as signed 64-bit sums; one row contributes at most
// this much, so that adding and later subtracting it can never overflow.
constexpr std::int64_t kMaxContribution = std::int64_t{1} << 48;

struct Contribution {
  std::int64_t messages = 0, dmarc_pass = 0, spf_aligned = 0, dkim_aligned = 0,
               disagreements = 0, quarantined = 0, rejected = 0, row_count = 0;

  void Add(const RecordRowData& row, int sign) {
    const std::int64_t n = std::min(row.count, kMaxContribution) * sign;
    auto flag = [](const NullableInt& v) { return !v.isNull() && v.value() != 0; };
    // One report may hold more rows of the largest count than an int64_t
    // sum of them holds, so the sum saturates at +-INT64_MAX. All rows of
    // one contribution have the same sign, so the contribution removed
    // later (the same rows, sign -1) is still exactly the one added.
    auto add = [n](std::int64_t& sum) {
      constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
      if (__builtin_add_overflow(sum, n, &sum)) sum = n > 0 ? kMax : -kMax;
    };
    add(messages);
    if (flag(row.dmarc_pass)) add(dmarc_pass);
    if (flag(row.spf_aligned)) add(spf_aligned);
    if (flag(row.dkim_aligned)) add(dkim_aligned);
    if (flag(row.disagrees)) add(disagreements);
    if (row.disposition == "quarantine") add(quarantined);
    if (row.disposition == "reject") add(rejected);
    row_count += sign;
  }
  template <typename Row>
  void CopyTo(Row& r) const {
    r.messages = messages;
    r.dmarc_pass = dmarc_pass;
    r.spf_aligned = spf_aligned;
    r.dkim_aligned = dkim_aligned;
    r.disagreements = disagreements;
    r.quarantined = quarantined;
    r.rejected = rejected;
    r.row_count = row_count;
  }
};

std::uint64_t Unsigned(std::int64_t v) { return v < 0 ? 0 : static_cast<std::uint64_t>(v); }

// The counted columns, summed, in the order CountsRow extracts them.
std::string CountsSelect(const Dialect& d) {
  std::string out;
  for (const char* c : {"messages", "dmarc_pass", "spf_aligned", "dkim_aligned", "disagreements",
                        "quarantined", "rejected", "row_count"}) {
    if (!out.empty()) out += ", ";
    out += d.SumBigint(c);
  }
  return out;
}

// Appends "AND ..." conditions of a RollupFilter (table alias optional)
// and binds their values in the same order.
class FilterSql {
 public:
  FilterSql(const RollupFilter& f, bool with_path) : f_(f), with_path_(with_path) {}
  std::string Where() const {
    std::string w = " WHERE day >= ? AND day <= ?";
    if (f_.domain) w += " AND domain = ?";
    if (with_path_ && f_.path_key) w += " AND path_key = ?";
    return w;
  }
  void Bind(Poco::Data::Statement& st) const {
    st.addBind(bind(f_.from_day));
    st.addBind(bind(f_.to_day));
    if (f_.domain) st.addBind(bind(model::AsciiLower(*f_.domain)));
    if (with_path_ && f_.path_key) st.addBind(bind(*f_.path_key));
  }

 private:
  const RollupFilter& f_;
  bool with_path_;
};

model::Counts ToCounts(const std::vector<std::int64_t>& c) {
  model::Counts out;
  out.messages = Unsigned(c[0]);
  out.dmarc_pass = Unsigned(c[1]);
  out.spf_aligned = Unsigned(c[2]);
  out.dkim_aligned = Unsigned(c[3]);
  out.disagreements = Unsigned(c[4]);
  out.quarantined = Unsigned(c[5]);
  out.rejected = Unsigned(c[6]);
  out.rows = Unsigned(c[7]);
  return out;
}

// Eight parallel count columns extracted from one query.
struct CountColumns {
  std::vector<std::int64_t> col[8];
  void Into(Poco::Data::Statement& st) {
    for (auto& c : col) st.addExtract(into(c));
  }
  model::Counts Row(std::size_t i) const {
    std::vector<std::int64_t> v;
    for (const auto& c : col) v.push_back(c[i]);
    return ToCounts(v);
  }
  void Clear() {
    for (auto& c : col) c.clear();
  }
};

}  // namespace

void Store::Impl::AssignSignatures(std::vector<RecordRowData>& rows) {
  Statements& s = Prepared();
  for (RecordRowData& row : rows) {
    if (!row.analysed()) continue;
    // Most rows repeat a signature already seen: the cache is keyed by the
    // canonical text, so only a new one costs a SHA-256 and a lookup.
    std::string text = SignatureText(row);
    const std::int64_t* id = nullptr;
    for (const auto* known : {&signature_ids, &batch_signature_ids, &pending_signature_ids}) {
      auto found = known->find(text);
      if (found != known->end()) {
        id = &found->second;
        break;
      }
    }
    if (id == nullptr) {
      signature_row = SignatureOf(row);
      found_signature_id = 0;
      if (s.find_signature.execute() == 0) {
        s.insert_signature.execute();
        s.find_signature.execute();
      }
      if (signature_ids.size() + batch_signature_ids.size() + pending_signature_ids.size() >
          kMaxCachedSignatures) {
        signature_ids.clear();
      }
      id = &pending_signature_ids.emplace(std::move(text), found_signature_id).first->second;
    }
    row.signature_id = *id;
  }
}

void Store::Impl::AddToRollups(const std::string& domain, std::int64_t day,
                               const std::string& reporter, const std::vector<RecordRowData>& rows,
                               int sign) {
  // Sum the report's rows per key first: a report holds many rows for the
  // same path, and one upsert per key is cheaper than one per row. The
  // source keys are sorted, not mapped: no node per row, and the upserts
  // then go in the table's key order.
  std::map<std::string, std::pair<const RecordRowData*, Contribution>> daily;
  std::vector<const RecordRowData*> analysed;
  analysed.reserve(rows.size());
  for (const RecordRowData& row : rows) {
    if (!row.analysed()) continue;
    auto& d = daily[row.path_key.value()];
    if (d.first == nullptr) d.first = &row;
    d.second.Add(row, sign);
    analysed.push_back(&row);
  }
  if (daily.empty()) return;
  rollups_changed = true;

  daily_rows.clear();
  for (const auto& [key, entry] : daily) {
    RollupDailyRowData r;
    r.domain = domain;
    r.day = day;
    r.path_key = key;
    r.reporter = reporter;
    const RecordRowData& first = *entry.first;
    r.path_kind = first.path_kind.isNull() ? "unknown" : first.path_kind.value();
    r.path_name = first.path_name.isNull() ? "" : first.path_name.value();
    r.provider = first.provider.isNull() ? "" : first.provider.value();
    entry.second.CopyTo(r);
    daily_rows.push_back(std::move(r));
  }

  const auto signature = [](const RecordRowData* r) {
    return r->signature_id.isNull() ? std::int64_t{0} : r->signature_id.value();
  };
  using SourceKey = std::tuple<const std::string&, const std::string&, std::int64_t>;
  const auto key_of = [&](const RecordRowData* r) {
    return SourceKey(r->path_key.value(), r->source_ip, signature(r));
  };
  std::sort(analysed.begin(), analysed.end(),
            [&](const RecordRowData* a, const RecordRowData* b) { return key_of(a) < key_of(b); });
  source_rows.clear();
  Contribution sum;
  for (std::size_t k = 0; k < analysed.size(); ++k) {
    sum.Add(*analysed[k], sign);
    if (k + 1 < analysed.size() && key_of(analysed[k + 1]) == key_of(analysed[k])) continue;
    RollupSourceRowData& r = source_rows.emplace_back();
    r.domain = domain;
    r.day = day;
    r.path_key = analysed[k]->path_key.value();
    r.source_ip = analysed[k]->source_ip;
    r.signature_id = signature(analysed[k]);
    sum.CopyTo(r);
    sum = Contribution();
  }

  Statements& s = Prepared();
  auto upsert = [&](const std::string& table, const std::string& columns,
                    const std::string& placeholders, const char* key) {
    std::string add;
    for (const char* column : {"messages", "dmarc_pass", "spf_aligned", "dkim_aligned",
                               "disagreements", "quarantined", "rejected", "row_count"}) {
      if (!add.empty()) add += ", ";
      add += std::string(column) + " = " +
             dialect.AddBigint(table + "." + column, "excluded." + std::string(column));
    }
    return dialect.Sql("INSERT INTO " + table + " (" + columns + ") VALUES (" + placeholders +
                       ")" + dialect.OnConflictUpdate(key, add));
  };
  const char* kDailyKey = "domain, day, path_key, reporter";
  const char* kSourcesKey = "domain, day, path_key, source_ip, signature_id";
  if (dialect.backend == Backend::kSqlite) {
    if (!s.sqlite_upsert_daily) {
      s.sqlite_upsert_daily.emplace(session, upsert("rollup_daily", ColumnList<RollupDailyRowData>(),
                                                    PlaceholderList<RollupDailyRowData>(), kDailyKey));
      s.sqlite_upsert_sources.emplace(
          session, upsert("rollup_sources", ColumnList<RollupSourceRowData>(),
                          PlaceholderList<RollupSourceRowData>(), kSourcesKey));
    }
    s.sqlite_upsert_daily->ExecuteEach(daily_rows);
    s.sqlite_upsert_sources->ExecuteEach(source_rows);
  } else {
    // Built at the first contribution, not in Build(): Poco refuses to
    // bind a vector that is empty, as these are until then.
    if (!s.upsert_daily) {
      s.upsert_daily.emplace(session);
      *s.upsert_daily << upsert("rollup_daily", ColumnList<RollupDailyRowData>(),
                                PlaceholderList<RollupDailyRowData>(), kDailyKey),
          use(daily_rows);
      s.upsert_sources.emplace(session);
      *s.upsert_sources << upsert("rollup_sources", ColumnList<RollupSourceRowData>(),
                                  PlaceholderList<RollupSourceRowData>(), kSourcesKey),
          use(source_rows);
    }
    s.upsert_daily->execute();
    s.upsert_sources->execute();
  }
  if (sign < 0) {
    // Keys whose last row moved elsewhere.
    session << dialect.Sql("DELETE FROM rollup_daily WHERE domain = ? AND day = ? AND row_count <= 0"),
        bind(domain), bind(day), now;
    session << dialect.Sql(
        "DELETE FROM rollup_sources WHERE domain = ? AND day = ? AND row_count <= 0"),
        bind(domain), bind(day), now;
  }
}

Result<std::int64_t> Store::RollupGeneration() {
  Impl& i = *impl_;
  return i.Run("rollup_generation", [&]() -> Result<std::int64_t> {
    std::optional<std::int64_t> g = i.RollupGeneration();
    if (!g) return Status::Internal("the store has no rollup generation");
    return *g;
  });
}

std::optional<std::int64_t> Store::Impl::RollupGeneration() {
  std::int64_t generation = 0;
  Poco::Data::Statement st(session);
  st << "SELECT generation FROM rollup_generation WHERE id = 1", into(generation);
  if (st.execute() == 0) return std::nullopt;
  return generation;
}

std::optional<Store::Impl::KeptAnswer> Store::Impl::FindAnswer(const std::string& key) {
  // One statement for both: a kept answer is read on every cache miss of
  // a period view.
  KeptAnswer kept;
  std::string k = key;
  Poco::Data::Statement st(session);
  st << dialect.Sql("SELECT g.generation, a.body FROM rollup_generation g "
                    "LEFT JOIN period_answers a ON a.query = ? AND a.generation = g.generation "
                    "WHERE g.id = 1"),
      use(k), into(kept.generation), into(kept.body);
  if (st.execute() == 0) return std::nullopt;
  return kept;
}

void Store::Impl::KeepAnswer(const std::string& key, std::int64_t generation,
                             const std::string& body) {
  constexpr auto kMaxAnswers = static_cast<std::int64_t>(StoreOptions::kMaxKeptAnswers);
  const bool sqlite = dialect.backend == Backend::kSqlite;
  try {
    // A reader does not wait long for a writer: without the answer kept,
    // the next reader computes it again, which is all that is lost.
    if (sqlite) Exec("PRAGMA busy_timeout = 200");
    WriteTransaction tx(*this);
    if (RollupGeneration() == generation) {  // else the answer is already out of date
      session << dialect.Sql("DELETE FROM period_answers WHERE generation < ?"), bind(generation),
          now;
      std::string k = key;
      std::int64_t at = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
      Poco::Data::BLOB blob(reinterpret_cast<const unsigned char*>(body.data()), body.size());
      session << dialect.Sql("INSERT INTO period_answers (query, generation, computed_at, body) "
                             "VALUES (?, ?, ?, ?)" +
                             dialect.OnConflictUpdate("query",
                                                      "generation = excluded.generation, "
                                                      "computed_at = excluded.computed_at, "
                                                      "body = excluded.body")),
          use(k), bind(generation), bind(at), use(blob), now;
      std::int64_t kept = 0;
      session << "SELECT COUNT(*) FROM period_answers", into(kept), now;
      if (kept > kMaxAnswers) {
        session << dialect.Sql("DELETE FROM period_answers WHERE computed_at < "
                               "(SELECT computed_at FROM period_answers ORDER BY computed_at DESC "
                               "LIMIT 1 OFFSET ?)"),
            bind(kMaxAnswers - 1), now;
      }
      tx.Commit();
    }
  } catch (const Poco::Exception& e) {
    log.debug("event=answer_not_kept detail=\"" + LogValue(e.displayText()) + "\"");
  }
  if (sqlite) {
    try {
      Exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms));
    } catch (const Poco::Exception&) {
    }
  }
}

Status Store::ReplaceAnalysis(std::int64_t report_row_id, const model::ReportAnalysis& analysis) {
  Impl& i = *impl_;
  return i.RunRetrying("replace_analysis", [&]() -> Status {
    Impl::WriteTransaction tx(i);
    std::string domain, org_name;
    std::int64_t begin_at = 0;
    Poco::Nullable<std::int64_t> duplicate_of;
    Poco::Data::Statement head(i.session);
    // Locked: two re-analyses of one report (reanalyze beside serve's DNS
    // pass) take turns, so that the second reads the first's records and
    // rollups, not what the first replaced.
    head << i.dialect.Sql(
                "SELECT domain, org_name, begin_at, duplicate_of FROM reports WHERE id = ?" +
                i.dialect.lock_rows),
        into(domain), into(org_name), into(begin_at), into(duplicate_of), bind(report_row_id);
    if (head.execute() == 0) return Status::NotFound("no report " + std::to_string(report_row_id));

    Result<std::vector<RecordRowData>> loaded = i.LoadRecordRows(report_row_id);
    if (!loaded.ok()) return std::move(loaded).status();
    std::vector<RecordRowData>& rows = *loaded;
    if (rows.size() != analysis.records.size()) {
      return Status::Internal("the analysis does not match the stored records of report " +
                              std::to_string(report_row_id));
    }
    const bool counted = duplicate_of.isNull();
    const std::int64_t day = model::DayNumber(begin_at);
    if (counted) i.AddToRollups(domain, day, org_name, rows, -1);

    for (std::size_t k = 0; k < rows.size(); ++k) ApplyAnalysis(analysis.records[k], rows[k]);
    i.AssignSignatures(rows);
    // The records are written again whole, as blocks; a report saved before
    // migration 0008 leaves the records table here.
    i.session << i.dialect.Sql("DELETE FROM record_blocks WHERE report_row_id = ?"),
        bind(report_row_id), now;
    i.session << i.dialect.Sql("DELETE FROM records WHERE report_row_id = ?"),
        bind(report_row_id), now;
    if (!rows.empty()) DMARC_RETURN_IF_ERROR(i.InsertRecordBlocks(rows));
    if (counted) i.AddToRollups(domain, day, org_name, rows, +1);
    std::string fingerprint = analysis.fingerprint;
    i.session << i.dialect.Sql("UPDATE reports SET analysis_fingerprint = ? WHERE id = ?"),
        use(fingerprint), bind(report_row_id), now;
    tx.Commit();
    return Status::Ok();
  });
}

Result<std::vector<std::int64_t>> Store::ReportsToAnalyze(const std::string& fingerprint,
                                                         std::int64_t after_id,
                                                         std::uint32_t limit) {
  Impl& i = *impl_;
  return i.Run("reports_to_analyze", [&]() -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> ids;
    std::string fp = fingerprint;
    i.session << i.dialect.Sql(
        "SELECT id FROM reports WHERE id > ? AND "
        "(analysis_fingerprint IS NULL OR analysis_fingerprint <> ?) ORDER BY id LIMIT ?"),
        into(ids), bind(after_id), use(fp), bind(std::int64_t{limit}), now;
    return ids;
  });
}

Result<bool> Store::AnyReportToAnalyze(const std::string& fingerprint) {
  Impl& i = *impl_;
  return i.Run("any_report_to_analyze", [&]() -> Result<bool> {
    // "<>" written as two ranges, so that both databases read the index
    // reports_analysis_fingerprint instead of every row.
    std::vector<std::int64_t> found;
    std::string below = fingerprint, above = fingerprint;
    i.session << i.dialect.Sql(
        "SELECT 1 FROM reports WHERE analysis_fingerprint IS NULL "
        "OR analysis_fingerprint < ? OR analysis_fingerprint > ? LIMIT 1"),
        into(found), use(below), use(above), now;
    return !found.empty();
  });
}

Result<std::vector<std::int64_t>> Store::ReportIds(std::int64_t after_id, std::uint32_t limit) {
  Impl& i = *impl_;
  return i.Run("report_ids", [&]() -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> ids;
    i.session << i.dialect.Sql("SELECT id FROM reports WHERE id > ? ORDER BY id LIMIT ?"),
        into(ids), bind(after_id), bind(std::int64_t{limit}), now;
    return ids;
  });
}

Result<model::ReportAnalysis> Store::GetAnalysis(std::int64_t report_row_id) {
  Impl& i = *impl_;
  return i.Run("get_analysis", [&]() -> Result<model::ReportAnalysis> {
    Poco::Nullable<std::string> fingerprint;
    Poco::Data::Statement head(i.session);
    head << i.dialect.Sql("SELECT analysis_fingerprint FROM reports WHERE id = ?"),
        into(fingerprint), bind(report_row_id);
    if (head.execute() == 0) return Status::NotFound("no report " + std::to_string(report_row_id));
    Result<std::vector<RecordRowData>> rows = i.LoadRecordRows(report_row_id);
    if (!rows.ok()) return std::move(rows).status();
    model::ReportAnalysis out;
    if (!fingerprint.isNull()) out.fingerprint = fingerprint.value();
    for (const RecordRowData& r : *rows) out.records.push_back(AnalysisFromRow(r));
    return out;
  });
}

Result<std::vector<model::PathTotals>> Store::QueryPathTotals(const RollupFilter& filter) {
  Impl& i = *impl_;
  return i.Run("query_path_totals", [&]() -> Result<std::vector<model::PathTotals>> {
    // PathTotals takes no limit: one answer serves every limit asked with.
    RollupFilter unlimited = filter;
    unlimited.limit = 0;
    return i.Answer<std::vector<model::PathTotals>>(
        AnswerKey("path_totals", unlimited), [&] { return i.PathTotals(filter); },
        EncodePathTotals, DecodePathTotals);
  });
}

std::vector<model::PathTotals> Store::Impl::PathTotals(const RollupFilter& filter) {
  Impl& i = *this;
  const FilterSql where(filter, false);
  std::vector<std::string> keys, kinds, names, providers;
  std::vector<std::int64_t> reporters, first, last;
  CountColumns counts;
  Poco::Data::Statement st(i.session);
  st << i.dialect.Sql("SELECT path_key, MIN(path_kind), MIN(path_name), MIN(provider), " +
                      CountsSelect(i.dialect) +
                      ", COUNT(DISTINCT reporter), MIN(day), MAX(day) FROM rollup_daily" +
                      where.Where() + " GROUP BY path_key ORDER BY path_key"),
      into(keys), into(kinds), into(names), into(providers);
  counts.Into(st);
  st.addExtract(into(reporters));
  st.addExtract(into(first));
  st.addExtract(into(last));
  where.Bind(st);
  st.execute();

  std::vector<std::string> source_keys;
  std::vector<std::int64_t> source_counts;
  Poco::Data::Statement src(i.session);
  src << i.dialect.Sql("SELECT path_key, COUNT(DISTINCT source_ip) FROM rollup_sources" +
                       where.Where() + " GROUP BY path_key"),
      into(source_keys), into(source_counts);
  where.Bind(src);
  src.execute();
  std::map<std::string, std::int64_t> sources;
  for (std::size_t k = 0; k < source_keys.size(); ++k) sources[source_keys[k]] = source_counts[k];

  std::vector<model::PathTotals> out;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    model::PathTotals t;
    t.path = {keys[k], model::PathKindFromString(kinds[k]), names[k], providers[k]};
    t.counts = counts.Row(k);
    t.reporters = Unsigned(reporters[k]);
    t.sources = Unsigned(sources[keys[k]]);
    t.first_day = first[k];
    t.last_day = last[k];
    if (t.counts.rows == 0) continue;
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<model::DailyCounts>> Store::QueryDaily(const RollupFilter& filter,
                                                         bool by_path) {
  Impl& i = *impl_;
  return i.Run("query_daily", [&]() -> Result<std::vector<model::DailyCounts>> {
    const FilterSql where(filter, true);
    std::vector<std::int64_t> days;
    std::vector<std::string> keys;
    CountColumns counts;
    Poco::Data::Statement st(i.session);
    const std::string key = by_path ? "path_key" : "''";
    st << i.dialect.Sql("SELECT day, " + key + ", " + CountsSelect(i.dialect) +
                        " FROM rollup_daily" + where.Where() + " GROUP BY day" +
                        (by_path ? ", path_key" : "") + " ORDER BY day" +
                        (by_path ? ", path_key" : "")),
        into(days), into(keys);
    counts.Into(st);
    where.Bind(st);
    st.execute();
    std::vector<model::DailyCounts> out;
    for (std::size_t k = 0; k < days.size(); ++k) {
      out.push_back({days[k], keys[k], counts.Row(k)});
    }
    return out;
  });
}

Result<std::vector<model::ReporterCounts>> Store::QueryReporters(const RollupFilter& filter) {
  Impl& i = *impl_;
  return i.Run("query_reporters", [&]() -> Result<std::vector<model::ReporterCounts>> {
    const FilterSql where(filter, true);
    std::vector<std::string> keys, reporters;
    CountColumns counts;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql("SELECT path_key, reporter, " + CountsSelect(i.dialect) +
                        " FROM rollup_daily" + where.Where() +
                        " GROUP BY path_key, reporter ORDER BY path_key, reporter"),
        into(keys), into(reporters);
    counts.Into(st);
    where.Bind(st);
    st.execute();
    std::vector<model::ReporterCounts> out;
    for (std::size_t k = 0; k < keys.size(); ++k) {
      out.push_back({keys[k], reporters[k], counts.Row(k)});
    }
    return out;
  });
}

Result<std::vector<model::SourceCounts>> Store::QuerySources(const RollupFilter& filter) {
  Impl& i = *impl_;
  return i.Run("query_sources", [&]() -> Result<std::vector<model::SourceCounts>> {
    std::vector<model::SourceCounts> groups;
    if (i.options.keep_answers && filter.limit <= kKeptSources) {
      // One kept answer serves every smaller limit: the order is total, so
      // the first n of the longest list are the answer for n.
      RollupFilter longest = filter;
      longest.limit = kKeptSources;
      groups = i.Answer<std::vector<model::SourceCounts>>(
          AnswerKey("sources", longest), [&] { return i.Sources(longest); }, EncodeSources,
          [&](std::string_view body) { return DecodeSources(body, filter.limit); });
      if (groups.size() > filter.limit) groups.resize(filter.limit);
    } else {
      groups = i.Sources(filter);
    }
    std::erase_if(groups, [](const model::SourceCounts& g) { return g.counts.rows == 0; });
    return groups;
  });
}

std::vector<model::SourceCounts> Store::Impl::Sources(const RollupFilter& filter) {
  Impl& i = *this;
  const FilterSql where(filter, true);
  // Read 4,096 groups at a time: the columns of 50,000 at once were as
  // large as the groups themselves (7 MB), at the end of an import that
  // computes the views within its memory target.
  constexpr std::size_t kChunk = 4096;
  std::vector<std::string> keys, ips;
  std::vector<std::int64_t> sig_ids, first, last;
  CountColumns counts;
  Poco::Data::Statement st(i.session);
  st << i.dialect.Sql("SELECT path_key, source_ip, signature_id, " + CountsSelect(i.dialect) +
                      ", MIN(day), MAX(day) FROM rollup_sources" + where.Where() +
                      " GROUP BY path_key, source_ip, signature_id ORDER BY " +
                      i.dialect.SumBigint("messages") +
                      " DESC, path_key, source_ip, signature_id LIMIT ?"),
      into(keys), into(ips), into(sig_ids),
      Poco::Data::Keywords::limit(static_cast<Poco::UInt32>(kChunk));
  counts.Into(st);
  st.addExtract(into(first));
  st.addExtract(into(last));
  where.Bind(st);
  st.addBind(bind(std::int64_t{filter.limit}));

  std::vector<model::SourceCounts> out;
  std::vector<std::int64_t> group_signature;  // signature id of each group of `out`
  out.reserve(std::min<std::size_t>(filter.limit, 1 << 16));
  while (!st.done()) {
    st.execute();  // appends the next chunk to the vectors, emptied below
    for (std::size_t k = 0; k < keys.size(); ++k) {
      model::SourceCounts s;
      s.path_key = keys[k];
      if (auto ip = model::IpAddress::Parse(ips[k])) s.ip = *ip;
      s.counts = counts.Row(k);
      s.first_day = first[k];
      s.last_day = last[k];
      out.push_back(std::move(s));  // QuerySources drops groups of no rows
      group_signature.push_back(sig_ids[k]);
    }
    for (auto* column : {&keys, &ips}) column->clear();
    for (auto* column : {&sig_ids, &first, &last}) column->clear();
    counts.Clear();
  }

  // The signatures of these groups, each read once.
  std::map<std::int64_t, std::shared_ptr<const model::AuthSignature>> signatures;
  for (std::int64_t id : std::set<std::int64_t>(group_signature.begin(), group_signature.end())) {
    SignatureRowData row;
    Poco::Data::Statement sig(i.session);
    sig << i.dialect.Sql("SELECT " + ColumnList<SignatureRowData>() +
                         " FROM signatures WHERE id = ?"),
        into(row), bind(id);
    signatures[id] = sig.execute() > 0
                         ? std::make_shared<const model::AuthSignature>(FromSignatureRow(row))
                         : model::EmptySignature();
  }
  for (std::size_t k = 0; k < out.size(); ++k) out[k].signature = signatures[group_signature[k]];
  return out;
}

Result<std::vector<model::PublishedPolicy>> Store::LatestPolicies() {
  Impl& i = *impl_;
  return i.Run("latest_policies", [&]() -> Result<std::vector<model::PublishedPolicy>> {
    // One indexed lookup per domain (reports_domain_end). A correlated
    // subquery per report made this quadratic: 100 s at 7,300 reports.
    std::vector<std::string> domains;
    i.session << "SELECT DISTINCT domain FROM reports ORDER BY domain", into(domains), now;
    std::vector<std::int64_t> ids;
    for (const std::string& domain : domains) {
      std::int64_t id = 0;
      Poco::Data::Statement latest(i.session);
      latest << i.dialect.Sql("SELECT id FROM reports WHERE domain = ? AND duplicate_of IS NULL "
                              "ORDER BY end_at DESC, id DESC LIMIT 1"),
          into(id), bind(domain);
      if (latest.execute() > 0) ids.push_back(id);
    }
    std::vector<model::PublishedPolicy> out;
    for (std::int64_t id : ids) {
      ReportRowData row;
      Poco::Data::Statement st(i.session);
      st << i.dialect.Sql("SELECT " + ColumnList<ReportRowData>() + " FROM reports WHERE id = ?"),
          into(row), bind(id);
      if (st.execute() == 0) continue;
      model::Report r = FromRows(row, {});
      model::PublishedPolicy p;
      p.domain = row.domain;
      p.policy = r.policy_published;
      p.as_of = row.end_at;
      out.push_back(std::move(p));
    }
    return out;
  });
}

Result<std::vector<std::string>> Store::Domains() {
  Impl& i = *impl_;
  return i.Run("domains", [&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> domains;
    i.session << "SELECT DISTINCT domain FROM rollup_daily ORDER BY domain", into(domains), now;
    return domains;
  });
}

Result<std::pair<std::int64_t, std::int64_t>> Store::DataDays(
    const std::optional<std::string>& domain) {
  Impl& i = *impl_;
  return i.Run("data_days", [&]() -> Result<std::pair<std::int64_t, std::int64_t>> {
    Poco::Nullable<std::int64_t> first, last;
    Poco::Data::Statement st(i.session);
    if (domain) {
      st << i.dialect.Sql("SELECT MIN(day), MAX(day) FROM rollup_daily WHERE domain = ?"),
          into(first), into(last), bind(model::AsciiLower(*domain));
    } else {
      st << "SELECT MIN(day), MAX(day) FROM rollup_daily", into(first), into(last);
    }
    st.execute();
    if (first.isNull() || last.isNull()) return std::pair<std::int64_t, std::int64_t>{1, 0};
    return std::pair<std::int64_t, std::int64_t>{first.value(), last.value()};
  });
}

Result<std::optional<DnsCacheEntry>> Store::GetDnsAnswer(const std::string& qtype,
                                                         const std::string& name) {
  Impl& i = *impl_;
  return i.Run("get_dns_answer", [&]() -> Result<std::optional<DnsCacheEntry>> {
    std::string rcode, answer;
    std::int64_t ttl = 0, expires_at = 0;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(
        "SELECT rcode, answer, ttl, expires_at FROM dns_cache WHERE qtype = ? AND name = ?"),
        into(rcode), into(answer), into(ttl), into(expires_at), bind(qtype), bind(name);
    if (st.execute() == 0) return std::optional<DnsCacheEntry>();
    DnsCacheEntry e;
    e.rcode = rcode;
    e.values = DecodeStringArray(answer);
    e.ttl = ttl;
    e.expires_at = expires_at;
    return std::optional<DnsCacheEntry>(std::move(e));
  });
}

Result<std::map<std::string, DnsCacheEntry>> Store::GetDnsAnswers(
    const std::string& qtype, const std::vector<std::string>& names) {
  constexpr std::size_t kNamesPerQuery = 500;
  Impl& i = *impl_;
  return i.Run("get_dns_answers", [&]() -> Result<std::map<std::string, DnsCacheEntry>> {
    std::map<std::string, DnsCacheEntry> out;
    for (std::size_t at = 0; at < names.size(); at += kNamesPerQuery) {
      const std::size_t n = std::min(kNamesPerQuery, names.size() - at);
      std::string marks;
      for (std::size_t k = 0; k < n; ++k) marks += k == 0 ? "?" : ", ?";
      std::vector<std::string> found, rcodes, answers;
      std::vector<std::int64_t> ttls, expiries;
      Poco::Data::Statement st(i.session);
      st << i.dialect.Sql("SELECT name, rcode, answer, ttl, expires_at FROM dns_cache "
                          "WHERE qtype = ? AND name IN (" + marks + ")"),
          into(found), into(rcodes), into(answers), into(ttls), into(expiries), bind(qtype);
      for (std::size_t k = 0; k < n; ++k) st.addBind(bind(names[at + k]));
      st.execute();
      for (std::size_t k = 0; k < found.size(); ++k) {
        out[found[k]] = {rcodes[k], DecodeStringArray(answers[k]), ttls[k], expiries[k]};
      }
    }
    return out;
  });
}

Status Store::PutDnsAnswer(const std::string& qtype, const std::string& name,
                           const DnsCacheEntry& entry) {
  Impl& i = *impl_;
  return i.Run("put_dns_answer", [&]() -> Status {
    std::string type = qtype, n = name, rcode = entry.rcode;
    std::string answer = EncodeStringArray(entry.values);
    std::int64_t ttl = entry.ttl, expires_at = entry.expires_at;
    i.session << i.dialect.Sql(
        "INSERT INTO dns_cache (qtype, name, rcode, answer, ttl, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)" +
        i.dialect.OnConflictUpdate("qtype, name",
                                   "rcode = excluded.rcode, answer = excluded.answer, "
                                   "ttl = excluded.ttl, expires_at = excluded.expires_at")),
        use(type), use(n), use(rcode), use(answer), use(ttl), use(expires_at), now;
    return Status::Ok();
  });
}

}  // namespace dmarcwatch::store

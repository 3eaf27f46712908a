#include "ledger/ledger.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace hearth::ledger {
namespace {

using nlohmann::json;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  tier TEXT NOT NULL,
  backend TEXT NOT NULL,
  model TEXT NOT NULL,
  rule TEXT NOT NULL,
  redactions TEXT NOT NULL,          -- JSON object: entity type -> count (never values)
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  cost_avoided_usd REAL NOT NULL,
  latency_ms REAL NOT NULL,
  status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_time ON requests(time_ms);
CREATE TABLE IF NOT EXISTS prices (
  model TEXT PRIMARY KEY,
  input_per_mtok REAL NOT NULL,
  output_per_mtok REAL NOT NULL,
  updated_ms INTEGER NOT NULL
);
)sql";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  std::string m = "ledger: " + what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return UnavailableError(m);
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return DataLossError(m);
  return InternalError(m);
}

// RAII for a prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

std::string PeriodKey(Period period, int64_t time_ms) {
  if (period == Period::kAll) return "all";
  time_t secs = static_cast<time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  if (period == Period::kWeek) {
    int since_monday = (tm.tm_wday + 6) % 7;
    secs -= static_cast<time_t>(since_monday) * 86400;
    gmtime_r(&secs, &tm);
  }
  char buf[64];
  if (period == Period::kMonth) {
    std::snprintf(buf, sizeof buf, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  }
  return buf;
}

void Accumulate(SummaryRow& row, const Entry& e) {
  ++row.requests;
  if (e.status != "ok") ++row.errors;
  row.prompt_tokens += e.prompt_tokens;
  row.completion_tokens += e.completion_tokens;
  row.cost_usd += e.cost_usd;
  row.cost_avoided_usd += e.cost_avoided_usd;
  row.mean_latency_ms += e.latency_ms;  // a sum until Finish
  for (const auto& [type, n] : e.redactions) row.redactions[type] += n;
}

void Finish(SummaryRow& row) {
  if (row.requests > 0) row.mean_latency_ms /= static_cast<double>(row.requests);
}

json RowJson(const SummaryRow& r) {
  return {{"period", r.period}, {"tier", r.tier}, {"requests", r.requests}, {"errors", r.errors},
          {"prompt_tokens", r.prompt_tokens}, {"completion_tokens", r.completion_tokens},
          {"cost_usd", r.cost_usd}, {"cost_avoided_usd", r.cost_avoided_usd},
          {"mean_latency_ms", r.mean_latency_ms}, {"redactions", r.redactions}};
}

}  // namespace

Result<Period> ParsePeriod(std::string_view name) {
  if (name == "day") return Period::kDay;
  if (name == "week") return Period::kWeek;
  if (name == "month") return Period::kMonth;
  if (name == "all") return Period::kAll;
  return InvalidArgumentError("unknown period \"" + std::string(name) + "\" (day, week, month, all)");
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path, LedgerOptions options) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return NotFoundError("ledger: opening " + path + ": " + m);
  }
  std::unique_ptr<Ledger> ledger(new Ledger(db, std::move(options)));
  sqlite3_busy_timeout(db, ledger->options_.busy_timeout_ms);
  TRY(ledger->Exec("PRAGMA journal_mode=WAL;").WithContext(path));
  TRY(ledger->Exec("PRAGMA synchronous=NORMAL;").WithContext(path));
  TRY(ledger->Exec(kSchema).WithContext(path));
  TRY(ledger->StorePrices().WithContext(path));
  return ledger;
}

Ledger::~Ledger() { sqlite3_close_v2(db_); }

Status Ledger::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return SqlError(db_, m);
  }
  return Status::Ok();
}

Status Ledger::StorePrices() {
  if (options_.prices.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_, "INSERT OR REPLACE INTO prices(model, input_per_mtok, output_per_mtok, updated_ms) "
               "VALUES (?, ?, ?, ?)");
  if (!st.ok()) return SqlError(db_, "preparing price insert");
  int64_t now = NowMs();
  for (const auto& [model, price] : options_.prices) {
    sqlite3_reset(st.get());
    sqlite3_bind_text(st.get(), 1, model.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st.get(), 2, price.input_per_mtok);
    sqlite3_bind_double(st.get(), 3, price.output_per_mtok);
    sqlite3_bind_int64(st.get(), 4, now);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqlError(db_, "storing price of " + model);
  }
  return Status::Ok();
}

Result<PriceTable> Ledger::StoredPrices() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_, "SELECT model, input_per_mtok, output_per_mtok FROM prices ORDER BY model");
  if (!st.ok()) return SqlError(db_, "reading prices");
  PriceTable out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out[reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0))] =
        Price{sqlite3_column_double(st.get(), 1), sqlite3_column_double(st.get(), 2)};
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "reading prices");
  return out;
}

Status Ledger::Record(const Entry& entry) {
  Entry e = entry;
  if (e.time_ms == 0) e.time_ms = NowMs();
  if (e.cost_usd < 0) {
    e.cost_usd = CostUsd(options_.prices, e.model, e.prompt_tokens, e.completion_tokens).value_or(0);
  }
  if (e.cost_avoided_usd < 0) {
    e.cost_avoided_usd = 0;
    bool local = e.tier == "device" || e.tier == "private";
    if (local && e.status == "ok" && !options_.reference_cloud_model.empty()) {
      e.cost_avoided_usd = CostUsd(options_.prices, options_.reference_cloud_model,
                                   e.prompt_tokens, e.completion_tokens).value_or(0);
    }
  }
  std::string redactions;
  try {  // dump() throws on invalid UTF-8 in an entity type name
    redactions = json(e.redactions).dump();
  } catch (const nlohmann::json::exception& ex) {
    return InvalidArgumentError(std::string("ledger entry redaction types: ") + ex.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_,
          "INSERT INTO requests(time_ms, request_id, tier, backend, model, rule, redactions, "
          "prompt_tokens, completion_tokens, cost_usd, cost_avoided_usd, latency_ms, status) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return SqlError(db_, "preparing insert");
  sqlite3_stmt* s = st.get();
  sqlite3_bind_int64(s, 1, e.time_ms);
  const std::string* texts[] = {&e.request_id, &e.tier, &e.backend, &e.model, &e.rule, &redactions};
  for (int i = 0; i < 6; ++i) sqlite3_bind_text(s, 2 + i, texts[i]->c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 8, e.prompt_tokens);
  sqlite3_bind_int64(s, 9, e.completion_tokens);
  sqlite3_bind_double(s, 10, e.cost_usd);
  sqlite3_bind_double(s, 11, e.cost_avoided_usd);
  sqlite3_bind_double(s, 12, e.latency_ms);
  sqlite3_bind_text(s, 13, e.status.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s) != SQLITE_DONE) return SqlError(db_, "inserting request " + e.request_id);
  return Status::Ok();
}

Result<std::vector<Entry>> Ledger::Entries(int64_t since_ms, int64_t until_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_,
          "SELECT time_ms, request_id, tier, backend, model, rule, redactions, prompt_tokens, "
          "completion_tokens, cost_usd, cost_avoided_usd, latency_ms, status FROM requests "
          "WHERE time_ms >= ? AND time_ms < ? ORDER BY time_ms, id");
  if (!st.ok()) return SqlError(db_, "preparing select");
  sqlite3_stmt* s = st.get();
  sqlite3_bind_int64(s, 1, since_ms);
  sqlite3_bind_int64(s, 2, until_ms);
  std::vector<Entry> out;
  auto text = [s](int col) {
    const unsigned char* t = sqlite3_column_text(s, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Entry e;
    e.time_ms = sqlite3_column_int64(s, 0);
    e.request_id = text(1);
    e.tier = text(2);
    e.backend = text(3);
    e.model = text(4);
    e.rule = text(5);
    json red = json::parse(text(6), nullptr, false);
    if (red.is_object()) {
      for (const auto& [k, v] : red.items()) {
        if (v.is_number_integer()) e.redactions[k] = v.get<int64_t>();
      }
    }
    e.prompt_tokens = sqlite3_column_int64(s, 7);
    e.completion_tokens = sqlite3_column_int64(s, 8);
    e.cost_usd = sqlite3_column_double(s, 9);
    e.cost_avoided_usd = sqlite3_column_double(s, 10);
    e.latency_ms = sqlite3_column_double(s, 11);
    e.status = text(12);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "reading requests");
  return out;
}

Result<int64_t> Ledger::Count() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_, "SELECT COUNT(*) FROM requests");
  if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) return SqlError(db_, "counting requests");
  return sqlite3_column_int64(st.get(), 0);
}

Result<Summary> Ledger::Summarize(Period period, int64_t since_ms, int64_t until_ms) {
  ASSIGN_OR_RETURN(std::vector<Entry> entries, Entries(since_ms, until_ms));
  Summary summary;
  summary.period = period;
  summary.reference_model = options_.reference_cloud_model;
  std::map<std::pair<std::string, std::string>, SummaryRow> rows;
  summary.total.period = "total";
  summary.total.tier = "all";
  for (const Entry& e : entries) {
    std::string key = PeriodKey(period, e.time_ms);
    SummaryRow& row = rows[{key, e.tier}];
    row.period = key;
    row.tier = e.tier.empty() ? "none" : e.tier;
    Accumulate(row, e);
    Accumulate(summary.total, e);
  }
  for (auto& [key, row] : rows) {
    Finish(row);
    summary.rows.push_back(std::move(row));
  }
  Finish(summary.total);
  return summary;
}

std::string SummaryText(const Summary& summary) {
  std::ostringstream os;
  os << std::left << std::setw(12) << "period" << std::setw(9) << "tier" << std::right
     << std::setw(9) << "requests" << std::setw(8) << "errors" << std::setw(12) << "prompt_tok"
     << std::setw(12) << "compl_tok" << std::setw(12) << "cost_usd" << std::setw(13) << "avoided_usd"
     << std::setw(12) << "latency_ms" << "\n";
  auto line = [&](const SummaryRow& r) {
    os << std::left << std::setw(12) << r.period << std::setw(9) << r.tier << std::right
       << std::setw(9) << r.requests << std::setw(8) << r.errors << std::setw(12) << r.prompt_tokens
       << std::setw(12) << r.completion_tokens << std::fixed << std::setprecision(4)
       << std::setw(12) << r.cost_usd << std::setw(13) << r.cost_avoided_usd
       << std::setprecision(1) << std::setw(12) << r.mean_latency_ms << "\n";
  };
  for (const SummaryRow& r : summary.rows) line(r);
  line(summary.total);
  if (!summary.reference_model.empty()) {
    os << "cloud cost avoided is priced at " << summary.reference_model << "\n";
  }
  return os.str();
}

json SummaryJson(const Summary& summary) {
  static const char* kNames[] = {"day", "week", "month", "all"};
  json rows = json::array();
  for (const SummaryRow& r : summary.rows) rows.push_back(RowJson(r));
  return {{"period", kNames[static_cast<int>(summary.period)]},
          {"reference_model", summary.reference_model},
          {"rows", rows},
          {"total", RowJson(summary.total)}};
}

}  // namespace hearth::ledger

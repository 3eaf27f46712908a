// Ledger: one SQLite row per request, never its content: when, which tier/backend/model, the rule
// that decided, redaction counts by entity type, tokens, cost, latency and outcome. Summaries by
// tier and period include the cloud cost avoided by requests kept local (their tokens priced at a
// reference cloud model).
//
// The database runs in WAL mode with a busy timeout, so several threads (one connection guarded by
// a mutex) and several processes (each with its own Ledger) can record at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "ledger/prices.h"

struct sqlite3;

namespace hearth::ledger {

struct Entry {
  int64_t time_ms = 0;             // unix time in milliseconds; 0 = now
  std::string request_id;
  std::string tier;                // "device", "private", "cloud", or "" when blocked before routing
  std::string backend;
  std::string model;
  std::string rule;                // the policy rule that decided
  std::map<std::string, int64_t> redactions;  // entity type -> count
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double cost_usd = -1;            // < 0: computed from the price table (0 when unpriced)
  double cost_avoided_usd = -1;    // < 0: computed (local tiers, reference model price), else 0
  double latency_ms = 0;
  std::string status = "ok";       // "ok" or a StatusCodeName ("UNAVAILABLE", ...)
};

enum class Period { kDay, kWeek, kMonth, kAll };
Result<Period> ParsePeriod(std::string_view name);  // "day", "week", "month", "all"

struct SummaryRow {
  std::string period;   // "2026-11-25" (day), "2026-11-23" (week: its Monday), "2026-11", "all"
  std::string tier;
  int64_t requests = 0;
  int64_t errors = 0;   // status != "ok"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double cost_usd = 0;
  double cost_avoided_usd = 0;
  double mean_latency_ms = 0;
  std::map<std::string, int64_t> redactions;
};

struct Summary {
  Period period = Period::kDay;
  std::string reference_model;
  std::vector<SummaryRow> rows;  // ordered by period, then tier
  SummaryRow total;              // period "total", tier "all"
};

struct LedgerOptions {
  PriceTable prices;                   // stored in the database's price table on Open
  std::string reference_cloud_model;   // "" = cost avoided is 0
  int busy_timeout_ms = 5000;
};

class Ledger {
 public:
  // Creates the file and schema when missing.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path, LedgerOptions options = {});
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Fills computed costs (see Entry) and inserts one row.
  Status Record(const Entry& entry);
  // Rows with since_ms <= time_ms < until_ms, grouped by period and tier.
  Result<Summary> Summarize(Period period, int64_t since_ms = 0, int64_t until_ms = INT64_MAX);
  // All rows in time order (tests, export).
  Result<std::vector<Entry>> Entries(int64_t since_ms = 0, int64_t until_ms = INT64_MAX);
  Result<int64_t> Count();

  const PriceTable& prices() const { return options_.prices; }
  // The price table as stored in the database (what earlier runs configured, merged).
  Result<PriceTable> StoredPrices();

 private:
  Ledger(sqlite3* db, LedgerOptions options) : db_(db), options_(std::move(options)) {}
  Status Exec(const char* sql);
  Status StorePrices();

  sqlite3* db_;
  LedgerOptions options_;
  std::mutex mu_;
};

// `hearth ledger` output.
std::string SummaryText(const Summary& summary);
nlohmann::json SummaryJson(const Summary& summary);

}  // namespace hearth::ledger

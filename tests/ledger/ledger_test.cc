#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace hearth::ledger {
namespace {

// 2026-11-25 (a Wednesday) 12:00:00 UTC, in milliseconds.
constexpr int64_t kWed = 1795608000000;
constexpr int64_t kDayMs = 86400000;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("hearth_ledger_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Cleanup();
  }
  void TearDown() override { Cleanup(); }
  void Cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  LedgerOptions Options() {
    LedgerOptions o;
    o.prices["gpt-ref"] = {2.0, 8.0};
    o.prices["claude-x"] = {3.0, 15.0};
    o.reference_cloud_model = "gpt-ref";
    return o;
  }
  static Entry Make(int64_t time_ms, std::string tier, std::string model, int64_t p, int64_t c) {
    Entry e;
    e.time_ms = time_ms;
    e.request_id = "r" + std::to_string(time_ms);
    e.tier = std::move(tier);
    e.backend = e.tier + "-backend";
    e.model = std::move(model);
    e.rule = "default";
    e.prompt_tokens = p;
    e.completion_tokens = c;
    e.latency_ms = 100;
    return e;
  }
  std::filesystem::path path_;
};

TEST_F(LedgerTest, RecordsRowsWithComputedCostsAndNoContent) {
  auto ledger = std::move(Ledger::Open(path_.string(), Options())).value();
  Entry cloud = Make(kWed, "cloud", "claude-x", 1000, 500);
  cloud.redactions = {{"EMAIL", 2}, {"IBAN", 1}};
  ASSERT_TRUE(ledger->Record(cloud).ok());
  ASSERT_TRUE(ledger->Record(Make(kWed + 1, "device", "gemma-3-4b", 2000, 1000)).ok());
  Entry failed = Make(kWed + 2, "device", "gemma-3-4b", 10, 0);
  failed.status = "UNAVAILABLE";
  ASSERT_TRUE(ledger->Record(failed).ok());
  auto entries = std::move(ledger->Entries()).value();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_DOUBLE_EQ(entries[0].cost_usd, (1000 * 3.0 + 500 * 15.0) / 1e6);
  EXPECT_DOUBLE_EQ(entries[0].cost_avoided_usd, 0) << "cloud requests avoid nothing";
  EXPECT_EQ(entries[0].redactions, (std::map<std::string, int64_t>{{"EMAIL", 2}, {"IBAN", 1}}));
  EXPECT_DOUBLE_EQ(entries[1].cost_usd, 0) << "unpriced local model";
  EXPECT_DOUBLE_EQ(entries[1].cost_avoided_usd, (2000 * 2.0 + 1000 * 8.0) / 1e6);
  EXPECT_DOUBLE_EQ(entries[2].cost_avoided_usd, 0) << "a failed request avoided nothing";
  EXPECT_EQ(entries[2].status, "UNAVAILABLE");
  EXPECT_EQ(*ledger->Count(), 3);
  auto stored = std::move(ledger->StoredPrices()).value();
  EXPECT_EQ(stored.size(), 2u);
  EXPECT_DOUBLE_EQ(stored["claude-x"].output_per_mtok, 15.0);
}

TEST_F(LedgerTest, SummariesByTierAndPeriod) {
  auto ledger = std::move(Ledger::Open(path_.string(), Options())).value();
  // Wednesday: one cloud, two device. Next Monday (a new week): one private. Next month: one cloud.
  ASSERT_TRUE(ledger->Record(Make(kWed, "cloud", "claude-x", 1000, 1000)).ok());
  ASSERT_TRUE(ledger->Record(Make(kWed + 1000, "device", "gemma", 500, 500)).ok());
  ASSERT_TRUE(ledger->Record(Make(kWed + 2000, "device", "gemma", 1500, 500)).ok());
  ASSERT_TRUE(ledger->Record(Make(kWed + 5 * kDayMs, "private", "vllm-model", 1000, 0)).ok());
  ASSERT_TRUE(ledger->Record(Make(kWed + 7 * kDayMs, "cloud", "claude-x", 0, 1000)).ok());

  Summary day = std::move(ledger->Summarize(Period::kDay)).value();
  ASSERT_EQ(day.rows.size(), 4u);
  EXPECT_EQ(day.rows[0].period, "2026-11-25");
  EXPECT_EQ(day.rows[0].tier, "cloud");
  EXPECT_EQ(day.rows[1].period, "2026-11-25");
  EXPECT_EQ(day.rows[1].tier, "device");
  EXPECT_EQ(day.rows[1].requests, 2);
  EXPECT_EQ(day.rows[1].prompt_tokens, 2000);
  EXPECT_DOUBLE_EQ(day.rows[1].cost_avoided_usd, (2000 * 2.0 + 1000 * 8.0) / 1e6);
  EXPECT_EQ(day.rows[2].period, "2026-11-30");
  EXPECT_EQ(day.rows[3].period, "2026-12-02");

  Summary week = std::move(ledger->Summarize(Period::kWeek)).value();
  ASSERT_EQ(week.rows.size(), 4u);
  EXPECT_EQ(week.rows[0].period, "2026-11-23") << "weeks start on Monday";
  EXPECT_EQ(week.rows[2].period, "2026-11-30");
  EXPECT_EQ(week.rows[2].tier, "cloud") << "within a period, tiers sort by name";
  EXPECT_EQ(week.rows[3].period, "2026-11-30");
  EXPECT_EQ(week.rows[3].tier, "private");

  Summary month = std::move(ledger->Summarize(Period::kMonth)).value();
  ASSERT_EQ(month.rows.size(), 4u);
  EXPECT_EQ(month.rows[0].period, "2026-11");
  EXPECT_EQ(month.rows[3].period, "2026-12");

  const SummaryRow& t = month.total;
  EXPECT_EQ(t.requests, 5);
  EXPECT_EQ(t.prompt_tokens, 4000);
  EXPECT_EQ(t.completion_tokens, 3000);
  EXPECT_DOUBLE_EQ(t.cost_usd, (1000 * 3.0 + 1000 * 15.0 + 1000 * 15.0) / 1e6);
  EXPECT_DOUBLE_EQ(t.cost_avoided_usd, (3000 * 2.0 + 1000 * 8.0) / 1e6);
  EXPECT_DOUBLE_EQ(t.mean_latency_ms, 100);

  Summary window = std::move(ledger->Summarize(Period::kAll, kWed + 1, kWed + 6 * kDayMs)).value();
  ASSERT_EQ(window.rows.size(), 2u);
  EXPECT_EQ(window.total.requests, 3);
}

TEST_F(LedgerTest, TextAndJsonOutput) {
  auto ledger = std::move(Ledger::Open(path_.string(), Options())).value();
  ASSERT_TRUE(ledger->Record(Make(kWed, "device", "gemma", 1000000, 0)).ok());
  Summary s = std::move(ledger->Summarize(Period::kDay)).value();
  std::string text = SummaryText(s);
  EXPECT_NE(text.find("2026-11-25"), std::string::npos) << text;
  EXPECT_NE(text.find("device"), std::string::npos);
  EXPECT_NE(text.find("2.0000"), std::string::npos) << "1M prompt tokens at $2/Mtok avoided";
  EXPECT_NE(text.find("priced at gpt-ref"), std::string::npos);
  nlohmann::json j = SummaryJson(s);
  EXPECT_EQ(j["period"], "day");
  EXPECT_EQ(j["reference_model"], "gpt-ref");
  EXPECT_EQ(j["rows"][0]["tier"], "device");
  EXPECT_DOUBLE_EQ(j["total"]["cost_avoided_usd"].get<double>(), 2.0);
}

TEST_F(LedgerTest, ConcurrentWritersThreadsAndConnections) {
  constexpr int kThreads = 4, kPerThread = 50;
  auto shared = std::move(Ledger::Open(path_.string(), Options())).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share one Ledger, half open their own connection (as other processes).
      std::unique_ptr<Ledger> own;
      Ledger* ledger = shared.get();
      if (t % 2 == 1) {
        own = std::move(Ledger::Open(path_.string(), Options())).value();
        ledger = own.get();
      }
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(ledger->Record(Make(kWed + t * 1000 + i, "device", "gemma", 1, 1)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*shared->Count(), kThreads * kPerThread);
}

TEST_F(LedgerTest, BadPathAndPeriodNames) {
  EXPECT_FALSE(Ledger::Open("/nonexistent-dir/x.db").ok());
  EXPECT_EQ(*ParsePeriod("week"), Period::kWeek);
  EXPECT_EQ(ParsePeriod("fortnight").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CostUsd({}, "unknown", 1, 1), std::nullopt);
}

}  // namespace
}  // namespace hearth::ledger

// The audit chain: append, verify, then every kind of tampering is found at the right line.
#include "ledger/audit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace hearth::ledger {
namespace {

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("hearth_audit_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".jsonl"))
                .string();
    Cleanup();
  }
  void TearDown() override { Cleanup(); }
  void Cleanup() {
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + ".head");
  }
  // Writes n records and returns the lines.
  std::vector<std::string> WriteRecords(int n, AuditOptions options = {}) {
    auto log = std::move(AuditLog::Open(path_, options)).value();
    for (int i = 0; i < n; ++i) {
      AuditRecord r;
      r.time_ms = 1795608000000 + i;
      r.backend = i % 2 ? "anthropic" : "openai";
      r.host = i % 2 ? "api.anthropic.com" : "api.openai.com";
      r.sha256_hex = Sha256Hex("body " + std::to_string(i));
      r.entity_types = i % 3 == 0 ? std::vector<std::string>{"EMAIL", "PHONE"} : std::vector<std::string>{};
      r.bytes = 100 + i;
      r.request_id = "req-" + std::to_string(i);
      EXPECT_TRUE(log->Append(r).ok());
    }
    return ReadLines(path_);
  }
  void ExpectBad(int64_t line, const std::string& problem) {
    Result<VerifyReport> r = Verify(path_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->first_bad_line, line) << r->detail;
    EXPECT_EQ(r->problem, problem) << r->detail;
  }
  std::string path_;
};

TEST_F(AuditTest, Sha256KnownAnswers) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(AuditTest, AppendThenVerifyOkAndRecordShape) {
  auto lines = WriteRecords(5);
  ASSERT_EQ(lines.size(), 5u);
  Result<VerifyReport> r = Verify(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->detail;
  EXPECT_EQ(r->records, 5);
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["prev"], std::string(64, '0'));
  EXPECT_EQ(first["time"], "2026-11-25T12:00:00.000Z");
  EXPECT_EQ(first["host"], "api.openai.com");
  EXPECT_EQ(first["entities"], nlohmann::json::array({"EMAIL", "PHONE"}));
  EXPECT_EQ(first["sha256"], Sha256Hex("body 0"));
  // The chain: hash = SHA-256(prev || record-without-hash), recomputed independently here.
  auto body = first;
  body.erase("hash");
  EXPECT_EQ(first["hash"], Sha256Hex(first["prev"].get<std::string>() + body.dump()));
  EXPECT_EQ(nlohmann::json::parse(lines[1])["prev"], first["hash"]);
  EXPECT_NE(VerifyText(path_, *r).find("OK, 5 records"), std::string::npos);
  EXPECT_EQ(r->last_hash, nlohmann::json::parse(lines[4])["hash"]);
  EXPECT_EQ(VerifyJson(path_, *r)["last_hash"], r->last_hash);
  EXPECT_EQ(VerifyJson(path_, *r)["ok"], true);
}

TEST_F(AuditTest, ReopenContinuesTheChain) {
  WriteRecords(3);
  WriteRecords(2);  // a second process/run appends
  Result<VerifyReport> r = Verify(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->detail;
  EXPECT_EQ(r->records, 5);
}

TEST_F(AuditTest, EditedFieldIsDetectedAtItsLine) {
  auto lines = WriteRecords(6);
  auto rec = nlohmann::json::parse(lines[3]);
  rec["bytes"] = 1;  // edit without re-hashing
  lines[3] = rec.dump();
  WriteLines(path_, lines);
  ExpectBad(4, "edited");
}

TEST_F(AuditTest, EditedAndRehashedRecordBreaksTheNextLink) {
  auto lines = WriteRecords(6);
  auto rec = nlohmann::json::parse(lines[2]);
  rec["host"] = "innocent.example";
  rec.erase("hash");
  rec["hash"] = Sha256Hex(rec["prev"].get<std::string>() + rec.dump());
  lines[2] = rec.dump();
  WriteLines(path_, lines);
  ExpectBad(4, "edited");
}

TEST_F(AuditTest, DeletedLineIsDetected) {
  auto lines = WriteRecords(6);
  lines.erase(lines.begin() + 2);
  WriteLines(path_, lines);
  ExpectBad(3, "removed");
}

TEST_F(AuditTest, SwappedLinesAreDetectedAsReordered) {
  auto lines = WriteRecords(6);
  std::swap(lines[1], lines[4]);
  WriteLines(path_, lines);
  ExpectBad(2, "reordered");
}

TEST_F(AuditTest, TruncationIsDetected) {
  auto lines = WriteRecords(6);
  // Cut in the middle of the last record.
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  std::ofstream(path_, std::ios::trunc) << text.substr(0, text.size() - 20);
  ExpectBad(6, "truncated");
  // Drop the last two whole records: only the head file knows.
  lines.resize(4);
  WriteLines(path_, lines);
  ExpectBad(5, "truncated");
  // Garbage in place of a record.
  lines[1] = "{not json";
  WriteLines(path_, lines);
  ExpectBad(2, "malformed");
}

TEST_F(AuditTest, DamagedLogIsNeverExtended) {
  auto lines = WriteRecords(3);
  std::ofstream(path_, std::ios::app) << "{\"partial";
  Result<std::unique_ptr<AuditLog>> log = AuditLog::Open(path_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
}

TEST_F(AuditTest, ConcurrentAppendsKeepOneChain) {
  auto log = std::move(AuditLog::Open(path_, AuditOptions{false})).value();
  auto other = std::move(AuditLog::Open(path_, AuditOptions{false})).value();  // as another process
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      AuditLog* target = t % 2 ? other.get() : log.get();
      for (int i = 0; i < 25; ++i) {
        AuditRecord r;
        r.backend = "b" + std::to_string(t);
        r.sha256_hex = Sha256Hex(std::to_string(i));
        ASSERT_TRUE(target->Append(r).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  Result<VerifyReport> r = Verify(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->detail;
  EXPECT_EQ(r->records, 100);
}

TEST_F(AuditTest, MissingLogIsNotFound) {
  EXPECT_EQ(Verify(path_).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace hearth::ledger

namespace hearth::ledger {
namespace {

TEST_F(AuditTest, InvalidUtf8FieldIsAnErrorNotACrash) {
  auto log = std::move(AuditLog::Open(path_)).value();
  AuditRecord r;
  r.request_id = "bad \xC3";
  Status s = log->Append(r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  r.request_id = "good";
  EXPECT_TRUE(log->Append(r).ok());
  Result<VerifyReport> report = Verify(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->detail;
  EXPECT_EQ(report->records, 1);
}

}  // namespace
}  // namespace hearth::ledger

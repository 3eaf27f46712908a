// Audit log: an append-only file of JSON lines, one per egress (each time bytes left the machine
// for a network backend), chained by hashes so that editing, removing, reordering or truncating
// records shows.
//
// Line n (1-based) is one JSON object with sorted keys:
//   {"backend":..., "bytes":..., "entities":[...], "hash":"<hex>", "host":..., "prev":"<hex>",
//    "request_id":..., "seq":n, "sha256":"<hex of the exact bytes sent>", "time":"RFC 3339 UTC",
//    "time_ms":...}
//   prev = the previous line's hash (64 zeros on line 1)
//   hash = SHA-256( prev || canonical ), canonical = the object without "hash", serialised with
//          sorted keys and no spaces (nlohmann::json::dump()).
// Beside the log, "<path>.head" holds {"seq":n,"hash":...} of the last record, rewritten
// atomically after each append, so that dropping whole records from the end is detected too.
// Values are never content: only types, hashes and sizes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace hearth::ledger {

// Lower-case hex SHA-256 (OpenSSL EVP).
std::string Sha256Hex(std::string_view bytes);

struct AuditRecord {
  int64_t time_ms = 0;             // 0 = now
  std::string backend;
  std::string host;                // host only, never a full URL with query
  std::string sha256_hex;          // of the exact bytes sent
  std::vector<std::string> entity_types;  // redacted before sending
  int64_t bytes = 0;
  std::string request_id;
};

struct AuditOptions {
  bool fsync_each = true;  // fsync the log (and head) after every record
};

class AuditLog {
 public:
  // Opens or creates; reads the last record to continue the chain. Fails (kDataLoss) when the
  // existing tail does not parse, so that a damaged log is never silently extended.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, AuditOptions options = {});
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one record (thread-safe; an flock serialises processes sharing the file).
  Status Append(const AuditRecord& record);
  int64_t records() const;

 private:
  AuditLog(std::string path, int fd, AuditOptions options)
      : path_(std::move(path)), fd_(fd), options_(options) {}
  Status LoadTail();

  std::string path_;
  int fd_;
  AuditOptions options_;
  mutable std::mutex mu_;
  int64_t seq_ = 0;
  std::string last_hash_;
  int64_t known_size_ = -1;
};

struct VerifyReport {
  bool ok = true;
  int64_t records = 0;         // well-formed records read
  int64_t first_bad_line = 0;  // 1-based; 0 when ok
  std::string problem;         // "edited", "removed", "reordered", "truncated", "malformed"
  std::string detail;          // human sentence: what and where
  std::string last_hash;       // hash of the last good record: publish it elsewhere to anchor
                               // the chain (the .head file alone can be rewritten with the log)
};

// Reads the whole log (and its .head when present). kNotFound when the log is missing.
Result<VerifyReport> Verify(const std::string& path);

// `hearth audit verify` output.
std::string VerifyText(const std::string& path, const VerifyReport& report);
nlohmann::json VerifyJson(const std::string& path, const VerifyReport& report);

}  // namespace hearth::ledger

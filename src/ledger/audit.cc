#include "ledger/audit.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace hearth::ledger {
namespace {

using nlohmann::json;

const std::string kGenesis(64, '0');

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Rfc3339(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// hash = SHA-256(prev || dump(record without "hash")); nlohmann::json objects keep keys sorted,
// so dump() is canonical.
std::string ChainHash(const json& record) {
  json body = record;
  body.erase("hash");
  return Sha256Hex(body.value("prev", std::string()) + body.dump());
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return DataLossError(Errno("writing audit log"));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteHead(const std::string& path, int64_t seq, const std::string& hash, bool sync) {
  std::string tmp = path + ".head.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return DataLossError(Errno("opening " + tmp));
  Status s = WriteAll(fd, json{{"seq", seq}, {"hash", hash}}.dump() + "\n");
  if (s.ok() && sync && ::fsync(fd) != 0) s = DataLossError(Errno("fsync " + tmp));
  ::close(fd);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), (path + ".head").c_str()) != 0) return DataLossError(Errno("renaming " + tmp));
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  CHECK(ctx != nullptr);
  CHECK(EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1);
  CHECK(EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) == 1);
  CHECK(EVP_DigestFinal_ex(ctx, digest, &len) == 1);
  EVP_MD_CTX_free(ctx);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, AuditOptions options) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return NotFoundError(Errno("opening audit log " + path));
  std::unique_ptr<AuditLog> log(new AuditLog(path, fd, options));
  TRY(log->LoadTail());
  return log;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t AuditLog::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

// Reads the last line to continue the chain. Called with the file locked (or at open).
Status AuditLog::LoadTail() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return DataLossError(Errno("stat " + path_));
  known_size_ = st.st_size;
  if (st.st_size == 0) {
    seq_ = 0;
    last_hash_ = kGenesis;
    return Status::Ok();
  }
  // Read backwards in blocks until the line before the last newline is found.
  std::string tail;
  off_t end = st.st_size;
  const off_t kBlock = 4096;
  while (true) {
    off_t begin = std::max<off_t>(0, end - kBlock);
    std::string block(static_cast<size_t>(end - begin), '\0');
    if (::pread(fd_, block.data(), block.size(), begin) != static_cast<ssize_t>(block.size())) {
      return DataLossError(Errno("reading " + path_));
    }
    tail = block + tail;
    end = begin;
    if (tail.back() != '\n') return DataLossError(path_ + ": last record is truncated (no newline); run audit verify");
    size_t nl = tail.rfind('\n', tail.size() - 2);
    if (nl != std::string::npos || begin == 0) {
      std::string line = tail.substr(nl == std::string::npos ? 0 : nl + 1);
      line.pop_back();
      json last = json::parse(line, nullptr, false);
      if (last.is_discarded() || !last.is_object() || !last.contains("seq") ||
          !last["seq"].is_number_integer() || !last.contains("hash") || !last["hash"].is_string()) {
        return DataLossError(path_ + ": last record does not parse; run audit verify");
      }
      seq_ = last["seq"].get<int64_t>();
      last_hash_ = last["hash"].get<std::string>();
      return Status::Ok();
    }
    if (tail.size() > (16u << 20)) return DataLossError(path_ + ": last record is implausibly long");
  }
}

Status AuditLog::Append(const AuditRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  if (::flock(fd_, LOCK_EX) != 0) return DataLossError(Errno("locking " + path_));
  struct FlockGuard {
    int fd;
    ~FlockGuard() { ::flock(fd, LOCK_UN); }
  } guard{fd_};
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return DataLossError(Errno("stat " + path_));
  if (st.st_size != known_size_) TRY(LoadTail());  // another process appended

  int64_t time_ms = record.time_ms != 0 ? record.time_ms : NowMs();
  json line = {{"seq", seq_ + 1},
               {"time", Rfc3339(time_ms)},
               {"time_ms", time_ms},
               {"backend", record.backend},
               {"host", record.host},
               {"sha256", record.sha256_hex},
               {"entities", record.entity_types},
               {"bytes", record.bytes},
               {"request_id", record.request_id},
               {"prev", last_hash_}};
  std::string hash, text;
  try {  // dump() throws on invalid UTF-8 in a caller-supplied field
    hash = ChainHash(line);
    line["hash"] = hash;
    text = line.dump() + "\n";
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("audit record is not valid UTF-8: ") + e.what());
  }
  TRY(WriteAll(fd_, text));
  if (options_.fsync_each && ::fsync(fd_) != 0) return DataLossError(Errno("fsync " + path_));
  ++seq_;
  last_hash_ = hash;
  known_size_ = st.st_size + static_cast<off_t>(text.size());
  return WriteHead(path_, seq_, last_hash_, options_.fsync_each);
}

Result<VerifyReport> Verify(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  VerifyReport report;
  auto fail = [&](int64_t line, std::string problem, std::string detail) {
    report.ok = false;
    report.first_bad_line = line;
    report.problem = std::move(problem);
    report.detail = "line " + std::to_string(line) + ": " + detail;
    return report;
  };
  // Split into lines; remember whether the last one ended with a newline.
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  const bool last_unterminated = !text.empty() && text.back() != '\n';
  // First pass: the sequence numbers, to tell a reorder from a removal.
  std::vector<int64_t> seqs(lines.size(), -1);
  std::vector<json> records(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    records[i] = json::parse(lines[i], nullptr, false);
    if (records[i].is_object() && records[i].contains("seq") && records[i]["seq"].is_number_integer()) {
      seqs[i] = records[i]["seq"].get<int64_t>();
    }
  }
  std::string prev = kGenesis;
  for (size_t i = 0; i < lines.size(); ++i) {
    int64_t n = static_cast<int64_t>(i) + 1;
    const json& r = records[i];
    if (i + 1 == lines.size() && last_unterminated) {
      return fail(n, "truncated", "record is cut short (no final newline)");
    }
    if (r.is_discarded() || !r.is_object() || seqs[i] < 0 || !r.contains("hash") ||
        !r["hash"].is_string() || !r.contains("prev") || !r["prev"].is_string()) {
      return fail(n, "malformed", "not a well-formed audit record (edited or corrupted)");
    }
    if (seqs[i] != n) {
      bool expected_later = false;
      for (size_t j = i + 1; j < lines.size(); ++j) expected_later |= seqs[j] == n;
      if (expected_later || seqs[i] < n) {
        return fail(n, "reordered", "holds record " + std::to_string(seqs[i]) + " where record " +
                                        std::to_string(n) + " belongs (records reordered)");
      }
      return fail(n, "removed", "holds record " + std::to_string(seqs[i]) + " where record " +
                                    std::to_string(n) + " belongs (record(s) removed before it)");
    }
    if (ChainHash(r) != r["hash"].get<std::string>()) {
      return fail(n, "edited", "content does not match its hash (record edited)");
    }
    if (r["prev"].get<std::string>() != prev) {
      return fail(n, "edited", "prev does not match the hash of line " + std::to_string(n - 1) +
                                   " (a record was edited and re-hashed, or replaced)");
    }
    prev = r["hash"].get<std::string>();
    report.records = n;
    report.last_hash = prev;
  }
  Result<std::string> head_text = ReadFile(path + ".head");
  if (head_text.ok()) {
    json head = json::parse(*head_text, nullptr, false);
    if (head.is_object() && head.contains("seq") && head["seq"].is_number_integer()) {
      int64_t head_seq = head["seq"].get<int64_t>();
      if (head_seq > report.records) {
        return fail(report.records + 1, "truncated",
                    "the log ends after record " + std::to_string(report.records) +
                        " but its head says " + std::to_string(head_seq) + " were written (records removed from the end)");
      }
      if (head_seq == report.records && head.value("hash", std::string()) != prev) {
        return fail(report.records, "edited", "last record's hash differs from the head's");
      }
    }
  }
  return report;
}

std::string VerifyText(const std::string& path, const VerifyReport& report) {
  if (report.ok) {
    return path + ": OK, " + std::to_string(report.records) + " records, chain intact" +
           (report.last_hash.empty() ? "" : ", last hash " + report.last_hash) + "\n";
  }
  return path + ": FAILED: " + report.problem + ": " + report.detail + " (" +
         std::to_string(report.records) + " records verified before it)\n";
}

json VerifyJson(const std::string& path, const VerifyReport& report) {
  json out = {{"path", path}, {"ok", report.ok}, {"records", report.records},
              {"last_hash", report.last_hash}};
  if (!report.ok) {
    out["first_bad_line"] = report.first_bad_line;
    out["problem"] = report.problem;
    out["detail"] = report.detail;
  }
  return out;
}

}  // namespace hearth::ledger

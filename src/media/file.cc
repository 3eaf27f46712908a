// ReadFile, base64 and data URIs: how media bytes arrive from the command line and the server.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/internal.h"
#include "media/media.h"

namespace hearth::media {

Result<std::vector<uint8_t>> ReadFile(const std::string& path, const Limits& limits) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string msg = path + ": cannot open: " + std::strerror(e);
    return e == ENOENT ? NotFoundError(msg) : InvalidArgumentError(msg);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return InvalidArgumentError(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + ": not a regular file");
  if (st.st_size > limits.max_bytes) {
    return ResourceExhaustedError(path + ": file is " + std::to_string(st.st_size) +
                                  " bytes, more than the limit of " +
                                  std::to_string(limits.max_bytes));
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return InvalidArgumentError(path + ": read failed: " + std::strerror(errno));
    if (n == 0) break;  // the file shrank while we read it
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

namespace {

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Printable(unsigned char c) {
  if (c >= 0x21 && c < 0x7F) return std::string("'") + char(c) + "'";
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", c);
  return buf;
}

}  // namespace

Result<std::vector<uint8_t>> DecodeBase64(std::string_view text, const Limits& limits) {
  if (static_cast<int64_t>(text.size() / 4) * 3 > limits.max_bytes + 3) {
    return ResourceExhaustedError("base64: " + std::to_string(text.size()) +
                                  " characters decode to more than the limit of " +
                                  std::to_string(limits.max_bytes) + " bytes");
  }
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int nbits = 0;
  size_t symbols = 0, pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (IsSpace(c)) continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    int v = Base64Value(c);
    if (v < 0 || pad > 0) {
      return InvalidArgumentError("base64: invalid character " + Printable(c) + " at offset " +
                                  std::to_string(i) + (pad > 0 && v >= 0 ? " (after padding)" : ""));
    }
    ++symbols;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> nbits));
      acc &= (1u << nbits) - 1;
    }
  }
  if (symbols % 4 == 1) {
    return InvalidArgumentError("base64: truncated: " + std::to_string(symbols) +
                                " symbols leave a single dangling character");
  }
  if (pad > 0 && (pad > 2 || (symbols + pad) % 4 != 0)) {
    return InvalidArgumentError("base64: wrong padding: " + std::to_string(pad) + " '=' after " +
                                std::to_string(symbols) + " symbols");
  }
  if (static_cast<int64_t>(out.size()) > limits.max_bytes) {
    return ResourceExhaustedError("base64: decodes to " + std::to_string(out.size()) +
                                  " bytes, more than the limit of " +
                                  std::to_string(limits.max_bytes));
  }
  return out;
}

Result<DataUri> ParseDataUri(std::string_view uri, const Limits& limits) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
    return out;
  };
  DataUri result;
  if (lower(uri.substr(0, 5)) != "data:") {
    ASSIGN_OR_RETURN(result.bytes, DecodeBase64(uri, limits));
    return result;
  }
  size_t comma = uri.find(',');
  if (comma == std::string_view::npos) return InvalidArgumentError("data URI: no ',' before the data");
  std::string header = lower(uri.substr(5, comma - 5));
  bool base64 = false;
  size_t semi = header.find(';');
  result.media_type = header.substr(0, semi);
  while (semi != std::string::npos) {
    size_t next = header.find(';', semi + 1);
    std::string param = header.substr(semi + 1, next == std::string::npos ? std::string::npos
                                                                           : next - semi - 1);
    if (param == "base64") base64 = true;
    semi = next;
  }
  if (!base64) {
    return InvalidArgumentError("data URI: not base64-encoded (\"data:" + header +
                                ",...\" lacks ;base64); only base64 data URIs are accepted");
  }
  Result<std::vector<uint8_t>> bytes = DecodeBase64(uri.substr(comma + 1), limits);
  if (!bytes.ok()) {
    // Offsets in the message are within the data; say so.
    return bytes.status().WithContext("data URI (data starts at offset " +
                                      std::to_string(comma + 1) + ")");
  }
  result.bytes = std::move(bytes).value();
  return result;
}

}  // namespace hearth::media

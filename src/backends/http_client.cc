#include "backends/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "ledger/audit.h"

namespace hearth::backends {
namespace {

std::atomic<int64_t> g_loopback_sockets{0};
std::atomic<int64_t> g_non_loopback_sockets{0};

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// State shared with libcurl's callbacks for one transfer.
struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  const EgressContext* context = nullptr;
  const EgressObserver* egress = nullptr;
  const BodySink* sink = nullptr;
  HttpResponse response;
  size_t body_offset = 0;
  bool egress_reported = false;
  Status egress_status;
  bool sink_stopped = false;
  bool too_large = false;
};

// libcurl's NO_PROXY list from the environment, with loopback always added: a proxy configured for
// the internet must never see traffic meant for this machine.
const std::string& NoProxyList() {
  static const std::string list = [] {
    std::string l = "127.0.0.1,localhost,::1";
    for (const char* var : {"no_proxy", "NO_PROXY"}) {
      const char* v = std::getenv(var);
      if (v != nullptr && v[0] != '\0') {
        l += ",";
        l += v;
        break;
      }
    }
    return l;
  }();
  return list;
}

bool IsLoopback(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
    return false;
  }
  return addr->sa_family == AF_UNIX;
}

curl_socket_t OpenSocket(void*, curlsocktype, curl_sockaddr* address) {
  if (IsLoopback(&address->addr)) {
    g_loopback_sockets.fetch_add(1);
  } else {
    g_non_loopback_sockets.fetch_add(1);
  }
  return socket(address->family, address->socktype, address->protocol);
}

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->egress_reported) {
    t->egress_reported = true;
    EgressRecord record;
    record.backend = t->context->backend;
    record.url = t->request->url;
    record.host = UrlHost(t->request->url);
    record.sha256_hex = ledger::Sha256Hex(t->request->body);
    record.redacted_entity_types = t->context->redacted_entity_types;
    record.bytes = static_cast<int64_t>(t->request->body.size());
    record.request_id = t->context->request_id;
    // Exceptions must not cross libcurl's C frames: an observer that throws refuses the send.
    try {
      t->egress_status = *t->egress ? (*t->egress)(record)
                                    : FailedPreconditionError("no egress observer installed");
    } catch (const std::exception& e) {
      t->egress_status = InternalError(std::string("egress observer threw: ") + e.what());
    } catch (...) {
      t->egress_status = InternalError("egress observer threw");
    }
  }
  if (!t->egress_status.ok()) return CURL_READFUNC_ABORT;
  const std::string& body = t->request->body;
  size_t n = std::min(size * nitems, body.size() - t->body_offset);
  std::memcpy(buffer, body.data() + t->body_offset, n);
  t->body_offset += n;
  return n;
}

int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->request->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->body_offset = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t OnHeader(char* buffer, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(buffer, size * nitems);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a 1xx): start over
    t->response.headers.clear();
    return size * nitems;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * nitems;
  std::string name = Lower(Trim(line.substr(0, colon)));
  std::string value(Trim(line.substr(colon + 1)));
  if (name == "content-type") {
    std::string_view v = value;
    t->response.content_type = Lower(Trim(v.substr(0, v.find(';'))));
  }
  t->response.headers[name] = std::move(value);
  return size * nitems;
}

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  const std::string& want = t->request->stream_content_type;
  if (t->sink != nullptr && code >= 200 && code < 300 &&
      (want.empty() || want == t->response.content_type)) {
    bool keep_going = false;
    try {
      keep_going = (*t->sink)(std::string_view(data, n));
    } catch (...) {  // never across libcurl's C frames; the sink's owner records its own error
      keep_going = false;
    }
    if (!keep_going) {
      t->sink_stopped = true;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
    return n;
  }
  constexpr size_t kMaxCollected = 64u << 20;  // a reply larger than this is not a chat reply
  if (t->response.body.size() + n > kMaxCollected) {
    t->too_large = true;
    return 0;
  }
  t->response.body.append(data, n);
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->request->cancel != nullptr && t->request->cancel->load()) ? 1 : 0;
}

Status MapCurlError(CURLcode code, const Transfer& t, const char* errbuf) {
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  std::string where = t.request->method + " " + UrlHost(t.request->url);
  std::string msg = RedactSecrets(where + ": " + detail, t.request->secrets);
  if (!t.egress_status.ok()) return t.egress_status.WithContext("egress refused");
  if (t.sink_stopped) return CancelledError(where + ": the receiver stopped the stream");
  if (t.too_large) return UnavailableError(where + ": reply larger than 64 MiB");
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError(msg);
    case CURLE_ABORTED_BY_CALLBACK:
      return CancelledError(where + ": cancelled");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return InvalidArgumentError(msg);
    default:
      return UnavailableError(msg);
  }
}

}  // namespace

SocketCounts GetSocketCounts() {
  return {g_loopback_sockets.load(), g_non_loopback_sockets.load()};
}

HttpClient::HttpClient(EgressObserver egress) : egress_(std::move(egress)) { GlobalInitOnce(); }

Result<HttpResponse> HttpClient::Send(const HttpRequest& request, const EgressContext& context,
                                      const BodySink* sink) const {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return InternalError("curl_easy_init failed");
  Transfer t;
  t.curl = curl;
  t.request = &request;
  t.context = &context;
  t.egress = &egress_;
  t.sink = sink;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, NoProxyList().c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would re-send the body elsewhere
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &t);
  } else if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return InvalidArgumentError("unsupported HTTP method " + request.method);
  }

  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  Status failure;
  if (code != CURLE_OK) failure = MapCurlError(code, t, errbuf);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (!failure.ok()) return failure;
  if (request.method == "POST" && !t.egress_reported && !request.body.empty()) {
    return InternalError("the request body was never read by the transport");
  }
  t.response.status = status;
  return std::move(t.response);
}

std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    size_t at = 0;
    while ((at = out.find(secret, at)) != std::string::npos) {
      out.replace(at, secret.size(), "[REDACTED]");
      at += 10;
    }
  }
  return out;
}

std::string DescribeForLog(const HttpRequest& request) {
  std::string_view url = request.url;
  size_t scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  size_t slash = rest.find('/');
  std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  path = path.substr(0, path.find('?'));  // queries may carry keys (Gemini's ?key=)
  std::string out = request.method + " " + UrlHost(request.url) + " " + path + " headers[";
  bool first = true;
  for (const auto& [name, value] : request.headers) {
    std::string lower = Lower(name);
    bool secret = lower == "authorization" || lower == "x-api-key" || lower == "x-goog-api-key" ||
                  lower == "api-key" || lower == "cookie" || lower == "proxy-authorization";
    out += (first ? "" : ", ") + name + "=" + (secret ? std::string("<redacted>") : value);
    first = false;
  }
  out += "]";
  if (!request.body.empty()) {
    out += " body " + std::to_string(request.body.size()) + " bytes sha256 " +
           ledger::Sha256Hex(request.body).substr(0, 16);
  }
  return RedactSecrets(out, request.secrets);
}

std::string UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  size_t at = url.rfind('@');  // userinfo never goes into a record
  if (at != std::string_view::npos) url.remove_prefix(at + 1);
  if (!url.empty() && url.front() == '[') return std::string(url.substr(0, url.find(']') + 1));
  return std::string(url.substr(0, url.find(':')));
}

std::optional<int64_t> ParseRetryAfter(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return static_cast<int64_t>(seconds * 1000);
  }
  time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when < 0) return std::nullopt;
  time_t now = time(nullptr);
  return when > now ? static_cast<int64_t>(when - now) * 1000 : 0;
}

}  // namespace hearth::backends

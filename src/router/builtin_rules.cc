#include "router/builtin_rules.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "router/validators.h"

namespace hearth::router::internal {

namespace {

// Secrets next to a keyword: the value must be at least this many bits per character (Shannon
// entropy of its own characters). Random 8-character passwords over a 70-symbol alphabet score
// about 2.8; words and repeated filler ("********", "changeme") score below 2.6.
constexpr double kKeywordSecretMinEntropy = 2.5;
// An AWS secret access key is 40 characters of base64; random ones score 4.5-5.0 bits per
// character, hex digests (also 40 characters) at most 4.0.
constexpr double kAwsSecretMinEntropy = 4.2;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
char At(std::string_view t, size_t i) { return i < t.size() ? t[i] : '\0'; }
char Before(std::string_view t, size_t i) { return i > 0 ? t[i - 1] : '\0'; }

// A digit run continues past the span with a separator ("1234-5678-...-9999" longer than a card).
bool ContinuesNumber(std::string_view t, const Finding& f) {
  const char b = Before(t, f.begin), a = At(t, f.end);
  if (IsDigit(b) || IsDigit(a)) return true;
  if ((b == '-' || b == '.' || b == '/') && IsDigit(Before(t, f.begin - 1))) return true;
  if ((a == '-' || a == '.' || a == '/') && IsDigit(At(t, f.end + 1))) return true;
  return false;
}

// Group lengths of a number written with separators, e.g. {4,4,4,4}.
std::vector<int> GroupLengths(std::string_view s) {
  std::vector<int> groups;
  int run = 0;
  for (char c : s) {
    if (IsDigit(c)) {
      ++run;
    } else if (run > 0) {
      groups.push_back(run);
      run = 0;
    }
  }
  if (run > 0) groups.push_back(run);
  return groups;
}

bool CardValidate(std::string_view t, Finding& f) {
  if (ContinuesNumber(t, f)) return false;
  const std::string_view s = t.substr(f.begin, f.size());
  const std::string d = DigitsOnly(s);
  if (!LuhnValid(d)) return false;
  auto network = CardNetwork(d);
  if (!network) return false;
  f.subtype = std::string(*network);
  const std::vector<int> g = GroupLengths(s);
  const bool separated = g.size() > 1;
  if (separated) {
    // Consistent separators and a printed card layout: 4-4-4-4(-1..3), 4-6-5 or 4-6-4.
    const char sep = s[g[0]];
    for (char c : s) {
      if (!IsDigit(c) && c != sep) return false;
    }
    bool fours = g[0] == 4;
    for (size_t i = 1; i + 1 < g.size(); ++i) fours = fours && g[i] == 4;
    fours = fours && g.back() >= 1 && g.back() <= 4;
    const bool amex = g.size() == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4);
    if (!fours && !amex) return false;
  }
  const bool card_words = ContextHas(t, f.begin, f.end, 48, 24,
                                     {"card", "visa", "mastercard", "amex", "credit", "debit",
                                      "cc ", "cc#", "cc:", "payment", "pay ", "billing", "cvv",
                                      "cvc", "expir", "pan"});
  const bool id_words = ContextHas(t, f.begin, f.end, 32, 0,
                                   {"order", "invoice", "tracking", "ref", "id", "account no",
                                    "serial", "#"});
  if (card_words) f.confidence = 0.97;
  else if (separated) f.confidence = 0.85;
  else if (id_words) f.confidence = 0.3;
  else f.confidence = 0.6;
  return true;
}

bool IbanValidate(std::string_view t, Finding& f) {
  if (IsAlnum(Before(t, f.begin)) || IsAlnum(At(t, f.end))) return false;
  // The pattern may have taken a following short word as a last group ("... 3000 by Friday"):
  // drop trailing space-separated groups until the rest validates.
  for (;;) {
    std::string compact;
    for (char c : t.substr(f.begin, f.size())) {
      if (c != ' ') compact.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (IbanValid(compact)) {
      f.subtype = compact.substr(0, 2);
      return true;
    }
    const size_t space = t.substr(f.begin, f.size()).rfind(' ');
    if (space == std::string_view::npos || space < 15) return false;
    f.end = f.begin + space;
  }
}

bool SsnValidate(std::string_view t, Finding& f) {
  if (ContinuesNumber(t, f)) return false;
  const std::string d = DigitsOnly(t.substr(f.begin, f.size()));
  if (!UsSsnValid(d)) return false;
  if (ContextHas(t, f.begin, f.end, 48, 16,
                 {"ssn", "social security", "social sec", "ss#", "ss no", "taxpayer", "tin"})) {
    f.confidence = 0.98;
  }
  return true;
}

bool PhoneValidate(std::string_view t, Finding& f) {
  const char b = Before(t, f.begin), a = At(t, f.end);
  if (IsAlnum(b) || b == '+' || IsAlnum(a)) return false;
  if ((b == '-' || b == '.' || b == '/' || b == ':') && IsDigit(Before(t, f.begin - 1))) return false;
  if ((a == '-' || a == '.' || a == '/' || a == ':') && IsDigit(At(t, f.end + 1))) return false;
  const std::string d = DigitsOnly(t.substr(f.begin, f.size()));
  if (d.size() < 7 || d.size() > 15) return false;
  if (d.find_first_not_of('0', d.size() - 7) == std::string::npos) return false;  // "000-0000" filler
  if (ContextHas(t, f.begin, f.end, 40, 8,
                 {"call", "phone", "tel", "mobile", "cell", "fax", "whatsapp", "contact",
                  "reach me", "ring", "sms", "text me", "landline", "number"})) {
    f.confidence = std::max(f.confidence, 0.95);
  }
  return true;
}

bool Ipv4Validate(std::string_view t, Finding& f) {
  if (ContinuesNumber(t, f) || IsAlnum(Before(t, f.begin)) || IsAlnum(At(t, f.end))) return false;
  const std::string_view s = t.substr(f.begin, f.size());
  if (!Ipv4Valid(s)) return false;
  if (s.starts_with("127.") || s == "0.0.0.0" || s.starts_with("255.")) return false;
  // Version strings, section numbers and OIDs written like addresses.
  if (ContextHas(t, f.begin, f.end, 14, 0,
                 {"version", "ver", "release", "build", "upgrade", "update", "patch", "firmware",
                  "driver", "package", "library", "sdk", "rev", "tag", "section", "chapter",
                  "clause", "figure", "table", "step", "item", "§", "v"}) ||
      ContextHas(t, f.begin, f.end, 0, 12, {" release", " version", " build", "-beta", "-rc"})) {
    return false;
  }
  f.subtype = "ipv4";
  const bool priv = s.starts_with("10.") || s.starts_with("192.168.") ||
                    (s.starts_with("172.") && s.size() > 6 && s[4] >= '1' && s[4] <= '3');
  f.confidence = priv ? 0.75 : 0.85;
  return true;
}

bool Ipv6Validate(std::string_view t, Finding& f) {
  const char b = Before(t, f.begin), a = At(t, f.end);
  if (IsAlnum(b) || b == ':' || b == '_' || IsAlnum(a) || a == '_') return false;
  std::string_view s = t.substr(f.begin, f.size());
  while (!s.empty() && s.back() == '.') {
    s.remove_suffix(1);
    --f.end;
  }
  if (!Ipv6Valid(s)) return false;
  int groups = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && s[j] != ':') ++j;
    if (j > i) ++groups;
    i = j + 1;
  }
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool known_prefix = lower.starts_with("fe80") || lower.starts_with("fd") ||
                            lower.starts_with("fc") || lower.starts_with("20");
  if (groups < 3 && !(known_prefix && groups >= 2)) return false;
  f.subtype = "ipv6";
  return true;
}

bool MacValidate(std::string_view t, Finding& f) {
  const std::string_view s = t.substr(f.begin, f.size());
  const char b = Before(t, f.begin), a = At(t, f.end);
  if (IsAlnum(b) || b == ':' || b == '-' || IsAlnum(a) || a == ':') return false;
  if (a == '-' && IsAlnum(At(t, f.end + 1))) return false;
  char sep = 0;
  for (char c : s) {
    if (c == ':' || c == '-' || c == '.') {
      if (sep != 0 && c != sep) return false;
      sep = c;
    }
  }
  std::string hex;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c))) hex.push_back(static_cast<char>(std::tolower(c)));
  }
  if (hex == "000000000000" || hex == "ffffffffffff") return false;
  return true;
}

int MonthFromName(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  std::string lower;
  for (char c : s.substr(0, 3)) lower.push_back(static_cast<char>(std::tolower(c)));
  for (int m = 0; m < 12; ++m) {
    if (lower == kMonths[m]) return m + 1;
  }
  return 0;
}

// Accepts the date when some reading (y-m-d, d/m/y or m/d/y, or a month name) is a real date.
bool DobValidate(std::string_view t, Finding& f) {
  const std::string_view s = t.substr(f.begin, f.size());
  std::vector<int> nums;
  std::vector<int> widths;
  int month_name = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (IsDigit(s[i])) {
      int v = 0, w = 0;
      while (i < s.size() && IsDigit(s[i])) v = v * 10 + (s[i++] - '0'), ++w;
      nums.push_back(v);
      widths.push_back(w);
    } else if (std::isalpha(static_cast<unsigned char>(s[i]))) {
      size_t j = i;
      while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
      if (int m = MonthFromName(s.substr(i, j - i)); m != 0 && month_name == 0) month_name = m;
      i = j;
    } else {
      ++i;
    }
  }
  auto year_of = [](int v, int w) { return w == 2 ? (v > 30 ? 1900 + v : 2000 + v) : v; };
  if (month_name != 0 && nums.size() == 2) {
    return PlausibleDate(year_of(nums[1], widths[1]), month_name, nums[0]);
  }
  if (nums.size() != 3) return false;
  if (widths[0] == 4) return PlausibleDate(nums[0], nums[1], nums[2]);
  const int y = year_of(nums[2], widths[2]);
  return PlausibleDate(y, nums[1], nums[0]) || PlausibleDate(y, nums[0], nums[1]);
}

bool EmailValidate(std::string_view t, Finding& f) {
  const std::string_view s = t.substr(f.begin, f.size());
  const size_t dot = s.rfind('.');
  std::string tld;
  for (char c : s.substr(dot + 1)) tld.push_back(static_cast<char>(std::tolower(c)));
  // "icon@2x.png" and friends: asset names, not addresses.
  for (std::string_view ext : {"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ts"}) {
    if (tld == ext) return false;
  }
  // "git@github.com:org/repo.git" is an SSH remote, not a mailbox.
  return Before(t, f.begin) != '@' && At(t, f.end) != ':';
}

bool HasDigitAndLetter(std::string_view s) {
  bool digit = false, alpha = false;
  for (char c : s) {
    digit = digit || IsDigit(c);
    alpha = alpha || std::isalpha(static_cast<unsigned char>(c));
  }
  return digit && alpha;
}

bool OpenAiValidate(std::string_view t, Finding& f) {
  const std::string_view s = t.substr(f.begin, f.size());
  if (s.starts_with("sk-ant-")) return false;
  return HasDigitAndLetter(s.substr(3));
}

bool TokenBoundaryValidate(std::string_view t, Finding& f) {
  const char b = Before(t, f.begin);
  return !(IsAlnum(b) || b == '_' || b == '-');
}

bool JwtValidate(std::string_view t, Finding& f) {
  const std::string_view s = t.substr(f.begin, f.size());
  const size_t dot = s.find('.');
  auto header = Base64UrlDecode(s.substr(0, dot));
  if (!header) return false;
  const nlohmann::json j = nlohmann::json::parse(*header, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("alg");
}

// Documentation placeholders ("AKIAXXXXXXXXXXXXXXXX") are not keys.
bool AwsAccessKeyValidate(std::string_view t, Finding& f) {
  return ShannonEntropy(t.substr(f.begin + 4, 16)) >= 2.5;
}

bool AwsSecretValidate(std::string_view t, Finding& f) {
  auto in_set = [](char c) { return IsAlnum(c) || c == '/' || c == '+'; };
  if (in_set(Before(t, f.begin)) || in_set(At(t, f.end)) || At(t, f.end) == '=') return false;
  const std::string_view s = t.substr(f.begin, f.size());
  return CharClassCount(s) >= 3 && ShannonEntropy(s) >= kAwsSecretMinEntropy;
}

bool KeywordSecretValidate(std::string_view t, Finding& f) {
  std::string_view s = t.substr(f.begin, f.size());
  while (!s.empty() && (s.back() == '.' || s.back() == ')' || s.back() == ']' || s.back() == '}')) {
    s.remove_suffix(1);
    --f.end;
  }
  if (s.size() < 8) return false;
  if (s[0] == '$' || s[0] == '{' || s[0] == '%' || s[0] == '<' || s.starts_with("process.env") ||
      s.starts_with("os.environ") || s.starts_with("http")) {
    return false;
  }
  bool alpha = false, non_alpha = false;
  for (char c : s) {
    if (std::isalpha(static_cast<unsigned char>(c))) alpha = true;
    else non_alpha = true;
  }
  if (!alpha || !non_alpha) return false;
  return ShannonEntropy(s) >= kKeywordSecretMinEntropy;
}

constexpr std::string_view kMonth =
    "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

std::string DobPattern() {
  const std::string month(kMonth);
  return "(?i)(?:\\bborn(?:\\s+on|\\s+in)?\\b|\\bd\\.o\\.b\\.?|\\bdob\\b|\\bdate\\s+of\\s+birth\\b|"
         "\\bbirth\\s*date\\b|\\bbirthday\\b)[^0-9\\n]{0,24}?("
         "\\d{4}-\\d{1,2}-\\d{1,2}|\\d{1,2}[/.\\-]\\d{1,2}[/.\\-](?:\\d{4}|\\d{2})|"
         "\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?" + month + "\\.?,?\\s+\\d{4}|" +
         month + "\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4})";
}

}  // namespace

bool ContextHas(std::string_view text, size_t begin, size_t end, size_t before, size_t after,
                std::initializer_list<std::string_view> words) {
  const size_t from = begin > before ? begin - before : 0;
  const size_t to = std::min(text.size(), end + after);
  std::string window;
  window.reserve(before + after + 1);
  for (size_t i = from; i < begin; ++i) window.push_back(static_cast<char>(std::tolower(text[i])));
  window.push_back('\n');  // the finding itself is not context
  for (size_t i = end; i < to; ++i) window.push_back(static_cast<char>(std::tolower(text[i])));
  for (std::string_view w : words) {
    size_t pos = window.find(w);
    while (pos != std::string::npos) {
      // Whole-word match for alphabetic keywords so "tin" does not fire inside "meeting".
      const bool alpha_word = std::isalpha(static_cast<unsigned char>(w.front())) != 0;
      const bool left_ok = !alpha_word || pos == 0 || !std::isalpha(static_cast<unsigned char>(window[pos - 1]));
      const size_t r = pos + w.size();
      const bool right_ok = !std::isalpha(static_cast<unsigned char>(w.back())) ||
                            r >= window.size() || !std::isalpha(static_cast<unsigned char>(window[r])) ||
                            w.size() >= 5;  // long stems ("expir", "firmware") may be prefixes
      if (left_ok && right_ok) return true;
      pos = window.find(w, pos + 1);
    }
  }
  return false;
}

const std::vector<RuleSpec>& BuiltinRuleSpecs() {
  static const std::string* dob = new std::string(DobPattern());
  static const std::vector<RuleSpec>* specs = new std::vector<RuleSpec>{
      // Secrets first: their shapes are the most specific.
      {kEntityPrivateKey, "pem",
       "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:(?s:.*?)-----END (?:[A-Z0-9]+ )*"
       "PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\\s:,\\-]*)",
       0.99, 0, nullptr},
      {kEntityApiKey, "anthropic", "sk-ant-(?:api|admin|oat)\\d{2}-[A-Za-z0-9_\\-]{20,}", 0.99, 0,
       TokenBoundaryValidate},
      {kEntityApiKey, "openai", "sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\\-]{20,}", 0.95, 0,
       OpenAiValidate},
      {kEntityApiKey, "github", "(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,}",
       0.99, 0, TokenBoundaryValidate},
      {kEntityApiKey, "slack", "xox[abposre]-[A-Za-z0-9\\-]{10,}", 0.95, 0, TokenBoundaryValidate},
      {kEntityApiKey, "google", "AIza[0-9A-Za-z_\\-]{35}", 0.95, 0, TokenBoundaryValidate},
      {kEntityApiKey, "stripe", "(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", 0.97, 0,
       TokenBoundaryValidate},
      {kEntityAwsAccessKey, "",
       "\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\\b", 0.95, 0,
       AwsAccessKeyValidate},
      {kEntityAwsSecretKey, "", "(?i)(?:aws|secret_access_key)[^\\n]{0,50}?([A-Za-z0-9/+]{40})", 0.9, 1, AwsSecretValidate},
      {kEntityJwt, "", "\\beyJ[A-Za-z0-9_\\-]{8,}\\.eyJ[A-Za-z0-9_\\-]{4,}\\.[A-Za-z0-9_\\-]{8,}",
       0.97, 0, JwtValidate},
      {kEntitySecret, "keyword",
       "(?i)\\b(?:password|passwd|passphrase|pwd|pass|secret|token|api[_\\- ]?key|apikey|"
       "access[_\\- ]?key|secret[_\\- ]?key|client[_\\- ]?secret|auth[_\\- ]?token|bearer|"
       "credentials?)\\b[\"']?\\s*(?:[:=]|=>|\\bis\\b|\\bwas\\b|\\bto\\b)?\\s*[\"'`]?"
       "([^\\s\"'`,;<>]{8,200})",
       0.85, 1, KeywordSecretValidate},
      // Personal data.
      {kEntityEmail, "",
       "[A-Za-z0-9][A-Za-z0-9._%+\\-]*@[A-Za-z0-9](?:[A-Za-z0-9\\-]*[A-Za-z0-9])?"
       "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9\\-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}\\b",
       0.95, 0, EmailValidate},
      {kEntityCreditCard, "", "\\b(?:\\d[ \\-]?){12,18}\\d\\b", 0.9, 0, CardValidate},
      {kEntityIban, "", "\\b[A-Za-z]{2}\\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?\\b", 0.95, 0,
       IbanValidate},
      {kEntityUsSsn, "dashed", "\\b\\d{3}-\\d{2}-\\d{4}\\b", 0.85, 0, SsnValidate},
      {kEntityUsSsn, "spaced", "\\b\\d{3} \\d{2} \\d{4}\\b", 0.45, 0, SsnValidate},
      {kEntityUsSsn, "bare", "\\b\\d{9}\\b", 0.3, 0, SsnValidate},
      {kEntityPhone, "e164", "\\+[1-9]\\d{6,14}\\b", 0.9, 0, PhoneValidate},
      {kEntityPhone, "international",
       "\\+[1-9]\\d{0,2}(?:[ .\\-]?\\(\\d{1,4}\\)|[ .\\-]\\d{1,4})(?:[ .\\-]?\\d{2,5}){1,5}\\b", 0.88,
       0, PhoneValidate},
      {kEntityPhone, "international00", "\\b00[1-9]\\d{0,2}(?:[ .\\-]\\d{1,5}){2,5}\\b", 0.7, 0,
       PhoneValidate},
      {kEntityPhone, "us",
       "(?:\\b1[ .\\-])?(?:\\([2-9]\\d{2}\\) ?|\\b[2-9]\\d{2}[.\\- ])[2-9]\\d{2}[.\\- ]\\d{4}\\b", 0.8,
       0, PhoneValidate},
      {kEntityPhone, "uk",
       "\\b0(?:\\d{2} \\d{4} \\d{4}|\\d{3} \\d{3} \\d{4}|\\d{4} \\d{6}|\\d{4} \\d{3} \\d{3})\\b", 0.75,
       0, PhoneValidate},
      {kEntityPhone, "fr", "\\b0[1-9](?:[ .]\\d{2}){4}\\b", 0.75, 0, PhoneValidate},
      {kEntityPhone, "de", "\\b0\\d{2,4}[ /\\-]\\d{5,8}\\b", 0.55, 0, PhoneValidate},
      {kEntityIpAddress, "ipv4", "\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b", 0.85, 0, Ipv4Validate},
      {kEntityIpAddress, "ipv6",
       "[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})?", 0.85, 0,
       Ipv6Validate},
      {kEntityMacAddress, "",
       "\\b[0-9A-Fa-f]{2}(?:[:\\-][0-9A-Fa-f]{2}){5}\\b|\\b[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\."
       "[0-9A-Fa-f]{4}\\b",
       0.85, 0, MacValidate},
      {kEntityDateOfBirth, "", *dob, 0.9, 1, DobValidate},
  };
  return *specs;
}

}  // namespace hearth::router::internal

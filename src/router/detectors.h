// Detectors: find personal data and secrets in prompt text before anything can leave the machine.
//
// Every pattern is an RE2 expression (linear time in the input, no backtracking), followed by a
// cheap validator written in C++ where the shape alone is ambiguous: Luhn for payment cards,
// mod-97 and country lengths for IBANs, area/group/serial rules for US SSNs, octet ranges for IPv4,
// inet_pton for IPv6, a base64url-decoded JSON header for JWTs, Shannon entropy for secrets next
// to words such as "password". Each finding carries an entity type, a byte span and a confidence.
// Overlapping findings are resolved so that the longest span wins, then the most confident.
//
//   ASSIGN_OR_RETURN(Detector detector, Detector::Create(policy.detectors));
//   std::vector<Finding> findings = detector.Scan(text);
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace re2 {
class RE2;
}

namespace hearth::router {

// Canonical entity type names. They name placeholders ("[EMAIL_1]"), policy conditions
// (`entities_any = ["email"]`) and audit records. User-defined detectors add their own names.
inline constexpr std::string_view kEntityCreditCard = "credit_card";
inline constexpr std::string_view kEntityIban = "iban";
inline constexpr std::string_view kEntityUsSsn = "us_ssn";
inline constexpr std::string_view kEntityEmail = "email";
inline constexpr std::string_view kEntityPhone = "phone";
inline constexpr std::string_view kEntityIpAddress = "ip_address";
inline constexpr std::string_view kEntityMacAddress = "mac_address";
inline constexpr std::string_view kEntityDateOfBirth = "date_of_birth";
inline constexpr std::string_view kEntityApiKey = "api_key";          // provider key shapes
inline constexpr std::string_view kEntityAwsAccessKey = "aws_access_key";
inline constexpr std::string_view kEntityAwsSecretKey = "aws_secret_key";
inline constexpr std::string_view kEntityJwt = "jwt";
inline constexpr std::string_view kEntityPrivateKey = "private_key";  // PEM block
inline constexpr std::string_view kEntitySecret = "secret";           // high-entropy near keyword

// All built-in entity types, in a stable order.
const std::vector<std::string_view>& BuiltinEntityTypes();
// Secrets (keys, tokens, passwords) as opposed to personal data; they raise sensitivity to
// "restricted" rather than "confidential".
bool IsSecretEntity(std::string_view type);

struct Finding {
  std::string type;     // entity type, e.g. "email"
  std::string subtype;  // optional detail, e.g. "openai" for an api_key, "ipv6" for ip_address
  size_t begin = 0;     // byte offset in the scanned text
  size_t end = 0;       // one past the last byte
  double confidence = 0;  // in (0, 1]
  size_t size() const { return end - begin; }
};

// A user-defined regular expression from the policy ([[detectors.pattern]]).
struct CustomPattern {
  std::string name;  // entity type it reports
  std::string regex;  // RE2 syntax; when it has a capture group, group 1 is the span
  double confidence = 0.9;
};

// A user-defined word list from the policy ([[detectors.words]]), matched on word boundaries.
struct WordList {
  std::string name;  // entity type it reports
  std::vector<std::string> words;
  bool case_sensitive = false;
  double confidence = 0.9;
};

struct DetectorOptions {
  // Built-in types to run; empty means all of them.
  std::vector<std::string> enabled;
  // Findings below this confidence are dropped.
  double min_confidence = 0.5;
  std::vector<CustomPattern> patterns;
  std::vector<WordList> word_lists;
};

class Detector {
 public:
  // Fails (InvalidArgument, naming the detector) when a user pattern or word list does not
  // compile or an enabled name is not a built-in type.
  static Result<Detector> Create(const DetectorOptions& options);

  Detector(Detector&&) noexcept;
  Detector& operator=(Detector&&) noexcept;
  ~Detector();

  // Findings sorted by begin offset, non-overlapping, each with confidence >= min_confidence.
  std::vector<Finding> Scan(std::string_view text) const;

 private:
  struct Compiled;
  explicit Detector(std::unique_ptr<Compiled> compiled);
  std::unique_ptr<Compiled> c_;
};

// Resolves overlaps: the longest span wins, then the higher confidence, then the earlier start.
// Returns the kept findings sorted by begin offset.
std::vector<Finding> ResolveOverlaps(std::vector<Finding> findings);

}  // namespace hearth::router

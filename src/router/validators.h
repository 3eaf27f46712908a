// Validators: the checks that turn a regular-expression candidate into a finding.
//
// Pure functions on short strings, no allocation beyond the returned values. Each one is the
// published rule for its format (Luhn for card numbers, ISO 13616 mod-97 for IBANs, the SSA's
// never-issued SSN ranges, dotted-quad octet ranges), so they can be tested on their own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hearth::router {

// Keeps only ASCII digits.
std::string DigitsOnly(std::string_view s);

// Luhn checksum over a string of digits (false on an empty string or a non-digit).
bool LuhnValid(std::string_view digits);

// The card network of a 13-19 digit number by its issuer prefix and length ("visa",
// "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "maestro"), or nullopt.
std::optional<std::string_view> CardNetwork(std::string_view digits);

// ISO 13616: country code known, length equal to that country's IBAN length, mod-97 == 1.
// `compact` holds no spaces.
bool IbanValid(std::string_view compact);

// US SSN: area not 000, 666 or 900-999; group not 00; serial not 0000; not a number the SSA
// published as an advertising example (078-05-1120, 219-09-9999).
bool UsSsnValid(std::string_view nine_digits);

// Dotted quad with each octet 0-255 and no leading zeros.
bool Ipv4Valid(std::string_view s);
// inet_pton(AF_INET6) accepts it.
bool Ipv6Valid(std::string_view s);

// Shannon entropy of the byte distribution, in bits per byte.
double ShannonEntropy(std::string_view s);
// How many of: lower-case letters, upper-case letters, digits, other printable ASCII.
int CharClassCount(std::string_view s);

// base64url (RFC 4648 section 5) without padding; nullopt on a character outside the alphabet.
std::optional<std::string> Base64UrlDecode(std::string_view s);

// A calendar date with month 1-12 and a day that exists in that month (any year 1900-2099).
bool PlausibleDate(int year, int month, int day);

}  // namespace hearth::router

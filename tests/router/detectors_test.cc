// Unit tests for each built-in detector: positives in realistic phrasing and the look-alikes
// that must not fire (numbers failing Luhn, version strings, timestamps, hashes, UUIDs, ...).
#include "router/detectors.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "router/validators.h"

namespace hearth::router {
namespace {

// "type=matched text" for each finding, in order.
std::vector<std::string> Scan(const std::string& text) {
  static const Detector* detector = new Detector(std::move(Detector::Create({}).value()));
  std::vector<std::string> out;
  for (const Finding& f : detector->Scan(text)) {
    out.push_back(f.type + "=" + text.substr(f.begin, f.size()));
  }
  return out;
}

using V = std::vector<std::string>;

TEST(ValidatorsTest, Luhn) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_TRUE(LuhnValid("378282246310005"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_FALSE(LuhnValid(""));
}

TEST(ValidatorsTest, Iban) {
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_TRUE(IbanValid("DE89370400440532013000"));
  EXPECT_FALSE(IbanValid("GB82WEST12345698765433"));   // checksum
  EXPECT_FALSE(IbanValid("DE8937040044053201300"));    // one short for Germany
  EXPECT_FALSE(IbanValid("ZZ82WEST12345698765432"));   // no such country
}

TEST(ValidatorsTest, Ssn) {
  EXPECT_TRUE(UsSsnValid("536221234"));
  EXPECT_FALSE(UsSsnValid("000221234"));
  EXPECT_FALSE(UsSsnValid("666221234"));
  EXPECT_FALSE(UsSsnValid("912221234"));
  EXPECT_FALSE(UsSsnValid("536001234"));
  EXPECT_FALSE(UsSsnValid("536220000"));
  EXPECT_FALSE(UsSsnValid("078051120"));
}

TEST(ValidatorsTest, IpAndEntropy) {
  EXPECT_TRUE(Ipv4Valid("192.168.1.20"));
  EXPECT_FALSE(Ipv4Valid("256.1.1.1"));
  EXPECT_FALSE(Ipv4Valid("01.2.3.4"));
  EXPECT_TRUE(Ipv6Valid("2001:db8::8a2e:370:7334"));
  EXPECT_FALSE(Ipv6Valid("12:30:45"));
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2.0);
  EXPECT_EQ(Base64UrlDecode("eyJhbGciOiJIUzI1NiJ9").value(), "{\"alg\":\"HS256\"}");
}

TEST(DetectorsTest, CreditCards) {
  EXPECT_EQ(Scan("charge my visa 4111 1111 1111 1111 please"),
            V{"credit_card=4111 1111 1111 1111"});
  EXPECT_EQ(Scan("card: 5555-5555-5555-4444"), V{"credit_card=5555-5555-5555-4444"});
  EXPECT_EQ(Scan("amex 3782 822463 10005 exp 09/27"), V{"credit_card=3782 822463 10005"});
  EXPECT_EQ(Scan("my credit card number is 4012888888881881"), V{"credit_card=4012888888881881"});
  // Fails Luhn.
  EXPECT_EQ(Scan("card 4111 1111 1111 1112"), V{});
  // Luhn-valid digits with an order-id context and no separators.
  EXPECT_EQ(Scan("Order #4532015112830366 shipped"), V{});
  // ISBN-13 with hyphens.
  EXPECT_EQ(Scan("ISBN 978-3-16-148410-0"), V{});
  // A longer digit run is not a card.
  EXPECT_EQ(Scan("tracking 4111-1111-1111-1111-2222"), V{});
}

TEST(DetectorsTest, Iban) {
  EXPECT_EQ(Scan("wire it to GB82 WEST 1234 5698 7654 32 today"),
            V{"iban=GB82 WEST 1234 5698 7654 32"});
  EXPECT_EQ(Scan("IBAN DE89370400440532013000."), V{"iban=DE89370400440532013000"});
  EXPECT_EQ(Scan("IBAN DE89370400440532013001."), V{});
}

TEST(DetectorsTest, UsSsn) {
  EXPECT_EQ(Scan("SSN: 536-22-1234"), V{"us_ssn=536-22-1234"});
  EXPECT_EQ(Scan("social security number 536 22 1234"), V{"us_ssn=536 22 1234"});
  EXPECT_EQ(Scan("my ssn is 536221234"), V{"us_ssn=536221234"});
  EXPECT_EQ(Scan("SSN: 666-22-1234"), V{});
  EXPECT_EQ(Scan("SSN: 900-22-1234"), V{});
  EXPECT_EQ(Scan("batch 536221234 done"), V{});  // bare nine digits without context
}

TEST(DetectorsTest, Email) {
  EXPECT_EQ(Scan("mail jane.doe+tax@example.co.uk now"), V{"email=jane.doe+tax@example.co.uk"});
  EXPECT_EQ(Scan("use icon@2x.png for retina"), V{});
  EXPECT_EQ(Scan("ssh git@localhost"), V{});
}

TEST(DetectorsTest, Phones) {
  EXPECT_EQ(Scan("call +14155552671 tomorrow"), V{"phone=+14155552671"});
  EXPECT_EQ(Scan("office +44 20 7946 0958"), V{"phone=+44 20 7946 0958"});
  EXPECT_EQ(Scan("mobile +1 (415) 555-2671"), V{"phone=+1 (415) 555-2671"});
  EXPECT_EQ(Scan("ring me on (415) 555-2671"), V{"phone=(415) 555-2671"});
  EXPECT_EQ(Scan("tel 01 23 45 67 89"), V{"phone=01 23 45 67 89"});
  EXPECT_EQ(Scan("phone 030 12345678"), V{"phone=030 12345678"});
  EXPECT_EQ(Scan("at 2024-01-15 10:30:45 the job ran"), V{});
  EXPECT_EQ(Scan("epoch 1700000000 seconds"), V{});
}

TEST(DetectorsTest, IpAndMac) {
  EXPECT_EQ(Scan("ssh to 203.0.113.42 now"), V{"ip_address=203.0.113.42"});
  EXPECT_EQ(Scan("host 2001:db8:85a3::8a2e:370:7334 is down"),
            V{"ip_address=2001:db8:85a3::8a2e:370:7334"});
  EXPECT_EQ(Scan("upgrade to version 1.2.3.4 first"), V{});
  EXPECT_EQ(Scan("see section 2.3.1.4"), V{});
  EXPECT_EQ(Scan("listen on 127.0.0.1"), V{});
  EXPECT_EQ(Scan("use std::vector here"), V{});
  EXPECT_EQ(Scan("at 12:30:45 sharp"), V{});
  EXPECT_EQ(Scan("nic 00:1A:2B:3C:4D:5E up"), V{"mac_address=00:1A:2B:3C:4D:5E"});
  EXPECT_EQ(Scan("nic 001a.2b3c.4d5e up"), V{"mac_address=001a.2b3c.4d5e"});
}

TEST(DetectorsTest, DateOfBirth) {
  EXPECT_EQ(Scan("Patient born on 03/14/1985 presents"), V{"date_of_birth=03/14/1985"});
  EXPECT_EQ(Scan("DOB: 1985-03-14"), V{"date_of_birth=1985-03-14"});
  EXPECT_EQ(Scan("date of birth 14 March 1985"), V{"date_of_birth=14 March 1985"});
  EXPECT_EQ(Scan("the meeting is on 03/14/1985"), V{});  // no birth context
  EXPECT_EQ(Scan("DOB: 1985-13-40"), V{});               // not a date
}

TEST(DetectorsTest, Secrets) {
  EXPECT_EQ(Scan("key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
            V{"api_key=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"});
  EXPECT_EQ(Scan("ANTHROPIC_API_KEY=sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
            V{"api_key=sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"});
  EXPECT_EQ(Scan("token ghp_1234567890abcdefghijABCDEFGHIJ123456"),
            V{"api_key=ghp_1234567890abcdefghijABCDEFGHIJ123456"});
  EXPECT_EQ(Scan("slack xoxb-123456789012-abcdefABCDEF"), V{"api_key=xoxb-123456789012-abcdefABCDEF"});
  EXPECT_EQ(Scan("AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"), V{"api_key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"});
  EXPECT_EQ(Scan("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc"), V{"api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc"});
  EXPECT_EQ(Scan("id AKIAIOSFODNN7EXAMPLE"), V{"aws_access_key=AKIAIOSFODNN7EXAMPLE"});
  EXPECT_EQ(Scan("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            V{"aws_secret_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"});
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
  EXPECT_EQ(Scan("Authorization: Bearer " + jwt), V{"jwt=" + jwt});
  EXPECT_EQ(Scan("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"),
            V{"private_key=-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"});
  EXPECT_EQ(Scan("db password: Xk9#mQ2$vL7p"), V{"secret=Xk9#mQ2$vL7p"});
  // Low-entropy or placeholder values next to the keyword.
  EXPECT_EQ(Scan("password: ********"), V{});
  EXPECT_EQ(Scan("password: changeme"), V{});
  EXPECT_EQ(Scan("token: ${GITHUB_TOKEN}"), V{});
  EXPECT_EQ(Scan("the password must be at least 12 characters"), V{});
  // A git hash near "aws" is not an AWS secret.
  EXPECT_EQ(Scan("aws deploy commit 9fceb02d0ae598e95dc970b74767f19372d61af8"), V{});
}

TEST(DetectorsTest, HardNegatives) {
  EXPECT_EQ(Scan("request 123e4567-e89b-12d3-a456-426614174000 failed"), V{});
  EXPECT_EQ(Scan("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), V{});
  EXPECT_EQ(Scan("<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\">"), V{});
  EXPECT_EQ(Scan("the price is 1,234,567.89 dollars"), V{});
}

TEST(DetectorsTest, CustomPatternsAndWords) {
  DetectorOptions o;
  o.patterns.push_back({"patient_id", "MRN[- ]?(\\d{7})", 0.9});
  o.word_lists.push_back({"codename", {"Bluebird", "Night Jar"}, false, 0.9});
  auto d = Detector::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const std::string text = "MRN-1234567 is in project bluebird and night jar";
  auto f = d->Scan(text);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].type, "patient_id");
  EXPECT_EQ(text.substr(f[0].begin, f[0].size()), "1234567");
  EXPECT_EQ(f[1].type, "codename");
  EXPECT_EQ(text.substr(f[2].begin, f[2].size()), "night jar");
}

TEST(DetectorsTest, BadCustomPatternIsAnError) {
  DetectorOptions o;
  o.patterns.push_back({"broken", "(unclosed", 0.9});
  auto d = Detector::Create(o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("broken"), std::string::npos);
  DetectorOptions o2;
  o2.enabled = {"email", "nonsense"};
  EXPECT_FALSE(Detector::Create(o2).ok());
}

TEST(DetectorsTest, OverlapLongestThenMostConfident) {
  std::vector<Finding> in = {{"a", "", 0, 5, 0.9}, {"b", "", 2, 10, 0.5}, {"c", "", 10, 12, 0.5},
                             {"d", "", 10, 12, 0.8}};
  auto out = ResolveOverlaps(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type, "b");
  EXPECT_EQ(out[1].type, "d");
}

}  // namespace
}  // namespace hearth::router

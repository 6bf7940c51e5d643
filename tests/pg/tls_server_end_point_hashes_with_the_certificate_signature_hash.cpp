// RFC 5929 section 4.1: tls-server-end-point hashes the server certificate
// with the hash of its signature algorithm, and with SHA-256 when that is
// MD5 or SHA-1. Certificates signed with SHA-256, SHA-384, SHA-512 and
// SHA-1 are made with the openssl command; the expected digests come from
// `openssl dgst` over the DER, independently of the code under test.
// Bytes that are not a certificate are refused by name.
// ctest-timeout: 60
#include <actorloop/pg/auth.hpp>
#include <actorloop/pg/error.hpp>

#include "pg_throwaway_server.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

namespace pg = actorloop::pg;
namespace fs = std::filesystem;

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string slurp(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

TEST_CASE("tls-server-end-point hashes with the certificate's signature hash") {
  std::string pattern = (fs::temp_directory_path() / "actorloop-pg-cb-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  fs::path dir = pattern;
  struct case_ {
    const char* sign;    // openssl's -<digest> for signing
    const char* expect;  // the digest RFC 5929 asks for
    std::size_t bytes;
  };
  for (auto each : {case_{"sha256", "sha256", 32}, case_{"sha384", "sha384", 48},
                    case_{"sha512", "sha512", 64}, case_{"sha1", "sha256", 32}}) {
    CAPTURE(each.sign);
    auto der = dir / (std::string{each.sign} + ".der");
    int status = 0;
    auto made = pg_throwaway::run_command(
      "cd " + dir.string() + " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -" + each.sign +
        " -subj /CN=end-point -keyout " + each.sign + ".key -outform DER -out " + der.string() +
        " 2>&1",
      status);
    REQUIRE_MESSAGE(status == 0, made);
    auto digest = pg_throwaway::run_command(
      "openssl dgst -" + std::string{each.expect} + " -r " + der.string() + " 2>&1", status);
    REQUIRE_MESSAGE(status == 0, digest);
    auto certificate = slurp(der);
    auto hash = pg::tls_server_end_point(std::as_bytes(std::span{certificate}));
    CHECK(hash.size() == each.bytes);
    CHECK(hex(hash) == digest.substr(0, digest.find(' ')));
  }
  std::string junk = "not a certificate";
  try {
    (void)pg::tls_server_end_point(std::as_bytes(std::span{junk}));
    FAIL("junk was taken for a certificate");
  } catch (const pg::error& problem) {
    CHECK(problem.code() == pg::errc::invalid_argument);
    CHECK(std::string{problem.what()}.find("is not a DER certificate") != std::string::npos);
  }
  fs::remove_all(dir);
}

// Bad TLS configuration fails when the context is built, with
// errc::bad_configuration and a message naming the item (and file) at fault
// plus OpenSSL's reason: text that is not PEM, a damaged certificate, a key
// that does not match its certificate, an unreadable or empty file, a server
// without a certificate, a key without a certificate, an unusable ALPN name.
// The same certificate and key from files build a working context.
#include <actorloop/netio/error.hpp>
#include <actorloop/netio/tls.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace netio = actorloop::netio;

namespace {

/// The message of the bad_configuration error that building `options`
/// throws; fails the test if it builds or throws anything else.
std::string configuration_failure(const netio::tls_options& options) {
  try {
    netio::tls_context accepted{options};
  } catch (const netio::error& failure) {
    CHECK(failure.code() == netio::errc::bad_configuration);
    return failure.what();
  }
  FAIL("the context accepted a bad configuration");
  return {};
}

/// Checks that `message` contains `part`, showing both when it does not.
void check_mentions(const std::string& message, const std::string& part) {
  CHECK_MESSAGE(message.find(part) != std::string::npos, "message: ", message,
                "\nexpected to mention: ", part);
}

/// A scratch directory, removed with everything in it at the end.
struct scratch_directory {
  std::filesystem::path path;
  scratch_directory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "actorloop-tls-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~scratch_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string write(const std::string& name, const std::string& content) const {
    auto file = path / name;
    std::ofstream{file} << content;
    return file.string();
  }
};

netio::tls_options server_with(const netio::certificate_and_key& pair) {
  netio::tls_options options;
  options.role = netio::tls_role::server;
  options.certificate_chain_pem = pair.certificate_pem;
  options.private_key_pem = pair.private_key_pem;
  return options;
}

} // namespace

TEST_CASE("a TLS context reports bad PEM and other bad configuration clearly") {
  auto one = netio::generate_self_signed_certificate("one.example", {"one.example"});
  auto two = netio::generate_self_signed_certificate("two.example", {"two.example"});
  scratch_directory scratch;

  SUBCASE("certificate text that is not PEM") {
    auto options = server_with(one);
    options.certificate_chain_pem = "this is not a certificate";
    auto message = configuration_failure(options);
    check_mentions(message, "the certificate chain (PEM text) holds no PEM certificate");
    check_mentions(message, "no start line"); // OpenSSL's reason
  }
  SUBCASE("a damaged certificate block") {
    auto options = server_with(one);
    auto damaged = one.certificate_pem;
    damaged[damaged.find('\n') + 10] = '!';
    options.certificate_chain_pem = one.certificate_pem + damaged;
    auto message = configuration_failure(options);
    check_mentions(message, "certificate 2 is damaged");
    check_mentions(message, "PEM routines: bad base64 decode"); // OpenSSL's reason
  }
  SUBCASE("key text that is not PEM") {
    auto options = server_with(one);
    options.private_key_pem = "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n";
    auto message = configuration_failure(options);
    check_mentions(message, "the private key (PEM text) is not a PEM private key");
  }
  SUBCASE("a key that belongs to another certificate") {
    auto options = server_with(one);
    options.private_key_pem = two.private_key_pem;
    auto message = configuration_failure(options);
    check_mentions(message, "does not match the certificate 'CN=one.example'");
    check_mentions(message, "key values mismatch"); // OpenSSL's reason
  }
  SUBCASE("a certificate file that does not exist") {
    netio::tls_options options;
    options.role = netio::tls_role::server;
    options.certificate_chain_file = (scratch.path / "missing-chain.pem").string();
    options.private_key_file = scratch.write("key.pem", one.private_key_pem);
    auto message = configuration_failure(options);
    check_mentions(message, "cannot read the certificate chain file '" + options.certificate_chain_file + "'");
    check_mentions(message, "No such file or directory");
  }
  SUBCASE("a certificate file that holds no certificate") {
    netio::tls_options options;
    options.role = netio::tls_role::server;
    options.certificate_chain_file = scratch.write("chain.pem", one.private_key_pem);
    options.private_key_file = scratch.write("key.pem", one.private_key_pem);
    auto message = configuration_failure(options);
    check_mentions(message, "the certificate chain file '" + options.certificate_chain_file +
                              "' holds no PEM certificate");
  }
  SUBCASE("an empty key file") {
    netio::tls_options options;
    options.role = netio::tls_role::server;
    options.certificate_chain_file = scratch.write("chain.pem", one.certificate_pem);
    options.private_key_file = scratch.write("empty-key.pem", "");
    auto message = configuration_failure(options);
    check_mentions(message, "the private key file '" + options.private_key_file + "' is empty");
  }
  SUBCASE("trusted CAs that are not PEM") {
    netio::tls_options options;
    options.trusted_ca_file = scratch.write("trusted.pem", "garbage\n");
    auto message = configuration_failure(options);
    check_mentions(message, "the trusted CAs file '" + options.trusted_ca_file + "' holds no PEM certificate");
  }
  SUBCASE("a server without a certificate") {
    netio::tls_options options;
    options.role = netio::tls_role::server;
    check_mentions(configuration_failure(options), "a server context needs a certificate chain");
  }
  SUBCASE("a key without a certificate, and a certificate without a key") {
    netio::tls_options options;
    options.private_key_pem = one.private_key_pem;
    check_mentions(configuration_failure(options), "has no certificate chain");
    options.private_key_pem.clear();
    options.certificate_chain_pem = one.certificate_pem;
    check_mentions(configuration_failure(options), "has no private key");
  }
  SUBCASE("an empty ALPN protocol name") {
    auto options = server_with(one);
    options.alpn = {"actorloop/1", ""};
    check_mentions(configuration_failure(options), "ALPN protocol name '' must be 1 to 255 bytes");
  }
  SUBCASE("the same certificate and key from files work") {
    netio::tls_options options;
    options.role = netio::tls_role::server;
    options.certificate_chain_file = scratch.write("chain.pem", one.certificate_pem);
    options.private_key_file = scratch.write("key.pem", one.private_key_pem);
    options.trusted_ca_file = scratch.write("trusted.pem", two.certificate_pem);
    options.verify_peer = true;
    netio::tls_context context{options};
    CHECK(context.role() == netio::tls_role::server);
    CHECK(context.verifies_peer());
  }
}

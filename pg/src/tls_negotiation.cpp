// TLS for a pg connection, as libpq does it: SSLRequest, exactly one byte of
// answer ('S' or 'N'), then netio's tls_stream over the same socket. A server
// that sends anything after its one-byte answer, before the TLS handshake,
// is refused: those bytes were not encrypted and could have been injected
// by someone in the middle (the buffered-data injection class of bug,
// CVE-2021-23222). The handshake and every record after it are netio's
// tls_stream; nothing of TLS is reimplemented here.
#include "connection_link.hpp"

#include <actorloop/netio/error.hpp>
#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace actorloop::pg::detail {

namespace {

std::string to_text(ssl_mode mode) {
  switch (mode) {
    case ssl_mode::disable: return "disable";
    case ssl_mode::allow: return "allow";
    case ssl_mode::prefer: return "prefer";
    case ssl_mode::require: return "require";
    case ssl_mode::verify_ca: return "verify-ca";
    case ssl_mode::verify_full: return "verify-full";
  }
  return "?";
}

/// The socket as a byte stream for tls_stream, without owning it: the link
/// keeps the descriptor (epoll registration, close) and drops the TLS
/// session before closing it.
class borrowed_socket final : public netio::byte_stream {
public:
  explicit borrowed_socket(int fd) noexcept : socket_(fd) {}
  ~borrowed_socket() override { socket_.release(); }
  borrowed_socket(const borrowed_socket&) = delete;
  borrowed_socket& operator=(const borrowed_socket&) = delete;
  std::size_t read_some(std::span<std::byte> buffer, std::error_code& error) override {
    return socket_.read_some(buffer, error);
  }
  std::size_t write_some(std::span<const std::byte> data, std::error_code& error) override {
    return socket_.write_some(data, error);
  }
  void shutdown_send() noexcept override { socket_.shutdown_send(); }

private:
  netio::detail::socket_stream socket_;
};

/// ~/.postgresql/<name> (libpq's default place for certificates and keys).
std::string default_file(const char* name) {
  const char* home = std::getenv("HOME");
  if (!home || !*home)
    return {};
  return std::string{home} + "/.postgresql/" + name;
}

bool file_exists(const std::string& path) {
  std::error_code ignored;
  return !path.empty() && std::filesystem::exists(path, ignored);
}

} // namespace

bool link::prepare_tls() {
  auto& options = pg_->options;
  tls_context_.reset();
  if (options.sslmode == ssl_mode::disable)
    return true;
  auto refuse = [&](const std::string& why) {
    fail_now(errc::bad_connection_option, "connect: " + why);
    return false;
  };
  bool verify = options.sslmode == ssl_mode::verify_ca || options.sslmode == ssl_mode::verify_full;
  netio::tls_options settings;
  settings.role = netio::tls_role::client;
  // libpq: sslrootcert, else ~/.postgresql/root.crt when it exists; with a
  // root certificate the chain is verified in every sslmode (require then
  // behaves as verify-ca); verify-ca and verify-full demand one.
  std::string root = options.sslrootcert;
  if (root.empty() && file_exists(default_file("root.crt")))
    root = default_file("root.crt");
  if (root == "system") {
    settings.verify_peer = true; // the system's trusted CAs
  } else if (!root.empty()) {
    if (!file_exists(root))
      return refuse("root certificate file \"" + root + "\" does not exist (sslrootcert)");
    settings.trusted_ca_file = root;
    settings.verify_peer = true;
  } else if (verify) {
    return refuse("sslmode=" + to_text(options.sslmode) +
                  " needs a root certificate to verify the server with: set sslrootcert (a "
                  "file, or \"system\" for the system's trusted CAs) or create " +
                  default_file("root.crt") + ", or use sslmode=require");
  } else {
    settings.verify_peer = false;
  }
  // Client certificate: sslcert/sslkey, else libpq's default files when the
  // certificate exists. A named file that is missing is an error here
  // (libpq goes on without a certificate; the server's refusal is less clear).
  std::string certificate = options.sslcert;
  std::string key = options.sslkey;
  if (certificate.empty() && file_exists(default_file("postgresql.crt")))
    certificate = default_file("postgresql.crt");
  if (!certificate.empty()) {
    if (key.empty())
      key = default_file("postgresql.key");
    if (!file_exists(certificate))
      return refuse("certificate file \"" + certificate + "\" does not exist (sslcert)");
    if (!file_exists(key))
      return refuse("private key file \"" + key + "\" does not exist (sslkey)");
    struct stat info {};
    if (::stat(key.c_str(), &info) != 0)
      return refuse("cannot read private key file \"" + key + "\": " + std::strerror(errno));
    // libpq's rule for the key's permissions.
    bool owned_by_root = info.st_uid == 0;
    if (!S_ISREG(info.st_mode))
      return refuse("private key file \"" + key + "\" is not a regular file");
    if ((!owned_by_root && (info.st_mode & 0077) != 0) ||
        (owned_by_root && (info.st_mode & 0037) != 0))
      return refuse("private key file \"" + key +
                    "\" has group or world access; file must have permissions u=rw (0600) or "
                    "less if owned by the current user, or permissions u=rw,g=r (0640) or less "
                    "if owned by root");
    settings.certificate_chain_file = certificate;
    settings.private_key_file = key;
  } else if (!key.empty()) {
    return refuse("sslkey \"" + key + "\" is given without sslcert");
  }
  try {
    tls_context_.emplace(settings);
  } catch (const std::exception& problem) {
    return refuse(problem.what());
  }
  return true;
}

bool link::wants_tls_first() const noexcept {
  // libpq sends no SSLRequest over a Unix-domain socket, in any sslmode.
  if (address_index_ < addresses_.size() && addresses_[address_index_].family() == AF_UNIX)
    return false;
  auto mode = pg_->options.sslmode;
  return mode != ssl_mode::disable && mode != ssl_mode::allow;
}

void link::begin_session() {
  awaiting_callback_ = false;
  ++session_attempt_;
  if (!tls_this_attempt_ || !tls_context_) {
    send_startup();
    return;
  }
  phase_ = phase::tls_answer;
  frontend::ssl_request(output_);
  update_interest();
  flush_output();
}

void link::read_tls_answer() {
  // Exactly one byte: whatever follows it is not ours to take before TLS.
  char answer = 0;
  ssize_t got = 0;
  do {
    got = ::recv(fd_, &answer, 1, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (got < 0) {
    fail(netio::detail::socket_error(errno),
         where() + ": reading the answer to SSLRequest failed: " + std::strerror(errno));
    return;
  }
  if (got == 0) {
    fail(errc::connection_failed,
         where() + ": the server closed the connection instead of answering SSLRequest");
    return;
  }
  if (answer != 'S' && answer != 'N') {
    fail(errc::connection_failed, where() + ": received invalid response to SSL negotiation: '" +
                                    std::string(1, answer) + "' (byte " +
                                    std::to_string(static_cast<unsigned char>(answer)) + ")");
    return;
  }
  char extra[256];
  ssize_t more = 0;
  do {
    more = ::recv(fd_, extra, sizeof extra, MSG_PEEK | MSG_DONTWAIT);
  } while (more < 0 && errno == EINTR);
  if (more > 0) {
    // Not another address or a plain retry: this path is not to be trusted.
    fail_now(errc::connection_failed,
             "connect to " + where() + " failed: received unencrypted data after the SSL response ('" +
               std::string(1, answer) + "' and then " + std::to_string(more) +
               (more == static_cast<ssize_t>(sizeof extra) ? " or more" : "") +
               " bytes before the TLS handshake); refusing the connection, since bytes sent "
               "before TLS could have been injected by a party in the middle (CVE-2021-23222)");
    return;
  }
  if (answer == 'N') {
    auto mode = pg_->options.sslmode;
    if (mode == ssl_mode::require || mode == ssl_mode::verify_ca || mode == ssl_mode::verify_full) {
      fail(errc::connection_failed, where() + ": server does not support SSL, but SSL was required (sslmode=" +
                                      to_text(mode) + ")");
      return;
    }
    tls_this_attempt_ = false; // already plain: no second, plain, try under prefer
    send_startup();            // prefer: plain on the same connection, as libpq
    return;
  }
  auto& options = pg_->options;
  auto& host = options.hosts[host_index_];
  try {
    tls_ = std::make_unique<netio::tls_stream>(
      *tls_context_, std::make_unique<borrowed_socket>(fd_),
      netio::tls_server_name{host.host, options.sslsni, options.sslmode == ssl_mode::verify_full});
  } catch (const std::exception& problem) {
    fail(errc::connection_failed, where() + ": " + problem.what());
    return;
  }
  phase_ = phase::tls_handshake;
  continue_tls_handshake();
}

void link::continue_tls_handshake() {
  std::error_code problem;
  if (tls_->handshake(problem)) {
    tls_established();
    return;
  }
  if (problem) {
    auto detail = tls_->last_error_detail().empty() ? problem.message() : tls_->last_error_detail();
    attempt_failed(problem, where() + ": " + detail, retry::other_encryption);
    return;
  }
  update_interest();
}

bool link::tls_wants_write() const noexcept {
  return tls_ && tls_->has_pending_output();
}

void link::tls_established() {
  auto der = tls_->peer_certificate_der();
  end_point_hash_.clear();
  if (!der.empty()) {
    try {
      end_point_hash_ = tls_server_end_point(der);
    } catch (const error&) {
      // No binding for this signature algorithm: SCRAM then says 'y'.
    }
  }
  auto callback = copy_installed<&callbacks::security_session>(*core_, *pg_).callback();
  if (!callback) {
    send_startup();
    return;
  }
  auto& options = pg_->options;
  security_session_info info;
  info.protocol = tls_->protocol_version();
  info.cipher = tls_->cipher();
  info.peer_subject = tls_->peer_certificate_subject();
  info.peer_fingerprint_sha256 = tls_->peer_certificate_fingerprint_sha256();
  info.verification_error = tls_->peer_verification_error();
  info.chain_verified = tls_context_->verifies_peer() && info.verification_error.empty();
  info.host_name_checked = options.sslmode == ssl_mode::verify_full;
  info.mode = options.sslmode;
  info.host = options.hosts[host_index_].host;
  info.channel_binding_available = !end_point_hash_.empty();
  phase_ = phase::tls_security;
  ask_callback(
    "security-session", [callback, info](connection& target) {
      verdict answer;
      answer.ok = callback(target, info) == netio::callback_result::succeed;
      if (!answer.ok)
        answer.why = "the security-session callback rejected the TLS session";
      return answer;
    },
    [](link& self, verdict answer) {
      if (!answer.ok) {
        self.attempt_failed(errc::connection_failed, self.where() + ": " + answer.why,
                            retry::next_address);
        return;
      }
      self.send_startup();
    });
}

std::size_t link::receive(std::span<std::byte> buffer, std::error_code& error,
                          std::string& detail) {
  if (tls_) {
    auto got = tls_->read_some(buffer, error);
    if (error)
      detail = tls_->last_error_detail().empty() ? error.message() : tls_->last_error_detail();
    return got;
  }
  for (;;) {
    auto got = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (got > 0)
      return static_cast<std::size_t>(got);
    if (got == 0) {
      error = netio::errc::connection_closed;
      detail = "the server closed the connection";
      return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 0;
    if (errno == EINTR)
      continue;
    error = netio::detail::socket_error(errno);
    detail = std::strerror(errno);
    return 0;
  }
}

bool link::transmit(std::error_code& error, std::string& detail) {
  while (output_start_ < output_.size()) {
    std::size_t sent = 0;
    if (tls_) {
      sent = tls_->write_some(
        std::span<const std::byte>{output_.data() + output_start_, output_.size() - output_start_},
        error);
      if (error) {
        detail = tls_->last_error_detail().empty() ? error.message() : tls_->last_error_detail();
        return false;
      }
    } else {
      auto n = ::send(fd_, output_.data() + output_start_, output_.size() - output_start_,
                      MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          error = netio::detail::socket_error(errno);
          detail = std::strerror(errno);
          return false;
        }
        n = 0;
      }
      sent = static_cast<std::size_t>(n);
    }
    if (sent == 0)
      break;
    output_start_ += sent;
  }
  if (tls_) {
    if ((error = tls_->flush())) {
      detail = tls_->last_error_detail().empty() ? error.message() : tls_->last_error_detail();
      return false;
    }
  }
  return true;
}

} // namespace actorloop::pg::detail

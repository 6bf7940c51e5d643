// At the open-file limit (EMFILE) the server neither spins nor leaves new
// clients hanging: it takes each connection it cannot keep off the backlog
// and closes it at once (the client sees the close), counts it in its
// statistics, and serves new clients again as soon as descriptors free up.
// The test lowers RLIMIT_NOFILE of its own process and restores it
// afterwards; it checks nothing while the limit is low (even the
// sanitizers' runtime needs descriptors to report). Server and clients
// share the process, so the clients' sockets are all opened before the
// limit drops and moved above it: only the server competes for the
// descriptors under the limit, and no client ever fails for want of one.
// Under UBSan, the first vptr check of each (vtable, type) pair probes the
// object's memory through a pipe, which fails at the limit and would be
// reported as an invalid vptr: one full cycle (login, close) before the
// limit drops makes every later check of the same pairs a cache hit.
// ctest-timeout: 60
#include "server_test_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

using namespace netio_test;

namespace {

std::size_t open_descriptors() {
  std::size_t count = 0;
  DIR* directory = ::opendir("/proc/self/fd");
  REQUIRE(directory != nullptr);
  while (auto* entry = ::readdir(directory))
    if (entry->d_name[0] != '.')
      ++count;
  ::closedir(directory);
  return count - 1; // the directory's own descriptor
}

/// Lowers the soft descriptor limit for its lifetime.
class descriptor_limit {
public:
  explicit descriptor_limit(rlim_t soft) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  ~descriptor_limit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

private:
  rlimit saved_{};
};

enum class login_outcome { served, dropped, unanswered, no_descriptor, failed };

/// Client sockets opened in advance, numbered at or above `floor`, so
/// they take none of the descriptors below a limit lower than `floor`.
class client_sockets {
public:
  client_sockets(int floor, std::size_t count) {
    rlimit current{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &current) == 0);
    REQUIRE(current.rlim_cur > static_cast<rlim_t>(floor) + count);
    for (std::size_t index = 0; index < count; ++index) {
      int low = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      REQUIRE(low >= 0);
      int high = ::fcntl(low, F_DUPFD_CLOEXEC, floor);
      ::close(low);
      REQUIRE(high >= floor);
      spare_.push_back(high);
    }
  }
  ~client_sockets() {
    for (int fd : spare_)
      ::close(fd);
  }
  client_sockets(const client_sockets&) = delete;
  client_sockets& operator=(const client_sockets&) = delete;

  /// The next unused socket, or -1 when all are used.
  int take() {
    if (spare_.empty())
      return -1;
    int fd = spare_.back();
    spare_.pop_back();
    return fd;
  }

private:
  std::vector<int> spare_;
};

/// Connects a raw client and logs in; `fd` keeps the socket if served.
login_outcome try_login(client_sockets& sockets, const netio::endpoint& where, const std::vector<std::byte>& hello,
                        int& fd) {
  fd = sockets.take();
  if (fd < 0)
    return login_outcome::no_descriptor;
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(where.port);
  ::inet_pton(AF_INET, where.host.c_str(), &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    fd = -1;
    return login_outcome::failed;
  }
  (void)::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
  std::byte scratch[512];
  auto got = ::recv(fd, scratch, sizeof scratch, 0);
  if (got > 0)
    return login_outcome::served;
  auto unanswered = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  ::close(fd);
  fd = -1;
  return unanswered ? login_outcome::unanswered : login_outcome::dropped;
}

} // namespace

TEST_CASE("at EMFILE the server drops what it cannot keep, says so, and recovers") {
  server_fixture fixture{{}, 1};
  std::vector<std::byte> hello;
  REQUIRE_FALSE(netio::make_framed_codec()->encode({0, netio::hello{"raw", "raw"}}, hello));
  std::vector<int> served;
  std::size_t dropped = 0;
  std::vector<login_outcome> unexpected;
  std::uint64_t events_at_limit = 0;
  std::uint64_t events_after_drops = 0;
  netio::server_statistics at_limit;
  bool closes_seen = false;
  login_outcome after_recovery = login_outcome::failed;
  int recovered_fd = -1;
  {
    // The warm-up cycle (see the top of the file).
    int fd = -1;
    client_sockets one{0, 1};
    REQUIRE(try_login(one, fixture.address(), hello, fd) == login_outcome::served);
    ::close(fd);
    REQUIRE(fixture.server->wait_for_statistics(
      [](const netio::server_statistics& now) { return now.sessions_open == 0; }, 20s));
  }
  auto limit_value = static_cast<rlim_t>(open_descriptors() + 24);
  client_sockets sockets{static_cast<int>(limit_value) + 64, 128};
  {
    descriptor_limit limit{limit_value};
    for (int attempt = 0; attempt < 200 && dropped < 3 && unexpected.empty(); ++attempt) {
      int fd = -1;
      auto outcome = try_login(sockets, fixture.address(), hello, fd);
      if (outcome == login_outcome::served) {
        served.push_back(fd);
      } else if (outcome == login_outcome::dropped) {
        if (dropped == 0)
          events_at_limit = netio::io_worker_statistics(fixture.engine).at(0).readiness_events;
        ++dropped;
      } else {
        unexpected.push_back(outcome); // a client left hanging, or the test ran out first
      }
    }
    events_after_drops = netio::io_worker_statistics(fixture.engine).at(0).readiness_events;
    at_limit = fixture.server->statistics();
    // Descriptors free up: the server serves new clients again.
    if (served.size() >= 4 && unexpected.empty()) {
      for (int index = 0; index < 4; ++index) {
        ::close(served.back());
        served.pop_back();
      }
      closes_seen = fixture.server->wait_for_statistics(
          [&](const netio::server_statistics& now) { return now.sessions_open == at_limit.sessions_open - 4; }, 20s);
      after_recovery = try_login(sockets, fixture.address(), hello, recovered_fd);
    }
  }
  // The limit is restored: check.
  CHECK(unexpected.empty());
  CHECK(dropped == 3);
  CHECK(served.size() >= 1);
  CHECK(at_limit.connections_dropped_at_descriptor_limit >= 2);
  // No spinning at the limit: a few events per dropped connection.
  CAPTURE(events_after_drops - events_at_limit);
  CHECK(events_after_drops - events_at_limit < 100);
  CHECK(closes_seen);
  CHECK(after_recovery == login_outcome::served);
  if (recovered_fd >= 0)
    served.push_back(recovered_fd);
  for (int fd : served)
    ::close(fd);
  CHECK(fixture.server->wait_for_statistics([&](const netio::server_statistics& now) { return now.sessions_open == 0; }, 20s));
}

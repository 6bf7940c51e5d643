// A full disk, simulated with RLIMIT_FSIZE: a write that starts at the limit
// fails with EFBIG, one that crosses it is short (as the kernel did it), and
// nothing is retried or hidden. SIGXFSZ is ignored so the process survives.
// Both backends.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <csignal>
#include <fcntl.h>
#include <sys/resource.h>

using namespace file_test;

namespace {

/// Lowers the soft file size limit for the test's lifetime.
class size_limit {
public:
  explicit size_limit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lowered) == 0);
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
  }
  size_limit(const size_limit&) = delete;
  size_limit& operator=(const size_limit&) = delete;
  ~size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_handler_);
  }

private:
  rlimit saved_{};
  void (*previous_handler_)(int) = SIG_DFL;
};

} // namespace

TEST_CASE("writes beyond the file size limit fail with EFBIG or are short") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    scratch_dir dir;
    auto engine = engine_with(backend);
    auto file = runtime::file::open(*engine, dir.file("limited"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    std::vector<std::byte> block(4096, std::byte{'x'});
    // The limit applies to the I/O threads and io_uring's workers too: they
    // belong to this process.
    size_limit limit{8192};

    auto inside = file.write(0, block);
    auto inside_result = finish(inside);
    CHECK_FALSE(inside_result.error);
    CHECK(inside_result.bytes == 4096);

    auto crossing = file.write(6144, block);
    auto crossing_result = finish(crossing);
    CHECK_FALSE(crossing_result.error);
    CHECK(crossing_result.bytes == 2048); // short: up to the limit

    auto beyond = file.write(8192, block);
    auto beyond_result = finish(beyond);
    CHECK(beyond_result.error == std::errc::file_too_large);
    CHECK(beyond_result.bytes == 0);
    CHECK(file.size() == 8192);
  }
}

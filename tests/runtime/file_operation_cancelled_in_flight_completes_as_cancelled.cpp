// Cancelling an operation in flight: it completes once, with
// operation_canceled, and transfers nothing. A read on an empty pipe stays in
// flight until cancelled; with the thread pool, whose four threads are then
// held by such reads, a fifth operation waits in its queue and the cancel
// takes it out. Cancelling a completed operation changes nothing.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

using namespace file_test;

namespace {

/// The blocking I/O pool's size (file.hpp: "four blocking I/O threads").
constexpr std::size_t pool_threads = 4;

struct pipe_ends {
  pipe_ends() { REQUIRE(::pipe2(ends, O_CLOEXEC) == 0); }
  ~pipe_ends() {
    if (ends[1] >= 0)
      ::close(ends[1]);
  }
  int ends[2] = {-1, -1}; // the read end goes to a file, which closes it
};

} // namespace

TEST_CASE("an operation cancelled in flight completes as cancelled") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    auto engine = engine_with(backend);
    pipe_ends pipe;
    auto reader = runtime::file::adopt(*engine, pipe.ends[0], "pipe");
    bool threads = std::string{backend} == "threads";

    // With the pool, hold its threads in reads that wait for data.
    std::vector<std::array<std::byte, 1>> holder_buffers(threads ? pool_threads : 0);
    std::vector<runtime::file_operation> holders;
    for (auto& buffer : holder_buffers)
      holders.push_back(reader.read(0, buffer));

    std::array<std::byte, 8> buffer{};
    auto op = reader.read(0, buffer);
    CHECK_FALSE(op.done());
    op.cancel();
    auto result = finish(op);
    CHECK(result.error == std::errc::operation_canceled);
    CHECK(result.bytes == 0);
    op.cancel(); // no effect once done
    CHECK(op.error() == std::errc::operation_canceled);

    // Release the holders: one byte each.
    for (std::size_t index = 0; index < holders.size(); ++index)
      REQUIRE(::write(pipe.ends[1], "h", 1) == 1);
    for (auto& holder : holders) {
      auto held = finish(holder);
      CHECK_FALSE(held.error);
      CHECK(held.bytes == 1);
    }

    // The cancelled read took nothing: the next byte goes to a new read.
    REQUIRE(::write(pipe.ends[1], "z", 1) == 1);
    auto next = reader.read(0, buffer);
    auto next_result = finish(next);
    CHECK(next_result.bytes == 1);
    CHECK(buffer[0] == std::byte{'z'});
  }
}

// Dropping the last handle of an operation in flight cancels it and returns
// only once the kernel (or the I/O thread) has let go of the buffer, so the
// buffer may be freed right away; the dropped read never consumes data that
// arrives later. Copies of the handle keep the operation alive, and a wait
// set holding it does not count as a handle. Both backends.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <actorloop/runtime/wait_set.hpp>

#include <fcntl.h>
#include <unistd.h>

using namespace file_test;

namespace {

constexpr std::size_t pool_threads = 4; // file.hpp: "four blocking I/O threads"

} // namespace

TEST_CASE("dropping an operation in flight waits for the kernel to let go of the buffer") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    auto engine = engine_with(backend);
    int ends[2];
    REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    auto reader = runtime::file::adopt(*engine, ends[0], "pipe");
    bool threads = std::string{backend} == "threads";

    std::vector<std::array<std::byte, 1>> holder_buffers(threads ? pool_threads : 0);
    std::vector<runtime::file_operation> holders;
    for (auto& buffer : holder_buffers)
      holders.push_back(reader.read(0, buffer));

    runtime::wait_set set;
    {
      auto buffer = std::make_unique<std::array<std::byte, 64>>();
      auto op = reader.read(0, *buffer);
      set.add(op, 1);
      runtime::file_operation copy = op;
      op = runtime::file_operation{};
      CHECK_FALSE(copy.done()); // the copy still holds it
      // `copy` goes first, then the buffer: the destructor must have
      // finished with the kernel by then (ASan would see a late write).
    }
    CHECK(reader.in_flight() == holders.size());

    for (std::size_t index = 0; index < holders.size(); ++index)
      REQUIRE(::write(ends[1], "h", 1) == 1);
    for (auto& holder : holders)
      CHECK(finish(holder).bytes == 1);

    REQUIRE(::write(ends[1], "late", 4) == 4);
    std::array<std::byte, 8> buffer{};
    auto next = reader.read(0, buffer);
    auto next_result = finish(next);
    CHECK(next_result.bytes == 4);
    CHECK(text_of(std::span{buffer}.first(4)) == "late");
    // The wait set still holds the dropped operation's waitable: it is done
    // (cancelled), so the set reports it, once per wait as it stays ready.
    auto fired = set.wait_for(std::chrono::seconds(5));
    CHECK(fired.status == runtime::wait_status::fired);
    CHECK(fired.cookie == 1u);
    ::close(ends[1]);
  }
}

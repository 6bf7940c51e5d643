// Closing a file while operations are in flight: each of them still
// completes exactly once (with its bytes, or cancelled), new ones fail with
// `closed`, and the descriptor is closed only after the last completion.
// Both backends.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

using namespace file_test;

TEST_CASE("closing a file with operations in flight completes every one") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    scratch_dir dir;
    auto engine = engine_with(backend);
    auto path = dir.file("busy");
    constexpr std::size_t block = 4096;
    constexpr std::size_t count = 256;
    {
      auto out = runtime::file::open(*engine, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      std::vector<std::byte> filler(block * count, std::byte{7});
      auto write = out.write(0, filler);
      REQUIRE(finish(write).bytes == filler.size());
    }
    auto file = runtime::file::open(*engine, path, O_RDONLY);
    int descriptor = file.native_handle();
    REQUIRE(descriptor >= 0);

    std::vector<std::vector<std::byte>> buffers(count, std::vector<std::byte>(block));
    std::vector<runtime::file_operation> operations;
    for (std::size_t index = 0; index < count; ++index)
      operations.push_back(file.read(index * block, buffers[index]));
    file.close();
    CHECK_FALSE(file.is_open());
    CHECK(file.native_handle() == -1);
    file.close(); // idempotent

    auto late = file.read(0, buffers[0]);
    CHECK(late.done());
    CHECK(late.error() == runtime::errc::closed);

    std::size_t full = 0;
    std::size_t cancelled = 0;
    for (auto& op : operations) {
      auto result = finish(op);
      if (!result.error) {
        CHECK(result.bytes == block);
        ++full;
      } else {
        CHECK(result.error == std::errc::operation_canceled);
        ++cancelled;
      }
    }
    CHECK(full + cancelled == count);
    // Every operation is complete, so the descriptor is closed by now.
    CHECK(::fcntl(descriptor, F_GETFD) == -1);
    CHECK(file.in_flight() == 0);
  }
}

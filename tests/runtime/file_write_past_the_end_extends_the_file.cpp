// A write past the end extends the file (the gap reads as zeros); writes and
// the vectored write land at their offsets; fsync completes. Both backends.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <fcntl.h>

using namespace file_test;

TEST_CASE("a write past the end extends the file and fsync completes") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    scratch_dir dir;
    auto engine = engine_with(backend);
    auto file = runtime::file::open(*engine, dir.file("grows"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(file.size() == 0);

    auto head = bytes_of("head");
    auto first = file.write(0, head);
    CHECK(finish(first).bytes == 4);

    auto tail = bytes_of("tail");
    auto far = file.write(100, tail);
    auto far_result = finish(far);
    CHECK_FALSE(far_result.error);
    CHECK(far_result.bytes == 4);
    CHECK(file.size() == 104);

    auto left = bytes_of("ab");
    auto right = bytes_of("cd");
    std::array<std::span<const std::byte>, 2> pieces{left, right};
    auto vectored = file.writev(104, pieces);
    CHECK(finish(vectored).bytes == 4);
    CHECK(file.size() == 108);

    auto sync = file.fsync();
    auto sync_result = finish(sync);
    CHECK_FALSE(sync_result.error);
    CHECK(sync_result.bytes == 0);
    auto data_sync = file.fsync(true);
    CHECK_FALSE(finish(data_sync).error);
    CHECK(data_sync.op() == runtime::file_op::fdatasync);

    std::vector<std::byte> back(200);
    auto read = file.read(0, back);
    auto read_result = finish(read);
    REQUIRE(read_result.bytes == 108);
    CHECK(text_of(std::span{back}.first(4)) == "head");
    for (std::size_t index = 4; index < 100; ++index)
      CHECK(back[index] == std::byte{0});
    CHECK(text_of(std::span{back}.subspan(100, 8)) == "tailabcd");
    CHECK(engine->get_scheduler("default").stats().file_io == std::string{backend});
  }
}

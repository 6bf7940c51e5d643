// A read that reaches the end of the file is short and says so; a read at or
// past the end gives zero bytes (end of file), never an error. Both backends.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <fcntl.h>

using namespace file_test;

TEST_CASE("reads at and past the end of a file are short, then empty") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    scratch_dir dir;
    auto engine = engine_with(backend);
    auto path = dir.file("ten-bytes");
    {
      auto out = runtime::file::open(*engine, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      auto data = bytes_of("0123456789");
      auto write = out.write(0, data);
      auto written = finish(write);
      REQUIRE_FALSE(written.error);
      CHECK(written.bytes == 10);
    }
    auto in = runtime::file::open(*engine, path, O_RDONLY);
    CHECK(in.size() == 10);

    std::vector<std::byte> buffer(64);
    auto short_read = in.read(6, buffer);
    auto got = finish(short_read);
    CHECK_FALSE(got.error);
    CHECK(got.bytes == 4); // reported as it happened: 4 of 64
    CHECK(text_of(std::span{buffer}.first(got.bytes)) == "6789");
    CHECK(short_read.requested() == 64);
    CHECK(short_read.offset() == 6);
    CHECK(short_read.op() == runtime::file_op::read);

    auto at_end = in.read(10, buffer);
    auto end_result = finish(at_end);
    CHECK_FALSE(end_result.error);
    CHECK(end_result.bytes == 0);

    auto past_end = in.read(1u << 30, buffer);
    auto past_result = finish(past_end);
    CHECK_FALSE(past_result.error);
    CHECK(past_result.bytes == 0);

    // The vectored form fills its buffers in order and stops at the end too.
    std::vector<std::byte> first(3), second(5);
    std::array<std::span<std::byte>, 2> pieces{first, second};
    auto vectored = in.readv(4, pieces);
    auto vectored_result = finish(vectored);
    CHECK_FALSE(vectored_result.error);
    CHECK(vectored_result.bytes == 6);
    CHECK(text_of(first) == "456");
    CHECK(text_of(std::span{second}.first(3)) == "789");

    // A completed operation stays ready (level-triggered) and keeps its result.
    CHECK(short_read.ready());
    CHECK(short_read.try_wait());
    CHECK(short_read.bytes() == 4);
    CHECK(short_read.kind() == runtime::waitable_kind::file_operation);
  }
}

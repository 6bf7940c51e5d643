// A bad file descriptor is reported on the operation as EBADF: writing to a
// file opened read-only, any operation on an adopted descriptor that is not
// open. Opening a missing path throws an error naming the path. Both backends.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

using namespace file_test;

TEST_CASE("a bad descriptor gives EBADF and a missing path names itself") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    scratch_dir dir;
    auto engine = engine_with(backend);
    auto path = dir.file("read-only");
    {
      auto create = runtime::file::open(*engine, path, O_WRONLY | O_CREAT, 0600);
    }
    auto read_only = runtime::file::open(*engine, path, O_RDONLY);
    auto data = bytes_of("nope");
    auto write = read_only.write(0, data);
    auto write_result = finish(write);
    CHECK(write_result.error == std::errc::bad_file_descriptor);
    CHECK(write_result.bytes == 0);

    // A descriptor number that is not open in this process (and, being far
    // above the usual limit, never will be while the file closes it).
    constexpr int unused = 900000;
    REQUIRE(::fcntl(unused, F_GETFD) == -1);
    auto stray = runtime::file::adopt(*engine, unused, "stray");
    std::vector<std::byte> buffer(16);
    auto read = stray.read(0, buffer);
    CHECK(finish(read).error == std::errc::bad_file_descriptor);
    auto negative = runtime::file::adopt(*engine, -1, "negative");
    auto sync = negative.fsync();
    CHECK(finish(sync).error == std::errc::bad_file_descriptor);

    auto missing = dir.file("missing/file");
    try {
      auto never = runtime::file::open(*engine, missing, O_RDONLY);
      FAIL("opening a missing path succeeded");
    } catch (const runtime::error& failure) {
      CHECK(failure.code() == std::errc::no_such_file_or_directory);
      CHECK(std::string{failure.what()}.find(missing) != std::string::npos);
    }
    // An empty handle is refused, not dereferenced.
    runtime::file empty;
    CHECK_THROWS_AS((void)empty.read(0, buffer), runtime::error);
  }
}

// --actorloop.file-io: "uring" and "threads" force a backend and the
// scheduler statistics say which runs; "auto" picks one; anything else is
// refused when the engine starts, naming the value.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <fcntl.h>

using namespace file_test;

TEST_CASE("the file-io option selects the backend and refuses unknown values") {
  scratch_dir dir;
  for (const char* backend : {"uring", "threads", "auto"}) {
    CAPTURE(backend);
    auto engine = engine_with(backend);
    CHECK(engine->get_scheduler("default").stats().file_io.empty()); // before any file use
    auto file = runtime::file::open(*engine, dir.file(std::string{"f-"} + backend),
                                    O_RDWR | O_CREAT | O_TRUNC, 0600);
    auto sync = file.fsync();
    CHECK_FALSE(finish(sync).error);
    auto used = engine->get_scheduler("default").stats().file_io;
    if (std::string{backend} == "auto")
      CHECK((used == "uring" || used == "threads"));
    else
      CHECK(used == backend);
  }
  try {
    auto engine = engine_with("posix-aio");
    FAIL("an unknown backend was accepted");
  } catch (const runtime::error& failure) {
    CHECK(failure.code() == runtime::errc::bad_configuration);
    CHECK(std::string{failure.what()}.find("posix-aio") != std::string::npos);
  }
}

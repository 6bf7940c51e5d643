// detail::create_polled_scheduler makes only I/O schedulers (a worker that
// parks in an idle poller); engine::create_scheduler makes the ordinary ones.
// Without a poller it refuses, naming the problem, and creates nothing.
#include <actorloop/runtime/detail/group_access.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/error.hpp>

#include <doctest/doctest.h>

namespace runtime = actorloop::runtime;

TEST_CASE("create_polled_scheduler without an idle poller is refused and creates no scheduler") {
  runtime::engine_options options;
  options.default_threads = 1;
  runtime::engine engine{options};
  runtime::scheduler_options io;
  io.name = "io-without-poller";
  io.threads = 1;
  std::error_code code;
  std::string text;
  try {
    (void)runtime::detail::create_polled_scheduler(engine, io, nullptr);
  } catch (const runtime::error& failure) {
    code = failure.code();
    text = failure.what();
  }
  CHECK(code == runtime::errc::invalid_argument);
  CHECK(text.find("idle poller") != std::string::npos);
  CHECK_FALSE(engine.find_scheduler("io-without-poller").has_value());
  CHECK(engine.schedulers().size() == 1);
}

// An applet starts overlapped reads and registers them; each completion
// dispatches exactly one postselect, on a thread of the applet's own
// scheduler (with io_uring, that scheduler's own ring is used and reaped by
// its workers). Both backends.
// Model: Open Files of_core documentation (overlapped handles registered by
// an app in preselect).
// ctest-timeout: 60
#include "applet_test_support.hpp"

#include "../runtime/file_test_support.hpp"

#include <actorloop/runtime/file.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>

using namespace applet_test;

namespace {

constexpr std::size_t block = 4096;
constexpr std::size_t blocks = 64;
constexpr std::size_t in_flight = 4;

std::byte pattern(std::size_t index) {
  return static_cast<std::byte>((index * 13 + index / block) & 0xff);
}

struct reader_state {
  runtime::file file;
  std::vector<std::vector<std::byte>> buffers =
    std::vector<std::vector<std::byte>>(in_flight, std::vector<std::byte>(block));
  std::vector<runtime::file_operation> operations = std::vector<runtime::file_operation>(in_flight);
  std::vector<std::size_t> block_of = std::vector<std::size_t>(in_flight);
  std::size_t next_block = 0;
  std::size_t verified = 0;
  std::size_t postselects = 0;
  bool mismatch = false;
  actorloop_test::thread_id_set threads;
};

void start_next(reader_state& state, actors::applet_context& context, std::size_t slot) {
  if (state.next_block == blocks)
    return;
  state.block_of[slot] = state.next_block++;
  state.operations[slot] =
    state.file.read(state.block_of[slot] * block, state.buffers[slot]);
  context.add_wait(state.operations[slot]);
}

actors::applet_callbacks reader(reader_state& state) {
  actors::applet_callbacks callbacks;
  callbacks.name = "file-reader";
  callbacks.init = [&state](actors::applet_context& context) {
    state.threads.insert();
    for (std::size_t slot = 0; slot < in_flight; ++slot)
      start_next(state, context, slot);
  };
  callbacks.preselect = [](actors::applet_context&) {};
  callbacks.postselect = [&state](actors::applet_context& context,
                                  const runtime::waitable& fired) -> runtime::waitable {
    state.threads.insert();
    ++state.postselects;
    for (std::size_t slot = 0; slot < in_flight; ++slot) {
      if (!(state.operations[slot] == fired))
        continue;
      // Level-triggered: unregister before reusing the slot.
      context.remove_wait(fired);
      auto result = state.operations[slot].result();
      if (result.error || result.bytes != block)
        state.mismatch = true;
      for (std::size_t offset = 0; offset < block && !state.mismatch; offset += 101)
        if (state.buffers[slot][offset] != pattern(state.block_of[slot] * block + offset))
          state.mismatch = true;
      ++state.verified;
      start_next(state, context, slot);
    }
    if (state.verified == blocks)
      context.kill();
    return {};
  };
  return callbacks;
}

} // namespace

TEST_CASE("file completions run the waiting applet on its own scheduler") {
  for (const char* backend : file_test::backends) {
    CAPTURE(backend);
    file_test::scratch_dir dir;
    auto options = small_engine_options();
    options.arguments.push_back(std::string{"--actorloop.file-io="} + backend);
    runtime::engine engine{options};
    auto files = make_scheduler(engine, "files", 2);
    auto other = make_scheduler(engine, "other", 1);

    std::vector<std::byte> contents(block * blocks);
    for (std::size_t index = 0; index < contents.size(); ++index)
      contents[index] = pattern(index);
    auto path = dir.file("source");
    {
      auto out = runtime::file::open(engine, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      auto write = out.write(0, contents);
      REQUIRE(write.wait_for(10s));
      REQUIRE(write.bytes() == contents.size());
    }

    reader_state state;
    state.file = runtime::file::open(engine, path, O_RDONLY);
    auto handle = actors::spawn_applet(engine, "files", reader(state));
    REQUIRE(handle.wait_for(20s));
    CHECK(handle.exit_reason().is_normal());

    CHECK_FALSE(state.mismatch);
    CHECK(state.verified == blocks);
    CHECK(state.postselects == blocks); // one dispatch per completion, none lost
    CHECK(all_within(state.threads, files.thread_ids()));
    CHECK_FALSE(state.threads.contains(std::this_thread::get_id()));
    auto stats = files.stats();
    CHECK(stats.file_io == std::string{backend});
    CHECK(stats.file_operations_in_flight == 0);
    CHECK(other.stats().file_io.empty()); // never used files
  }
}

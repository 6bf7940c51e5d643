// Thousands of operations in flight at once (more than io_uring's
// submission queue holds): every one completes exactly once with the right
// bytes, from a plain thread and from several at once. Both backends.
// ctest-timeout: 120
#include "file_test_support.hpp"

#include <fcntl.h>
#include <thread>

using namespace file_test;

namespace {

constexpr std::size_t block = 512;
constexpr std::size_t blocks = 4096;

std::byte pattern(std::size_t block_index, std::size_t offset) {
  return static_cast<std::byte>((block_index * 31 + offset) & 0xff);
}

/// Starts a read of every block (in a scrambled order), then checks them all.
void read_everything(runtime::file& file, std::size_t seed) {
  std::vector<std::vector<std::byte>> buffers(blocks, std::vector<std::byte>(block));
  std::vector<runtime::file_operation> operations(blocks);
  for (std::size_t step = 0; step < blocks; ++step) {
    auto index = (step * 2654435761u + seed) % blocks; // a permutation: 2654435761 is odd
    operations[index] = file.read(index * block, buffers[index]);
  }
  for (std::size_t index = 0; index < blocks; ++index) {
    auto result = finish(operations[index]);
    REQUIRE_FALSE(result.error);
    REQUIRE(result.bytes == block);
    for (std::size_t offset = 0; offset < block; offset += 97)
      REQUIRE(buffers[index][offset] == pattern(index, offset));
  }
}

} // namespace

TEST_CASE("thousands of operations in flight all complete") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    scratch_dir dir;
    auto engine = engine_with(backend);
    auto file = runtime::file::open(*engine, dir.file("many"), O_RDWR | O_CREAT | O_TRUNC, 0600);

    // Thousands of writes in flight build the file.
    std::vector<std::vector<std::byte>> contents(blocks, std::vector<std::byte>(block));
    std::vector<runtime::file_operation> writes;
    writes.reserve(blocks);
    for (std::size_t index = 0; index < blocks; ++index) {
      for (std::size_t offset = 0; offset < block; ++offset)
        contents[index][offset] = pattern(index, offset);
      writes.push_back(file.write(index * block, contents[index]));
    }
    for (auto& op : writes)
      REQUIRE(finish(op).bytes == block);
    REQUIRE(file.size() == block * blocks);

    read_everything(file, 0);
    std::thread other{[&] { read_everything(file, 17); }};
    read_everything(file, 5);
    other.join();
    CHECK(file.in_flight() == 0);
  }
}

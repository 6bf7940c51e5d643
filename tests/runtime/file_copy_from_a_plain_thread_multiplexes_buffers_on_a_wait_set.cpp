// Open Files' test_file pattern from a plain thread: N overlapped buffers
// multiplexed on one wait set, each member's cookie naming its buffer; each
// completed read starts its write, each completed write the next read. The
// copy is byte for byte identical. Both backends.
// Model: Open Files of_core documentation (OfcReadFile/OfcWriteFile with
// overlapped handles, OfcGetOverlappedResult, wait sets with cookies).
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <actorloop/runtime/wait_set.hpp>

#include <fcntl.h>

using namespace file_test;

namespace {

constexpr std::size_t buffer_size = 16 * 1024;
constexpr std::size_t buffer_count = 4;
constexpr std::size_t file_size = 1024 * 1024 + 1234; // not a multiple of the buffer

struct slot {
  std::vector<std::byte> data = std::vector<std::byte>(buffer_size);
  runtime::file_operation op;
  std::uint64_t offset = 0;
  bool writing = false;
};

} // namespace

TEST_CASE("a plain thread copies a file with overlapped buffers on one wait set") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    scratch_dir dir;
    auto engine = engine_with(backend);
    std::vector<std::byte> original(file_size);
    for (std::size_t index = 0; index < file_size; ++index)
      original[index] = static_cast<std::byte>((index * 7 + index / 4096) & 0xff);
    {
      auto out = runtime::file::open(*engine, dir.file("from"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      auto write = out.write(0, original);
      REQUIRE(finish(write).bytes == file_size);
    }
    auto from = runtime::file::open(*engine, dir.file("from"), O_RDONLY);
    auto to = runtime::file::open(*engine, dir.file("to"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

    runtime::wait_set set;
    std::vector<slot> slots(buffer_count);
    std::uint64_t next_offset = 0;
    std::size_t active = 0;
    std::size_t completions = 0;
    auto start_read = [&](std::size_t index) {
      auto& each = slots[index];
      each.offset = next_offset;
      next_offset += buffer_size;
      each.writing = false;
      each.op = from.read(each.offset, each.data);
      set.add(each.op, index);
      ++active;
    };
    for (std::size_t index = 0; index < buffer_count; ++index)
      start_read(index);

    while (active > 0) {
      auto fired = set.wait_for(std::chrono::seconds(20));
      REQUIRE(fired.status == runtime::wait_status::fired);
      auto& each = slots[fired.cookie];
      REQUIRE(fired.fired == each.op);
      ++completions;
      // The operation stays ready: take it out before starting the next.
      REQUIRE(set.remove(each.op));
      --active;
      auto result = each.op.result();
      REQUIRE_FALSE(result.error);
      if (!each.writing) {
        if (result.bytes == 0)
          continue; // end of file: this buffer is done
        each.writing = true;
        each.op = to.write(each.offset, std::span{each.data}.first(result.bytes));
        set.add(each.op, fired.cookie);
        ++active;
      } else {
        start_read(fired.cookie);
      }
    }

    auto reads = (file_size + buffer_size - 1) / buffer_size;
    // One read and one write per block, plus one end-of-file read per buffer.
    CHECK(completions == 2 * reads + buffer_count);
    REQUIRE(to.size() == file_size);
    std::vector<std::byte> copy(file_size);
    auto check = runtime::file::open(*engine, dir.file("to"), O_RDONLY);
    auto read_back = check.read(0, copy);
    REQUIRE(finish(read_back).bytes == file_size);
    CHECK(copy == original);
  }
}

// Registered buffers (runtime::file_buffers): on io_uring every read and write
// whose buffer lies in the block takes the fixed-buffer opcodes (counted
// exactly), other buffers the ordinary path; the bytes are the same on both
// backends. A dropped block is unregistered before its memory is unmapped, so
// a new mapping at the same address reads correctly. Bad sizes and indexes
// are refused with errors that name them.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/file_buffers.hpp>

#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>

using namespace file_test;

namespace {

std::string pattern(std::size_t length, char seed) {
  std::string text(length, '\0');
  for (std::size_t index = 0; index < length; ++index)
    text[index] = static_cast<char>(seed + static_cast<char>(index % 23));
  return text;
}

} // namespace

TEST_CASE("file_buffers take the fixed path on io_uring and move the same bytes") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    const bool uring = std::string{backend} == "uring";
    scratch_dir dir;
    auto engine = engine_with(backend);
    auto file = runtime::file::open(*engine, dir.file("data"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    auto content = bytes_of(pattern(8192, 'a'));
    auto seed = file.write(0, content);
    REQUIRE(finish(seed).bytes == content.size());

    auto pool = runtime::file_buffers::allocate(*engine, 4, 4096);
    REQUIRE(pool.count() == 4);
    REQUIRE(pool.size() == 4096);
    // Two default workers share the "default" scheduler's one ring.
    CHECK(pool.registrations() == (uring ? 1u : 0u));
    CHECK(pool.fixed_operations() == 0);

    // A read into a registered buffer.
    auto read = file.read(4096, pool[0]);
    REQUIRE(finish(read).bytes == 4096);
    CHECK(text_of(pool[0]) == text_of(std::span{content}.subspan(4096)));
    CHECK(pool.fixed_operations() == (uring ? 1u : 0u));

    // A write from a registered buffer, read back through a plain one (which
    // must not count as fixed).
    auto replacement = bytes_of(pattern(4096, 'K'));
    std::memcpy(pool[1].data(), replacement.data(), replacement.size());
    auto write = file.write(0, pool[1]);
    REQUIRE(finish(write).bytes == 4096);
    std::vector<std::byte> plain(4096);
    auto check = file.read(0, plain);
    REQUIRE(finish(check).bytes == 4096);
    CHECK(text_of(plain) == text_of(replacement));
    CHECK(pool.fixed_operations() == (uring ? 2u : 0u));

    // A part of a buffer is inside the block too; a vectored read is not
    // fixed (io_uring has no fixed vectored opcode here).
    auto part = pool[2].subspan(100, 50);
    auto partial = file.read(4096, part);
    REQUIRE(finish(partial).bytes == 50);
    CHECK(text_of(part) == text_of(std::span{content}.subspan(4096, 50)));
    std::array<std::span<std::byte>, 1> pieces{pool[3]};
    auto vectored = file.readv(4096, pieces);
    REQUIRE(finish(vectored).bytes == 4096);
    CHECK(text_of(pool[3]) == text_of(std::span{content}.subspan(4096)));
    CHECK(pool.fixed_operations() == (uring ? 3u : 0u));

    // Dropped: unregistered, then unmapped. A new mapping of the same size
    // often lands at the same address; a stale registration would send the
    // read to the old pages and leave the new mapping empty.
    void* old_address = pool[0].data();
    pool = runtime::file_buffers{};
    void* mapped = ::mmap(nullptr, 4 * 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mapped != MAP_FAILED);
    CAPTURE(mapped == old_address);
    std::span<std::byte> fresh{static_cast<std::byte*>(mapped), 4096};
    auto after = file.read(4096, fresh);
    REQUIRE(finish(after).bytes == 4096);
    CHECK(text_of(fresh) == text_of(std::span{content}.subspan(4096)));
    ::munmap(mapped, 4 * 4096);

    // Bad input names the problem.
    CHECK_THROWS_WITH_AS((void)runtime::file_buffers::allocate(*engine, 0, 4096),
                         doctest::Contains("must be above zero"), runtime::error);
    CHECK_THROWS_WITH_AS((void)runtime::file_buffers::allocate(*engine, 2, std::size_t{1} << 30),
                         doctest::Contains("1 GiB"), runtime::error);
    auto small = runtime::file_buffers::allocate(*engine, 2, 100);
    CHECK(small[1].size() == 100);
    CHECK_THROWS_WITH_AS((void)small[2], doctest::Contains("buffer 2 of 2"), runtime::error);
    CHECK_THROWS_AS((void)runtime::file_buffers{}[0], runtime::error);
    file.close();
  }
}

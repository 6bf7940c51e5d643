// Registered files (file::register_with_rings): on io_uring the descriptor
// sits in the ring's fixed-file table and every operation on it is submitted
// with IOSQE_FIXED_FILE (counted exactly, and shown by the table's own
// reference to the open file: a read still reaches it after the descriptor
// number was pointed elsewhere). The thread pool registers nothing and gives
// the same bytes. Closing with an operation in flight completes it, and
// once it is complete the table no longer holds the file (the peer of a
// socket then sees the reading side gone). Bad input is refused by name.
// ctest-timeout: 60
#include "file_test_support.hpp"

#include <actorloop/runtime/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

using namespace file_test;

namespace {

std::string pattern(std::size_t length, char seed) {
  std::string text(length, '\0');
  for (std::size_t index = 0; index < length; ++index)
    text[index] = static_cast<char>(seed + static_cast<char>(index % 19));
  return text;
}

void write_file(const std::string& path, const std::string& text) {
  int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(descriptor >= 0);
  REQUIRE(::write(descriptor, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(descriptor);
}

} // namespace

TEST_CASE("a file registered with the rings takes the fixed-file path until closed") {
  for (const char* backend : backends) {
    CAPTURE(backend);
    const bool uring = std::string{backend} == "uring";
    // Two default workers share the "default" scheduler's one ring, which
    // runs every operation started on this (plain) thread.
    const std::size_t rings = uring ? 1 : 0;
    scratch_dir dir;
    auto engine = engine_with(backend);
    const auto first = pattern(8192, 'a');
    const auto second = pattern(8192, 'K');
    write_file(dir.file("first"), first);
    write_file(dir.file("second"), second);

    auto file = runtime::file::open(*engine, dir.file("first"), O_RDWR);
    CHECK(file.registrations() == 0);
    CHECK(file.register_with_rings() == rings);
    CHECK(file.registrations() == rings);
    CHECK(file.register_with_rings() == rings); // again: nothing more to do
    CHECK(file.fixed_file_operations() == 0);

    // Every kind of operation, counted exactly.
    std::vector<std::byte> buffer(4096);
    for (std::size_t index = 0; index < 8; ++index) {
      auto read = file.read(index * 512, buffer);
      REQUIRE(finish(read).bytes == 4096);
      CHECK(text_of(buffer) == first.substr(index * 512, 4096));
    }
    auto replacement = bytes_of(pattern(100, '0'));
    auto write = file.write(8192, replacement); // extends the file
    REQUIRE(finish(write).bytes == 100);
    std::vector<std::byte> head(10);
    std::vector<std::byte> tail(100);
    std::array<std::span<std::byte>, 2> pieces{std::span{head}, std::span{tail}};
    auto readv = file.readv(8182, pieces);
    REQUIRE(finish(readv).bytes == 110);
    CHECK(text_of(head) == first.substr(8182));
    CHECK(text_of(tail) == text_of(replacement));
    auto sync = file.fsync(true);
    REQUIRE(finish(sync).bytes == 0);
    CHECK_FALSE(sync.error());
    CHECK(file.fixed_file_operations() == (uring ? 11u : 0u));

    // The table holds the open file itself, not the number: point the number
    // at the second file and a registered read still reads the first (the
    // ordinary path, and so the thread pool, reads the second). A probe
    // only; replacing a file's descriptor is not something to do otherwise.
    int other = ::open(dir.file("second").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(other >= 0);
    REQUIRE(::dup3(other, file.native_handle(), O_CLOEXEC) == file.native_handle());
    ::close(other);
    auto probe = file.read(0, buffer);
    REQUIRE(finish(probe).bytes == 4096);
    // (Compared on a prefix: the two patterns differ from the first byte.)
    const auto& expected = uring ? first : second;
    CHECK(text_of(buffer).substr(0, 32) == expected.substr(0, 32));
    CHECK(text_of(buffer).compare(0, 4096, expected, 0, 4096) == 0);
    CHECK(file.fixed_file_operations() == (uring ? 12u : 0u));
    file.close();
    CHECK(file.registrations() == 0); // nothing in flight: released at once

    // Closing with an operation in flight. A socket read waits for data; the
    // test keeps the only other end.
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    auto socket = runtime::file::adopt(*engine, pair[0], "socket");
    CHECK(socket.register_with_rings() == rings);
    std::vector<std::byte> incoming(16);
    auto waiting = socket.read(0, incoming);
    CHECK_FALSE(waiting.done()); // nothing was sent
    CHECK(socket.fixed_file_operations() == (uring ? 1u : 0u));
    socket.close();
    CHECK_FALSE(socket.is_open());
    // The thread pool cannot stop a read that is running: give it data. The
    // ring cancels it at close (and may have closed the descriptor already,
    // refusing the data).
    const char message[16] = "fifteen bytes..";
    errno = 0;
    auto sent = ::send(pair[1], message, sizeof message, MSG_NOSIGNAL);
    CHECK((sent == sizeof message || (sent == -1 && errno == EPIPE)));
    auto result = finish(waiting);
    if (result.error)
      CHECK(result.error == std::errc::operation_canceled);
    else
      CHECK(result.bytes == sizeof message);
    // Complete, so the descriptor is closed and its table slot empty: no
    // reference to the socket is left on our side, and its peer sees that.
    CHECK(socket.registrations() == 0);
    errno = 0;
    CHECK(::send(pair[1], message, sizeof message, MSG_NOSIGNAL) == -1);
    CHECK(errno == EPIPE);
    ::close(pair[1]);

    // Bad input.
    CHECK_THROWS_WITH_AS((void)socket.register_with_rings(), doctest::Contains("is closed"),
                         runtime::error);
    auto none = runtime::file::adopt(*engine, -1, "nothing");
    CHECK_THROWS_WITH_AS((void)none.register_with_rings(),
                         doctest::Contains("has no valid descriptor"), runtime::error);
    // Far above any descriptor limit, so never open (and closing it with the
    // file touches nothing).
    const int unused = 0x3fffffff;
    auto stale = runtime::file::adopt(*engine, unused, "stale");
    try {
      (void)stale.register_with_rings();
      FAIL("a bad descriptor was registered");
    } catch (const runtime::error& refused) {
      CHECK(refused.code() == std::errc::bad_file_descriptor);
      CHECK(std::string{refused.what()}.find("bad file descriptor") != std::string::npos);
    }
    CHECK(stale.registrations() == 0);
    CHECK_THROWS_AS((void)runtime::file{}.register_with_rings(), runtime::error);
  }
}

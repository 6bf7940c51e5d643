// The framed codec's limits, at the codec level: a length claiming 4 GiB is
// refused from its first 4 bytes (no waiting for more, no allocation); a
// wrong version, an unknown kind, non-zero flags, a too-short length, a
// string or list running past the frame, trailing bytes and out-of-range
// enum values are each refused with a detail naming the numbers involved;
// encoding refuses a frame over the limit and leaves the output untouched;
// every message kind round-trips.
// ctest-timeout: 30
#include <actorloop/netio/codec.hpp>
#include <actorloop/netio/error.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace netio = actorloop::netio;

namespace {

std::atomic<std::size_t> largest_allocation{0};

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> result;
  for (int each : values)
    result.push_back(static_cast<std::byte>(each));
  return result;
}

} // namespace

// Records the largest single allocation, to prove a 4 GiB claim allocates
// nothing big. (GCC warns that free() does not match new; both go through
// malloc here, so they do match.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  auto seen = largest_allocation.load();
  while (size > seen && !largest_allocation.compare_exchange_weak(seen, size)) {
  }
  if (void* memory = std::malloc(size ? size : 1))
    return memory;
  throw std::bad_alloc{};
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

TEST_CASE("a 4 GiB length is refused from the length field alone") {
  auto codec = netio::make_framed_codec();
  netio::message out;
  largest_allocation = 0;
  auto outcome = codec->decode(bytes_of({0xff, 0xff, 0xff, 0xff}), out);
  CHECK(outcome.error == netio::errc::frame_too_large);
  CHECK(outcome.consumed == 0);
  CHECK(outcome.detail.find("4294967299") != std::string::npos);
  CHECK(outcome.detail.find("16777216") != std::string::npos);
  CHECK(largest_allocation.load() < 4096);
  // Three bytes are not enough to judge: needs more, no error.
  CHECK(codec->decode(bytes_of({0xff, 0xff, 0xff}), out).needs_more());
}

TEST_CASE("header problems are named") {
  auto codec = netio::make_framed_codec();
  netio::message out;
  struct row {
    std::vector<std::byte> input;
    netio::errc expected;
    const char* mentions;
  };
  std::vector<row> rows{
    {bytes_of({0, 0, 0, 12, 2, 10}), netio::errc::unsupported_version, "version 2"},
    {bytes_of({0, 0, 0, 12, 1, 99}), netio::errc::unknown_message_kind, "99"},
    {bytes_of({0, 0, 0, 12, 1, 21, 0, 1}), netio::errc::malformed_frame, "flags"},
    {bytes_of({0, 0, 0, 3}), netio::errc::malformed_frame, "length 3"},
  };
  for (auto& each : rows) {
    auto outcome = codec->decode(each.input, out);
    CHECK(outcome.error == each.expected);
    CHECK(outcome.detail.find(each.mentions) != std::string::npos);
  }
}

TEST_CASE("bodies that do not fit their frame are refused") {
  auto codec = netio::make_framed_codec();
  netio::message out;
  auto frame = [](int kind, std::vector<std::byte> body) {
    auto length = static_cast<std::uint32_t>(12 + body.size());
    auto result = bytes_of({static_cast<int>(length >> 24), static_cast<int>((length >> 16) & 255),
                            static_cast<int>((length >> 8) & 255), static_cast<int>(length & 255), 1,
                            kind, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    result.insert(result.end(), body.begin(), body.end());
    return result;
  };
  // A string claiming more bytes than remain.
  auto outcome = codec->decode(frame(11, bytes_of({0, 0, 0, 1, 0, 0, 0, 200, 'a'})), out);
  CHECK(outcome.error == netio::errc::malformed_frame);
  CHECK(outcome.detail.find("200") != std::string::npos);
  // Trailing bytes after a complete body.
  outcome = codec->decode(frame(20, bytes_of({7})), out);
  CHECK(outcome.error == netio::errc::malformed_frame);
  CHECK(outcome.detail.find("unexpected") != std::string::npos);
  // Out-of-range severity and completion status.
  outcome = codec->decode(frame(13, bytes_of({9, 0, 0, 0, 1, 0, 0, 0, 0})), out);
  CHECK(outcome.detail.find("severity 9") != std::string::npos);
  outcome = codec->decode(frame(12, bytes_of({0, 5, 0, 0, 0, 0})), out);
  CHECK(outcome.detail.find("status 5") != std::string::npos);
  // A request without its command name.
  outcome = codec->decode(frame(10, bytes_of({0, 0, 0, 0})), out);
  CHECK(outcome.detail.find("command name") != std::string::npos);
}

TEST_CASE("encoding respects the limit; every kind round-trips") {
  auto small = netio::make_framed_codec(netio::codec_limits{64});
  std::vector<std::byte> out{std::byte{42}};
  CHECK(small->encode({1, netio::request{{"ECHO", std::string(100, 'x')}}}, out) ==
        netio::errc::frame_too_large);
  CHECK(out.size() == 1);
  auto codec = netio::make_framed_codec();
  std::vector<netio::message> all{
    {0, netio::hello{"c", "u"}},
    {0, netio::challenge{netio::challenge_method::negotiate, 5, "q"}},
    {0, netio::response{5, "a"}},
    {0, netio::ready{"s", 99}},
    {3, netio::request{{"ROWS", "2"}}},
    {3, netio::result_row{{"", "x"}}},
    {3, netio::completion{netio::completion_status::canceled, "c"}},
    {0, netio::server_message{netio::severity::fatal, 2001, "t"}},
    {0, netio::notification{"ch", "p", 1}},
    {3, netio::cancel{}},
    {0, netio::terminate{}},
  };
  for (auto& each : all) {
    std::vector<std::byte> bytes;
    REQUIRE_FALSE(codec->encode(each, bytes));
    netio::message back;
    auto outcome = codec->decode(bytes, back);
    CHECK(outcome.complete());
    CHECK(outcome.consumed == bytes.size());
    CHECK(back == each);
    CHECK(netio::to_string(netio::kind_of(back.body)) != "unknown");
  }
}

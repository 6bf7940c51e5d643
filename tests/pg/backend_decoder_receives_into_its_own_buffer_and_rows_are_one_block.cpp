// A reader can receive straight into the decoder's buffer (prepare, then
// commit what arrived): any split gives the same messages as feed, a
// partial message survives the room being made for the next read, and a
// commit beyond the room is refused. A decoded DataRow keeps NULL, empty
// and long values apart and equals the same row built value by value.
#include "pg_wire_support.hpp"

#include <cstring>
#include <stdexcept>

using namespace pg_test;

namespace {

std::string rows_stream() {
  std::string s;
  for (int row = 0; row < 50; ++row)
    s += wire('D').i16(4).i32(8).raw("12345678").i32(-1).i32(0).i32(static_cast<std::int32_t>(
      row * 7)).raw(std::string(static_cast<std::size_t>(row) * 7, static_cast<char>('a' + row % 26)));
  s += wire('C').str("SELECT 50");
  s += wire('Z').u8('I');
  return s;
}

/// Decodes `bytes` received `step` bytes at a time through prepare/commit.
std::vector<pg::backend_message> receive_all(const std::string& bytes, std::size_t step) {
  pg::backend_decoder decoder;
  std::vector<pg::backend_message> out;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    auto size = std::min(step, bytes.size() - at);
    auto room = decoder.prepare(size);
    REQUIRE(room.size() >= size);
    std::memcpy(room.data(), bytes.data() + at, size);
    decoder.commit(size);
    drain(decoder, out);
  }
  CHECK(decoder.buffered() == 0);
  return out;
}

} // namespace

TEST_CASE("receiving through prepare and commit decodes as feed does, in any split") {
  auto bytes = rows_stream();
  auto whole = decode_all(bytes);
  REQUIRE(whole.size() == 52);
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{64}, std::size_t{1000},
                           bytes.size()}) {
    CAPTURE(step);
    CHECK(receive_all(bytes, step) == whole);
  }
}

TEST_CASE("a partial message survives making room and a commit beyond the room is refused") {
  pg::backend_decoder decoder;
  std::string first = wire('C').str("INSERT 0 1");
  std::string second = wire('C').str("DELETE 2");
  std::string both = first + second.substr(0, 4);
  auto room = decoder.prepare(both.size());
  std::memcpy(room.data(), both.data(), both.size());
  decoder.commit(both.size());
  auto one = decoder.next();
  REQUIRE(one.message);
  CHECK(std::get<pg::command_complete>(*one.message).tag == "INSERT 0 1");
  CHECK(decoder.next().needs_more());
  CHECK(decoder.buffered() == 4);
  // The 4 bytes move to the front; the room follows them.
  room = decoder.prepare(16 * 1024);
  REQUIRE(room.size() >= 16 * 1024);
  std::memcpy(room.data(), second.data() + 4, second.size() - 4);
  CHECK_THROWS_AS(decoder.commit(room.size() + 1), pg::error);
  decoder.commit(second.size() - 4);
  auto two = decoder.next();
  REQUIRE(two.message);
  CHECK(std::get<pg::command_complete>(*two.message).tag == "DELETE 2");
  CHECK(decoder.buffered() == 0);
}

TEST_CASE("a decoded row keeps NULL, empty and long values apart and equals one built by hand") {
  std::string big(100'000, 'z');
  auto messages = decode_all(wire('D').i16(5).i32(-1).i32(0).i32(3).raw("abc")
                               .i32(static_cast<std::int32_t>(big.size())).raw(big).i32(-1));
  REQUIRE(messages.size() == 1);
  const auto& row = std::get<pg::data_row>(messages[0]);
  REQUIRE(row.size() == 5);
  CHECK(row.is_null(0));
  CHECK_FALSE(row.is_null(1));
  CHECK(row.value(1).empty());
  CHECK(row.value(2) == "abc");
  CHECK(row.value(3) == big);
  CHECK(row.is_null(4));
  CHECK_THROWS_AS((void)row.value(5), std::out_of_range);
  CHECK_THROWS_AS((void)row.is_null(5), std::out_of_range);

  pg::data_row built;
  built.push_back(std::nullopt);
  built.push_back(std::string_view{});
  built.push_back("abc");
  built.push_back(big);
  built.push_back(std::nullopt);
  CHECK(built == row);
  pg::data_row other = built;
  other.push_back("more");
  CHECK_FALSE(other == row);
  pg::data_row null_for_empty;
  null_for_empty.push_back(std::string_view{});
  pg::data_row null_only;
  null_only.push_back(std::nullopt);
  CHECK_FALSE(null_for_empty == null_only);
  CHECK(pg::data_row{} == pg::data_row{});
}

// The stateless entry point: decode_backend_message takes one message from
// the front of a span and reports the bytes it took; on "needs more" and on
// errors it takes nothing, so a reader can keep its own buffer.
#include "pg_wire_support.hpp"

using namespace pg_test;

namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

} // namespace

TEST_CASE("one message is taken from the front, and nothing on needs-more or error") {
  const std::string first = wire('C').str("BEGIN").bytes();
  const std::string second = wire('Z').u8('T').bytes();
  const std::string both = first + second;
  std::size_t consumed = 99;

  auto one = pg::decode_backend_message(as_bytes(both), consumed);
  REQUIRE(one.message.has_value());
  CHECK(std::get<pg::command_complete>(*one.message).tag == "BEGIN");
  CHECK(consumed == first.size());

  auto two = pg::decode_backend_message(as_bytes(both).subspan(consumed), consumed);
  REQUIRE(two.message.has_value());
  CHECK(std::get<pg::ready_for_query>(*two.message).status == pg::transaction_status::in_transaction);
  CHECK(consumed == second.size());

  consumed = 99;
  auto partial = pg::decode_backend_message(as_bytes(first).first(first.size() - 1), consumed);
  CHECK(partial.needs_more());
  CHECK(consumed == 0);

  consumed = 99;
  auto empty = pg::decode_backend_message({}, consumed);
  CHECK(empty.needs_more());
  CHECK(consumed == 0);

  consumed = 99;
  const std::string bad = wire('Z').claim(3).bytes();
  auto error = pg::decode_backend_message(as_bytes(bad), consumed);
  CHECK(error.error == pg::errc::lost_synchronization);
  CHECK_FALSE(error.message.has_value());
  CHECK(consumed == 0);
}

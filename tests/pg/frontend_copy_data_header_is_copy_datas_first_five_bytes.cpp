// frontend::copy_data_header writes CopyData's type and length for a body
// sent after it (the gathered write of COPY FROM STDIN): header + body is
// byte for byte what copy_data writes, for an empty, a short and a 64 KiB
// body behind other messages; a body the length word cannot count is
// refused with the same error as copy_data and the buffer is left as it was.
#include "pg_wire_support.hpp"

#include <actorloop/pg/frontend.hpp>

#include <limits>

using namespace pg_test;
namespace fe = actorloop::pg::frontend;

TEST_CASE("copy_data_header is CopyData's first five bytes") {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{300}, std::size_t{65536}}) {
    CAPTURE(size);
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
      body[i] = static_cast<char>(i * 31 + 7);
    std::vector<std::byte> whole, gathered;
    fe::sync(whole);
    fe::sync(gathered);
    fe::copy_data(whole, body);
    fe::copy_data_header(gathered, body.size());
    CHECK(gathered.size() == 5 + 5);
    for (char each : body)
      gathered.push_back(static_cast<std::byte>(each));
    CHECK(gathered == whole);
  }

  std::vector<std::byte> out;
  fe::sync(out);
  auto before = out;
  constexpr auto most = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
  fe::copy_data_header(out, most - 4); // the largest body the length word counts
  CHECK(out.size() == before.size() + 5);
  CHECK(out[before.size()] == std::byte{'d'});
  CHECK(out[before.size() + 1] == std::byte{0x7f});
  CHECK(out[before.size() + 4] == std::byte{0xff});
  out = before;
  try {
    fe::copy_data_header(out, most - 3);
    FAIL("no error for a body of 2^31 - 4 bytes");
  } catch (const pg::error& e) {
    CHECK(e.code() == pg::errc::invalid_argument);
    CHECK(std::string(e.what()).find("CopyData: the message would be 2147483648 bytes long; "
                                     "the length word holds at most 2147483647") !=
          std::string::npos);
  }
  CHECK(out == before);
}

// ctest-own-executable (replaces the global operator new)
// The channel's steady state: frame after frame of the same kind decoded
// into one reused message. Once the message holds a request, row,
// completion or notification whose strings and list are large enough, the
// next like frame allocates nothing (a replaced operator new counts the
// decoding thread's allocations), and its value is the new frame's. Decoded
// into a fresh message each time, the same frames allocate (so the probe
// can see them).
// ctest-timeout: 30
#include "allocation_probe.hpp"
#include "framed_codec_test_support.hpp"

#include <cstdlib>
#include <new>

using namespace framed_codec_test;

using namespace allocation_test;

TEST_CASE("like frames decoded into one reused message allocate nothing") {
  using namespace actorloop::netio;
  auto codec = make_framed_codec();
  // Pairs of like frames: the second's strings are no longer than the first's.
  std::vector<std::pair<message, message>> pairs = {
    {{1, request{{"ECHO", std::string(40, 'a')}}}, {2, request{{"ECHO", std::string(40, 'b')}}}},
    {{1, request{{"PUBLISH", "fan", std::string(32, 'a')}}}, {2, request{{"PUBLISH", "fan", std::string(20, 'b')}}}},
    {{1, result_row{{std::string(40, 'a'), std::string(30, 'c')}}}, {1, result_row{{std::string(40, 'b')}}}},
    {{1, completion{completion_status::failed, std::string(50, 'a')}}, {2, completion{completion_status::succeeded, ""}}},
    {{0, notification{"fan", std::string(32, 'a'), 1}}, {0, notification{"fan", std::string(32, 'b'), 2}}},
  };
  for (const auto& [first, second] : pairs) {
    CAPTURE(to_string(kind_of(first.body)));
    bytes one;
    bytes two;
    REQUIRE_FALSE(codec->encode(first, one));
    REQUIRE_FALSE(codec->encode(second, two));
    message reused;
    REQUIRE(codec->decode(one, reused).complete());
    REQUIRE(reused == first);
    decode_result outcome;
    {
      allocation_probe probe;
      outcome = codec->decode(two, reused);
    }
    CHECK(outcome.complete());
    CHECK(allocation_count == 0);
    CHECK(reused == second);

    // The same frame into a fresh message: the list and the long strings
    // need memory (the completion's empty text aside).
    message fresh;
    {
      allocation_probe probe;
      outcome = codec->decode(one, fresh);
    }
    CHECK(outcome.complete());
    CHECK(allocation_count >= 1);
    CHECK(fresh == first);
  }
}

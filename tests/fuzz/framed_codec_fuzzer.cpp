// libFuzzer target for the framed codec's decoder (built and run by
// run_fuzzer.sh). It decodes messages from the front of the input until the
// decoder errors or needs more, and checks the codec's contract on each:
// - an error consumes nothing, says why, and leaves the output alone;
// - "needs more" leaves the output alone;
// - a decoded message consumed at most the input; it re-encodes to exactly
//   the bytes it was decoded from (the format has one encoding per message),
//   and those decode to an equal message; shorter prefixes of them need
//   more input instead of being judged wrongly.
// The codec's limit is 64 KiB so that length checks are hit often.
#include <actorloop/netio/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

namespace {

using namespace actorloop::netio;

[[noreturn]] void contract_broken(const char* what) {
  std::fprintf(stderr, "framed codec contract broken: %s\n", what);
  std::abort();
}

const message& sentinel() {
  static const message value{0x5e5e5e5e5e5e5e5eu, ready{"sentinel", 1}};
  return value;
}

void check_prefixes(const codec& wire, std::span<const std::byte> frame) {
  // Every header-sized prefix and the one just short of the frame: they all
  // need more input (a valid frame is never judged early).
  auto probe = [&](std::size_t size) {
    message out = sentinel();
    auto outcome = wire.decode(frame.first(size), out);
    if (!outcome.needs_more() || !(out == sentinel()))
      contract_broken("a prefix of a valid frame did not need more input");
  };
  for (std::size_t size = 0; size < std::min<std::size_t>(frame.size(), 17); ++size)
    probe(size);
  probe(frame.size() - 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto wire = make_framed_codec(codec_limits{64 * 1024});
  std::span<const std::byte> input{reinterpret_cast<const std::byte*>(data), size};
  while (!input.empty()) {
    message decoded = sentinel();
    auto outcome = wire->decode(input, decoded);
    if (outcome.error) {
      if (outcome.consumed != 0)
        contract_broken("an error consumed bytes");
      if (outcome.detail.empty())
        contract_broken("an error without a detail");
      if (!(decoded == sentinel()))
        contract_broken("an error changed the output");
      return 0;
    }
    if (outcome.needs_more()) {
      if (!(decoded == sentinel()))
        contract_broken("needing more changed the output");
      return 0;
    }
    if (outcome.consumed > input.size())
      contract_broken("consumed more than the input");
    auto original = input.first(outcome.consumed);

    std::vector<std::byte> again;
    if (wire->encode(decoded, again))
      contract_broken("a decoded message does not encode");
    if (!std::equal(again.begin(), again.end(), original.begin(), original.end()))
      contract_broken("re-encoding differs from the bytes decoded");
    message round_trip;
    auto second = wire->decode(again, round_trip);
    if (!second.complete() || second.consumed != again.size() || !(round_trip == decoded))
      contract_broken("the re-encoding does not decode to an equal message");
    check_prefixes(*wire, original);

    input = input.subspan(outcome.consumed);
  }
  return 0;
}

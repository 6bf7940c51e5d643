// libFuzzer target for the framed codec's decoder: decode frames from the
// front of the input until it errors or needs more; every decoded message
// must encode again and decode to an equal message, consuming exactly the
// bytes the encoding produced. The codec is built with a 64 KiB limit so
// that length checks are hit often.
#include <actorloop/netio/codec.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actorloop::netio;
  static const auto codec = make_framed_codec(codec_limits{64 * 1024});
  std::span<const std::byte> input{reinterpret_cast<const std::byte*>(data), size};
  while (!input.empty()) {
    message decoded;
    auto outcome = codec->decode(input, decoded);
    if (outcome.error) {
      if (outcome.detail.empty() || outcome.consumed != 0)
        std::abort(); // an error must say why and consume nothing
      return 0;
    }
    if (outcome.consumed == 0)
      return 0; // needs more input
    if (outcome.consumed > input.size())
      std::abort();
    std::vector<std::byte> again;
    if (codec->encode(decoded, again))
      std::abort(); // what decoded within the limit encodes within it
    message round_trip;
    auto second = codec->decode(again, round_trip);
    if (second.error || second.consumed != again.size() || !(round_trip == decoded))
      std::abort();
    input = input.subspan(outcome.consumed);
  }
  return 0;
}

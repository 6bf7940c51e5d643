// libFuzzer target for pg's backend-message decoder (built and run by
// run_pg_backend_fuzzer.sh). The first input byte chooses a read size; the
// rest is the byte stream a server sent. It checks the decoder's contract:
// - the stream decodes to the same messages and the same final error
//   whether it is fed whole or in reads of the chosen size;
// - an error has a detail, and the decoder stays broken with the same error;
// - every message, decoded alone from the bytes it came from, is equal and
//   consumes exactly them, and every shorter prefix of them needs more;
// - the decoder never buffers more than was fed and not yet taken.
// The long-message limit is 64 KiB so that the length checks are hit often.
#include <actorloop/pg/backend.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace actorloop::pg;

[[noreturn]] void contract_broken(const char* what) {
  std::fprintf(stderr, "pg backend decoder contract broken: %s\n", what);
  std::abort();
}

struct outcome {
  std::vector<backend_message> messages;
  std::vector<std::size_t> sizes; // bytes each message took
  std::error_code error;
  std::string detail;
};

outcome run(std::span<const std::byte> input, std::size_t read_size, const decoder_limits& limits) {
  outcome out;
  backend_decoder decoder{limits};
  std::size_t fed = 0;
  std::size_t taken = 0;
  while (fed < input.size() && !out.error) {
    auto piece = input.subspan(fed, std::min(read_size, input.size() - fed));
    decoder.feed(piece);
    fed += piece.size();
    for (;;) {
      auto before = decoder.buffered();
      auto result = decoder.next();
      if (decoder.buffered() > fed - taken)
        contract_broken("the decoder buffers more than was fed and not taken");
      if (result.error) {
        if (result.detail.empty())
          contract_broken("an error without a detail");
        if (result.message)
          contract_broken("an error with a message");
        auto again = decoder.next();
        if (again.error != result.error || again.detail != result.detail || !decoder.broken())
          contract_broken("a broken decoder did not repeat its error");
        out.error = result.error;
        out.detail = result.detail;
        break;
      }
      if (result.needs_more())
        break;
      auto size = before - decoder.buffered();
      taken += size;
      out.sizes.push_back(size);
      out.messages.push_back(std::move(*result.message));
    }
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  decoder_limits limits;
  limits.max_long_length = 64 * 1024;
  const std::size_t read_size = 1 + data[0] % 16;
  std::span<const std::byte> input{reinterpret_cast<const std::byte*>(data + 1), size - 1};

  auto whole = run(input, input.size() + 1, limits);
  auto pieces = run(input, read_size, limits);
  if (!(whole.messages == pieces.messages) || whole.error != pieces.error ||
      whole.detail != pieces.detail)
    contract_broken("fed in pieces, the stream decodes differently than whole");

  std::size_t offset = 0;
  for (std::size_t i = 0; i < whole.messages.size(); ++i) {
    auto bytes = input.subspan(offset, whole.sizes[i]);
    std::size_t consumed = 0;
    auto alone = decode_backend_message(bytes, consumed, limits);
    if (!alone.message || consumed != bytes.size() || !(*alone.message == whole.messages[i]))
      contract_broken("a message decoded alone differs from the stream's");
    if (type_byte(*alone.message) != static_cast<char>(bytes[0]))
      contract_broken("the parsed form reports another type byte");
    for (std::size_t prefix = 0; prefix < bytes.size(); prefix = prefix < 16 ? prefix + 1 : bytes.size() - 1) {
      auto partial = decode_backend_message(bytes.first(prefix), consumed, limits);
      if (!partial.needs_more() || consumed != 0)
        contract_broken("a prefix of a valid message did not need more input");
      if (prefix == bytes.size() - 1)
        break;
    }
    offset += whole.sizes[i];
  }
  return 0;
}

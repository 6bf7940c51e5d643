// Helpers for the file I/O scenarios: a scratch directory, an engine with a
// forced backend, and byte buffers. Header-only, everything in an anonymous
// namespace (the scenarios share one executable).
#pragma once

#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/file.hpp>

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace {

namespace file_test {

namespace runtime = actorloop::runtime;

/// Every file scenario runs once per backend.
inline constexpr std::array<const char*, 2> backends{"uring", "threads"};

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class scratch_dir {
public:
  scratch_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string{base && *base ? base : "/tmp"} + "/actorloop-file-XXXXXX";
    std::vector<char> text(pattern.begin(), pattern.end());
    text.push_back('\0');
    REQUIRE(::mkdtemp(text.data()) != nullptr);
    path_ = text.data();
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// An engine whose file operations use `backend`, with two default workers.
inline std::unique_ptr<runtime::engine> engine_with(const char* backend) {
  runtime::engine_options options;
  options.default_threads = 2;
  options.arguments.push_back(std::string{"--actorloop.file-io="} + backend);
  return std::make_unique<runtime::engine>(std::move(options));
}

inline std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> result(text.size());
  for (std::size_t index = 0; index < text.size(); ++index)
    result[index] = static_cast<std::byte>(text[index]);
  return result;
}

inline std::string text_of(std::span<const std::byte> bytes) {
  std::string result(bytes.size(), '\0');
  for (std::size_t index = 0; index < bytes.size(); ++index)
    result[index] = static_cast<char>(bytes[index]);
  return result;
}

/// Waits (bounded) for the operation and returns its result.
inline runtime::file_result finish(runtime::file_operation& op) {
  REQUIRE(op.wait_for(std::chrono::seconds(20)));
  REQUIRE(op.done());
  return op.result();
}

} // namespace file_test

} // namespace
